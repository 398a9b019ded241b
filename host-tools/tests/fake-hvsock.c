/* A stand-in for cloud-hypervisor's hybrid vsock socket, for tests: listens on a unix socket,
 * expects "CONNECT <port>\n" (any case), and when the port matches answers "OK <n>\n" and
 * relays the connection to a unix socket where the real agent listens; otherwise it answers
 * an error line and hangs up.
 *   fake-hvsock LISTEN_PATH AGENT_SOCKET [PORT]   (runs until killed) */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *agent_path;
static unsigned port = 1024;

static int unix_socket(const char *path, bool listening)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r = listening ? bind(fd, (struct sockaddr *)&sa, sizeof(sa))
                      : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (r < 0 || (listening && listen(fd, 8) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void relay(int a, int b)
{
    char buf[65536];
    for (;;) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0)
                return;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(n - off));
                if (w <= 0)
                    return;
                off += w;
            }
        }
    }
}

static void *conn_main(void *arg)
{
    int fd = (int)(long)arg;
    char line[64];
    size_t n = 0;
    char c;
    while (n < sizeof(line) - 1 && read(fd, &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    unsigned want = 0;
    int agent = -1;
    if (strncasecmp(line, "CONNECT ", 8) == 0)
        want = (unsigned)strtoul(line + 8, NULL, 10);
    if (want == port)
        agent = unix_socket(agent_path, false);
    if (agent < 0) {
        dprintf(fd, "ERR port %u not available\n", want);
        close(fd);
        return NULL;
    }
    dprintf(fd, "OK %u\n", 1073741824u + (unsigned)fd);
    relay(fd, agent);
    close(agent);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LISTEN_PATH AGENT_SOCKET [PORT]\n", argv[0]);
        return 2;
    }
    agent_path = argv[2];
    if (argc > 3)
        port = (unsigned)atoi(argv[3]);
    unlink(argv[1]);
    int lfd = unix_socket(argv[1], true);
    if (lfd < 0) {
        perror("listen");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(long)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
}
