/* Where requests come from: a listening socket (vsock or unix) and/or the virtio-serial port.
 *
 * The serial port is one byte stream with a single opener. While no host is connected it
 * reports POLLHUP and reads EOF, so it cannot sit in epoll then (it would spin): a short
 * timer polls it instead. When the host connects, the agent speaks first (the hello line of
 * channel.h, since the port drops what the host sent before) and hands the fd to the ttRPC
 * server; when the host goes away the connection's calls are cancelled and polling resumes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "channel.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define SERIAL_POLL_NS (10 * 1000000LL)

struct transport {
    struct ttrpc_server *srv;
    struct loop *loop;
    int listen_fd;
    struct loop_source *listen_src;
    char *unix_path; /* to unlink at stop */
    /* virtio-serial */
    char *serial_path;
    int serial_fd;
    struct ttrpc_conn *serial_conn;
    struct loop_timer *serial_timer;
};

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct transport *t = data;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warn("transport", "accept: %m");
        return;
    }
    log_debug("transport", "new connection (fd %d)", c);
    if (!ttrpc_server_add_conn(t->srv, c, 0, NULL, NULL))
        close(c);
}

static int listen_unix(const char *name, bool abstract, char **ret_path, struct kerr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (len + 1 > sizeof(sa.sun_path))
        return make_status(err, RPC_INVALID_ARGUMENT, ENAMETOOLONG, "unix socket path too long: %s",
                           name);
    socklen_t sl;
    if (abstract) {
        memcpy(sa.sun_path + 1, name, len);
        sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    } else {
        memcpy(sa.sun_path, name, len);
        sl = sizeof(sa);
        (void)unlink(name);
    }
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error(err, errno, "socket");
    if (bind(fd, (struct sockaddr *)&sa, sl) < 0)
        return make_error(err, errno, "bind unix:%s%s: %s", abstract ? "@" : "", name,
                          strerror(errno));
    if (listen(fd, 128) < 0)
        return make_error(err, errno, "listen: %s", strerror(errno));
    if (!abstract)
        *ret_path = xstrdup(name);
    return steal_fd(&fd);
}

static int listen_vsock(const char *spec, struct kerr **err)
{
    char *colon = strrchr(spec, ':');
    if (!colon)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL,
                           "bad vsock address vsock://%s (want CID:PORT)", spec);
    char *end;
    long cid = strtol(spec, &end, 10);
    if (end != colon)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "bad vsock CID in vsock://%s", spec);
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 0xffffffffL)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "bad vsock port in vsock://%s", spec);
    return vsock_listen(cid < 0 ? VMADDR_CID_ANY : (unsigned)cid, (unsigned)port, 128, err);
}

static void serial_poll(struct loop_timer *timer, void *data);

static void serial_schedule(struct transport *t)
{
    t->serial_timer = loop_add_timer(t->loop, SERIAL_POLL_NS, serial_poll, t);
}

static void serial_closed(struct ttrpc_conn *c, void *data)
{
    struct transport *t = data;
    t->serial_conn = NULL;
    log_info("transport", "host disconnected from %s", t->serial_path);
    if (t->serial_fd >= 0)
        serial_schedule(t);
}

static void serial_poll(struct loop_timer *timer, void *data)
{
    struct transport *t = data;
    t->serial_timer = NULL;
    if (!vport_host_connected(t->serial_fd)) {
        serial_schedule(t);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    char hello[64];
    int n = snprintf(hello, sizeof(hello), KATA_SERIAL_HELLO "%lld\n",
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write(t->serial_fd, hello, (size_t)n) != n) {
        serial_schedule(t);
        return;
    }
    log_info("transport", "host connected on %s", t->serial_path);
    t->serial_conn =
        ttrpc_server_add_conn(t->srv, t->serial_fd, TTRPC_CONN_KEEP_FD, serial_closed, t);
    if (!t->serial_conn)
        serial_schedule(t);
}

static int serial_open(struct transport *t, const char *path, struct kerr **err)
{
    int fd = vport_open(path, err);
    if (fd < 0)
        return fd;
    t->serial_fd = fd;
    t->serial_path = xstrdup(path);
    /* The host is usually connected already: greet it now, not a poll interval later. */
    serial_poll(NULL, t);
    return 0;
}

int transport_start(struct ttrpc_server *srv, struct loop *loop, const char *addr,
                    struct transport **ret, struct kerr **err)
{
    struct transport *t = xcalloc(1, sizeof(*t));
    t->srv = srv;
    t->loop = loop;
    t->listen_fd = -1;
    t->serial_fd = -1;
    cleanup_error struct kerr *lerr = NULL;
    int fd = -1;
    bool serial_only = false, no_vsock = false;
    /* The serial port: named explicitly (serial://NAME or serial:///path), else looked up by
     * the conventional name and served in addition to the socket. */
    if (strncmp(addr, "serial://", 9) == 0)
        serial_only = true;
    const char *sname = serial_only ? addr + 9 : KATA_SERIAL_PORT_NAME;
    cleanup_free char *spath = sname[0] == '/' ? xstrdup(sname) : vport_find(sname);

    if (strncmp(addr, "unix://", 7) == 0) {
        const char *p = addr + 7;
        fd = p[0] == '@' ? listen_unix(p + 1, true, &t->unix_path, &lerr)
                         : listen_unix(p, false, &t->unix_path, &lerr);
    } else if (strncmp(addr, "vsock://", 8) == 0) {
        /* A VMM without vhost-vsock (QEMU under kata-host on such a host) gives the port. */
        if (spath && !vsock_has_transport())
            no_vsock = true;
        else
            fd = listen_vsock(addr + 8, &lerr);
    } else if (!serial_only) {
        free(t);
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL,
                           "unsupported server address %s (vsock://, unix://, serial://)", addr);
    }
    if (fd >= 0) {
        t->listen_fd = fd;
        t->listen_src = loop_add_fd(loop, fd, EPOLLIN, on_accept, t);
        log_info("transport", "listening on %s", addr);
    }

    cleanup_error struct kerr *serr = NULL;
    /* One line for both: every console line costs boot time under TCG. */
    if (spath) {
        if (serial_open(t, spath, &serr) == 0)
            log_info("transport", "serving virtio-serial port %s%s%s%s", spath,
                     no_vsock ? " (no vsock device: not listening on " : "", no_vsock ? addr : "",
                     no_vsock ? ")" : "");
    } else if (serial_only)
        make_error(&serr, ENOENT, "no virtio-serial port named %s", sname);

    if (t->listen_fd < 0 && t->serial_fd < 0) {
        struct kerr *e = lerr ? lerr : serr;
        int r =
            make_error(err, e ? e->errnum : ENODEV, "no channel to serve: %s", e ? e->msg : "none");
        transport_stop(t);
        return r;
    }
    if (lerr)
        log_warn("transport", "%s; serving %s only", lerr->msg, t->serial_path);
    if (serr && serial_only)
        log_warn("transport", "%s", serr->msg);
    *ret = t;
    return 0;
}

void transport_stop(struct transport *t)
{
    if (!t)
        return;
    loop_remove_fd(t->listen_src);
    if (t->listen_fd >= 0)
        close(t->listen_fd);
    if (t->unix_path)
        (void)unlink(t->unix_path);
    loop_cancel_timer(t->serial_timer);
    if (t->serial_conn) {
        struct ttrpc_conn *c = t->serial_conn;
        t->serial_conn = NULL;
        int fd = t->serial_fd;
        t->serial_fd = -1; /* serial_closed must not re-arm */
        ttrpc_conn_close(c);
        t->serial_fd = fd;
    }
    if (t->serial_fd >= 0)
        close(t->serial_fd);
    free(t->serial_path);
    free(t->unix_path);
    free(t);
}
