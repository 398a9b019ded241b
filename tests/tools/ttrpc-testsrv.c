/* ttrpc-testsrv SOCKET: serves the ttRPC test service (ttrpc-testsvc.h) on a unix socket until
 * SIGTERM/SIGINT, for cross-checks with other ttRPC implementations. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ttrpc-testsvc.h"

static void on_signal(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof(si)) == sizeof(si))
        loop_quit(data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(a.sun_path)) {
        fprintf(stderr, "ttrpc-testsrv: socket path too long: %s\n", argv[1]);
        return 2;
    }
    strcpy(a.sun_path, argv[1]);
    unlink(argv[1]);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 64) < 0) {
        perror("ttrpc-testsrv: listen");
        return 1;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

    struct loop *loop = loop_new();
    struct testsvc *t = testsvc_new(loop);
    testsvc_listen(t, lfd);
    struct loop_source *sig = loop_add_fd(loop, sfd, EPOLLIN, on_signal, loop);
    int r = loop_run(loop);
    loop_remove_fd(sig);
    testsvc_free(t);
    loop_free(loop);
    close(sfd);
    close(lfd);
    unlink(argv[1]);
    return r < 0 ? 1 : 0;
}
