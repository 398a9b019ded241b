#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdpass.h"
#include "session.h"
#include "xalloc.h"

/* The daemon answers at once; the keeper's hand-off is a few sends. */
#define TAKE_TIMEOUT_MS 2000

char *pool_dir(void)
{
    const char *base = getenv("KATA_HOST_RUN_DIR");
    return xasprintf("%s/pool", base && *base ? base : KATA_HOST_RUN_DIR);
}

int pool_send(int sock, const char *text, int fd, struct kerr **err)
{
    ssize_t n = fdpass_send(sock, text, strlen(text), fd);
    if (n != (ssize_t)strlen(text))
        return make_error(err, n < 0 ? (int)-n : EIO, "pool: send");
    return 0;
}

int pool_recv(int sock, char *buf, size_t size, int *ret_fd, int timeout_ms, struct kerr **err)
{
    *ret_fd = -1;
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int pr;
    while ((pr = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    if (pr < 0)
        return make_error(err, errno, "pool: poll");
    if (pr == 0)
        return make_error(err, ETIMEDOUT, "pool: no answer in %d ms", timeout_ms);
    ssize_t n = fdpass_recv(sock, buf, size - 1, ret_fd);
    if (n < 0)
        return make_error(err, (int)-n, "pool: receive");
    buf[n] = '\0';
    if (n == 0 && *ret_fd >= 0) {
        close(*ret_fd);
        *ret_fd = -1;
    }
    return (int)n;
}

int pool_write_file(const char *path, const char *text, struct kerr **err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return make_error(err, errno, "create %s", path);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        return make_error(err, errno ? errno : EIO, "write %s", path);
    return 0;
}

int pool_connect(struct kerr **err)
{
    cleanup_free char *dir = pool_dir();
    cleanup_free char *path = xasprintf("%s/" POOL_SOCKET, dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return make_error(err, ENAMETOOLONG, "pool socket path %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        /* ECONNREFUSED: a socket file without a daemon, what a killed pool leaves. */
        return make_error(err, e, "no VM pool runs at %s", path);
    }
    return fd;
}

int pool_request(const char *request, int timeout_ms, char **ret, struct kerr **err)
{
    cleanup_close int fd = pool_connect(err);
    if (fd < 0)
        return fd;
    int r = pool_send(fd, request, -1, err);
    if (r < 0)
        return r;
    char buf[POOL_MSG_MAX];
    int passed = -1;
    r = pool_recv(fd, buf, sizeof(buf), &passed, timeout_ms, err);
    if (passed >= 0)
        close(passed);
    if (r < 0)
        return r;
    if (r == 0)
        return make_error(err, ECONNRESET, "the pool daemon closed the connection");
    *ret = xstrdup(buf);
    return 0;
}

int pool_take(const char *key, struct pool_vm *ret, struct kerr **err)
{
    *ret = (struct pool_vm){.agent_fd = -1, .ctrl_fd = -1, .warm_ms = -1};
    cleanup_close int fd = pool_connect(err);
    if (fd < 0)
        return fd;
    cleanup_free char *req = xasprintf("TAKE %s", key);
    int r = pool_send(fd, req, -1, err);
    if (r < 0)
        return r;
    char buf[POOL_MSG_MAX];
    int agent = -1;
    r = pool_recv(fd, buf, sizeof(buf), &agent, TAKE_TIMEOUT_MS, err);
    if (r < 0)
        return r;
    if (r == 0)
        return make_error(err, EAGAIN, "the pool closed the connection");
    if (strncmp(buf, "NONE ", 5) == 0) {
        if (agent >= 0)
            close(agent);
        return make_error(err, EAGAIN, "the VM pool %s", buf + 5);
    }
    int pid = 0, off = 0;
    unsigned long long hello = 0;
    unsigned next_id = 0;
    int warm_ms = -1;
    if (agent < 0 ||
        sscanf(buf, "VM %d %llu %u %d %n", &pid, &hello, &next_id, &warm_ms, &off) < 4 ||
        pid <= 0 || !off) {
        if (agent >= 0)
            close(agent);
        return make_error(err, EPROTO, "the VM pool answered '%.80s'", buf);
    }
    ret->qemu_pid = pid;
    ret->hello_boottime_ns = hello;
    ret->next_stream_id = next_id;
    ret->warm_ms = warm_ms;
    ret->dir = xstrdup(buf + off);
    ret->agent_fd = agent;
    ret->ctrl_fd = steal_fd(&fd);
    return 0;
}

void pool_vm_free(struct pool_vm *v)
{
    if (v->agent_fd >= 0)
        close(v->agent_fd);
    if (v->ctrl_fd >= 0)
        close(v->ctrl_fd);
    free(v->dir);
    *v = (struct pool_vm){.agent_fd = -1, .ctrl_fd = -1};
}
