#include "dial.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "channel.h"
#include "loop.h"
#include "xalloc.h"

static int parse_port(const char *s, uint32_t *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || v == 0 || v > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

int dial_parse(const char *text, struct dial_addr *ret, struct kerr **err)
{
    struct dial_addr a = {0};
    if (strncmp(text, "unix://", 7) == 0 || text[0] == '/') {
        a.kind = DIAL_UNIX;
        a.path = xstrdup(text[0] == '/' ? text : text + 7);
        if (a.path[0] == '\0') {
            dial_addr_free(&a);
            return make_error(err, EINVAL, "address '%s' has no socket path", text);
        }
    } else if (strncmp(text, "vsock://", 8) == 0) {
        a.kind = DIAL_VSOCK;
        const char *colon = strrchr(text + 8, ':');
        cleanup_free char *cid = colon ? xstrndup(text + 8, (size_t)(colon - text - 8)) : NULL;
        if (!colon || parse_port(colon + 1, &a.port) < 0)
            return make_error(err, EINVAL, "address '%s' must be vsock://CID:PORT", text);
        if (strcmp(cid, "-1") == 0)
            a.cid = VMADDR_CID_ANY;
        else if (parse_port(cid, &a.cid) < 0)
            return make_error(err, EINVAL, "address '%s' has an invalid CID", text);
    } else if (strncmp(text, "hvsock://", 9) == 0) {
        a.kind = DIAL_HVSOCK;
        a.port = KATA_AGENT_VSOCK_PORT;
        const char *rest = text + 9;
        const char *colon = strrchr(rest, ':');
        if (colon && parse_port(colon + 1, &a.port) == 0)
            a.path = xstrndup(rest, (size_t)(colon - rest));
        else
            a.path = xstrdup(rest);
        if (a.path[0] == '\0') {
            dial_addr_free(&a);
            return make_error(err, EINVAL, "address '%s' has no socket path", text);
        }
    } else {
        return make_error(err, EINVAL,
                          "unsupported address '%s' (use unix://PATH, vsock://CID:PORT or "
                          "hvsock://PATH:PORT)",
                          text);
    }
    *ret = a;
    return 0;
}

void dial_addr_free(struct dial_addr *a)
{
    free(a->path);
    a->path = NULL;
}

int dial_unix(const char *path, struct kerr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path))
        return make_error(err, ENAMETOOLONG, "socket path %s", path);
    memcpy(sa.sun_path, path, len);
    /* unix://@name is an abstract socket */
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "socket");
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    if (path[0] == '@')
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (connect(fd, (struct sockaddr *)&sa, salen) < 0)
        return make_error(err, errno, "connect to %s", path);
    return steal_fd(&fd);
}

int dial_vsock(uint32_t cid, uint32_t port, struct kerr **err)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    cleanup_close int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "vsock socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return make_error(err, errno, "connect to vsock %u:%u", cid, port);
    return steal_fd(&fd);
}

/* Reads one '\n'-terminated line byte by byte so nothing after it is consumed. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    size_t used = 0;
    for (;;) {
        int64_t left_ms = (deadline - loop_now_ns()) / 1000000;
        if (left_ms <= 0)
            return make_error(err, ETIMEDOUT, "no answer within %d ms", timeout_ms);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return make_error(err, errno, "poll");
        if (r == 0)
            continue;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return make_error(err, errno, "read");
        if (n == 0)
            return make_error(err, ECONNRESET, "connection closed by the peer");
        if (c == '\n') {
            buf[used] = '\0';
            return (int)used;
        }
        if (used + 1 >= cap)
            return make_error(err, EPROTO, "answer line too long");
        buf[used++] = c;
    }
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int dial_hybrid_handshake(int fd, uint32_t port, int timeout_ms, struct kerr **err)
{
    char req[32];
    int len = snprintf(req, sizeof(req), "CONNECT %u\n", port);
    int r = write_all(fd, req, (size_t)len);
    if (r < 0)
        return make_error(err, -r, "send hybrid vsock CONNECT");
    char line[128];
    r = read_line(fd, line, sizeof(line), timeout_ms, err);
    if (r < 0)
        return error_wrap(err, r, "hybrid vsock handshake for port %u", port);
    /* VMMs answer "OK <host port>"; like Kata's runtimes, accept any line containing OK. */
    if (!strstr(line, "OK"))
        return make_error(err, ECONNREFUSED, "hybrid vsock handshake for port %u refused: '%s'",
                          port, line);
    return 0;
}

int dial_connect(const struct dial_addr *a, int timeout_ms, struct kerr **err)
{
    switch (a->kind) {
    case DIAL_UNIX:
        return dial_unix(a->path, err);
    case DIAL_VSOCK:
        return dial_vsock(a->cid, a->port, err);
    case DIAL_HVSOCK: {
        cleanup_close int fd = dial_unix(a->path, err);
        if (fd < 0)
            return fd;
        int r = dial_hybrid_handshake(fd, a->port, timeout_ms, err);
        if (r < 0)
            return r;
        return steal_fd(&fd);
    }
    }
    return make_error(err, EINVAL, "unknown address kind");
}

int dial_read_hello(int fd, int timeout_ms, uint64_t *ret_boottime_ns, struct kerr **err)
{
    char line[128];
    for (;;) {
        int r = read_line(fd, line, sizeof(line), timeout_ms, err);
        if (r < 0)
            return error_wrap(err, r, "waiting for the agent's hello");
        size_t plen = strlen(KATA_SERIAL_HELLO);
        /* Skip anything else (there should be nothing) until the hello line. */
        if (strncmp(line, KATA_SERIAL_HELLO, plen) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        unsigned long long ns = strtoull(line + plen, &end, 10);
        if (errno || end == line + plen)
            return make_error(err, EPROTO, "malformed agent hello '%s'", line);
        if (ret_boottime_ns)
            *ret_boottime_ns = ns;
        return 0;
    }
}

bool dial_have_vhost_vsock(void)
{
    return access("/dev/vhost-vsock", R_OK | W_OK) == 0;
}

int dial_find_guest_cid(uint32_t *ret_cid, struct kerr **err)
{
    cleanup_close int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return make_error(err, errno, "open /dev/vhost-vsock");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t base = 3 + (uint32_t)((ts.tv_nsec ^ getpid()) % 100000);
    for (uint32_t i = 0; i < 1000; i++) {
        uint64_t cid = base + i;
        if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) == 0) {
            /* The CID stays reserved only while this fd is open; QEMU claims it right after.
             * A lost race shows up as QEMU failing to start, reported with its console. */
            *ret_cid = (uint32_t)cid;
            return 0;
        }
        if (errno != EADDRINUSE)
            return make_error(err, errno, "VHOST_VSOCK_SET_GUEST_CID");
    }
    return make_error(err, EADDRINUSE, "no free vsock guest CID found");
}
