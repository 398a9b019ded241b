/* The debug console (`agent.debug_console`): a root shell in the guest for whoever can reach
 * the VM's host side, as upstream offers it.
 *
 * - With `agent.debug_console_vport=P` and a vsock transport: listen on vsock port P; every
 *   connection gets its own shell on a new pty, bytes relayed both ways with no framing; the
 *   shell is killed when the connection closes, the connection closed when the shell is gone.
 * - With the port but no vsock transport (QEMU without vhost-vsock): the same on the
 *   virtio-serial port KATA_DEBUG_CONSOLE_PORT_NAME. A port has no connections: while the host is
 *   connected to it a shell runs (restarted when it exits); when the host goes away the shell
 *   is killed and the port waits for the next host.
 * - Without a port: upstream's serial mode, `shell -i` on /dev/console, once. kata-init owns
 *   the console, and kata-host gives QEMU no input there, so this is only useful to whoever
 *   attaches a terminal to the VM's console themselves.
 *
 * Everything runs on the agent's loop: the fds are non-blocking and each direction has one
 * buffer, so a slow reader only stops its own direction. Shells are reaped by the agent's
 * SIGCHLD reaper like any unknown child; the kill goes through a pidfd so it can never hit a
 * reused pid. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "channel.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define RELAY_BUF 16384
#define SERIAL_POLL_NS (100 * 1000000LL)
#define RESTART_NS (200 * 1000000LL)

static const char *const shells[] = {
    "/run/kata-extensions/devkit/bin/devkit-sh",
    "/bin/bash",
    "/bin/sh",
};

struct buf {
    char data[RELAY_BUF];
    size_t off, len;
};

struct session {
    struct session *next;
    struct debug_console *dc;
    int peer; /* the vsock connection (owned) or the serial port (the console's) */
    struct loop_source *peer_src;
    int master; /* pty master, -1 while no shell runs */
    struct loop_source *master_src;
    int pidfd;
    pid_t pid;
    struct buf to_shell, to_peer;
};

struct debug_console {
    struct loop *loop;
    char *shell;
    int listen_fd;
    struct loop_source *listen_src;
    struct session *sessions; /* vsock: one per connection */
    /* serial */
    int serial_fd;
    char *serial_path;
    struct session *serial; /* while the host is connected */
    struct loop_timer *timer;
};

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void pidfd_kill(int pidfd)
{
    if (pidfd >= 0)
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/* The child side: a session of its own with the pty as controlling terminal and stdio. */
static void __attribute__((noreturn)) shell_child(const char *shell, int slave)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (setsid() < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
        _exit(126);
    if (slave > 2)
        close(slave);
    (void)ioctl(0, TIOCSCTTY, 0);
    /* upstream passes no argv at all; busybox needs argv[0] to know it is sh */
    execl(shell, shell, (char *)NULL);
    _exit(127);
}

/* Starts the shell on a new pty: *ret_master (non-blocking), *ret_pid, *ret_pidfd. */
static int shell_spawn(const char *shell, int *ret_master, pid_t *ret_pid, int *ret_pidfd,
                       struct kerr **err)
{
    cleanup_close int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return make_error(err, errno, "open /dev/ptmx: %s", strerror(errno));
    char name[64];
    if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
        return make_error(err, errno, "set up the pty: %s", strerror(errno));
    cleanup_close int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return make_error(err, errno, "open %s: %s", name, strerror(errno));
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    (void)ioctl(slave, TIOCSWINSZ, &ws);
    pid_t pid = fork();
    if (pid < 0)
        return make_error(err, errno, "fork: %s", strerror(errno));
    if (pid == 0)
        shell_child(shell, slave);
    /* Not reaped yet (that happens on this thread, later): the pid is still this child. */
    *ret_pidfd = pidfd_open_(pid);
    (void)fcntl(master, F_SETFL, O_RDWR | O_NONBLOCK);
    *ret_master = steal_fd(&master);
    *ret_pid = pid;
    return 0;
}

/* ------------------------------------------------------------ the relay */

static void session_update(struct session *s);
static void session_end(struct session *s, const char *why);
static void shell_gone(struct session *s);

/* Writes what b holds to fd; false when fd failed for good. */
static bool flush(int fd, struct buf *b)
{
    while (b->len > 0) {
        ssize_t n = write(fd, b->data + b->off, b->len);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        b->off += (size_t)n;
        b->len -= (size_t)n;
    }
    b->off = 0;
    return true;
}

/* Reads into an empty b: >0 bytes, 0 at the end, -1 for "nothing now", -2 for a failure. */
static int fill(int fd, struct buf *b)
{
    ssize_t n = read(fd, b->data, sizeof(b->data));
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? -1 : -2;
    b->off = 0;
    b->len = (size_t)n;
    return n > 0 ? 1 : 0;
}

static void on_peer(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct session *s = data;
    if (!flush(fd, &s->to_peer)) {
        session_end(s, "write to the host failed");
        return;
    }
    /* A hang-up stays reported: with nothing readable left in our reach, it is the end. */
    bool hup = events & (EPOLLHUP | EPOLLERR);
    if (hup && (!(events & EPOLLIN) || s->to_shell.len > 0)) {
        session_end(s, "the host closed the console");
        return;
    }
    if (s->to_shell.len == 0 && (events & EPOLLIN)) {
        int r = fill(fd, &s->to_shell);
        if (r == 0 || r == -2 || (r == -1 && hup)) {
            session_end(s, "the host closed the console");
            return;
        }
    }
    if (s->master >= 0 && !flush(s->master, &s->to_shell)) {
        shell_gone(s);
        return;
    }
    session_update(s);
}

static void on_master(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct session *s = data;
    if (!flush(fd, &s->to_shell)) {
        shell_gone(s);
        return;
    }
    if ((events & (EPOLLHUP | EPOLLERR)) && s->to_peer.len > 0) {
        /* The hang-up would be reported again and again while the host is slow to take the
         * last output: leave the loop until it has, then read the rest (session_update). */
        loop_remove_fd(s->master_src);
        s->master_src = NULL;
        session_update(s);
        return;
    }
    if (s->to_peer.len == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        int r = fill(fd, &s->to_peer);
        /* EIO: every holder of the slave has closed it, the shell is gone */
        if (r == 0 || r == -2 || (r == -1 && (events & (EPOLLHUP | EPOLLERR)))) {
            shell_gone(s);
            return;
        }
    }
    if (!flush(s->peer, &s->to_peer)) {
        session_end(s, "write to the host failed");
        return;
    }
    session_update(s);
}

static void session_update(struct session *s)
{
    bool shell = s->master >= 0;
    uint32_t pe = (s->to_shell.len == 0 && shell ? EPOLLIN : 0) | (s->to_peer.len ? EPOLLOUT : 0);
    loop_modify_fd(s->peer_src, pe);
    if (shell && !s->master_src && s->to_peer.len == 0)
        s->master_src = loop_add_fd(s->dc->loop, s->master, EPOLLIN, on_master, s);
    else if (s->master_src)
        loop_modify_fd(s->master_src,
                       (s->to_peer.len == 0 ? EPOLLIN : 0) | (s->to_shell.len ? EPOLLOUT : 0));
}

static void shell_stop(struct session *s)
{
    pidfd_kill(s->pidfd);
    if (s->pidfd >= 0)
        close(s->pidfd);
    s->pidfd = -1;
    loop_remove_fd(s->master_src);
    s->master_src = NULL;
    if (s->master >= 0)
        close(s->master);
    s->master = -1;
    s->to_shell.len = s->to_shell.off = 0;
}

static int shell_start(struct session *s, struct kerr **err)
{
    int r = shell_spawn(s->dc->shell, &s->master, &s->pid, &s->pidfd, err);
    if (r < 0)
        return r;
    s->master_src = loop_add_fd(s->dc->loop, s->master, EPOLLIN, on_master, s);
    log_info("debug-console", "shell %s started, pid %d", s->dc->shell, (int)s->pid);
    return 0;
}

static void serial_poll(struct loop_timer *t, void *data);

static void serial_schedule(struct debug_console *dc, int64_t ns)
{
    if (!dc->timer)
        dc->timer = loop_add_timer(dc->loop, ns, serial_poll, dc);
}

static void session_free(struct session *s)
{
    shell_stop(s);
    loop_remove_fd(s->peer_src);
    struct debug_console *dc = s->dc;
    if (s == dc->serial) {
        dc->serial = NULL;
    } else {
        close(s->peer);
        for (struct session **p = &dc->sessions; *p; p = &(*p)->next)
            if (*p == s) {
                *p = s->next;
                break;
            }
    }
    free(s);
}

static void session_end(struct session *s, const char *why)
{
    struct debug_console *dc = s->dc;
    bool serial = s == dc->serial;
    log_info("debug-console", "%s: shell pid %d killed", why, (int)s->pid);
    session_free(s);
    if (serial)
        serial_schedule(dc, SERIAL_POLL_NS);
}

/* The shell exited (or closed the pty): over vsock that ends the connection, as upstream;
 * on the serial port, whose host may still be there, a new shell comes up shortly. */
static void shell_gone(struct session *s)
{
    struct debug_console *dc = s->dc;
    log_info("debug-console", "shell pid %d is gone", (int)s->pid);
    if (s != dc->serial) {
        (void)flush(s->peer, &s->to_peer);
        session_free(s);
        return;
    }
    shell_stop(s);
    session_update(s);
    serial_schedule(dc, RESTART_NS);
}

static struct session *session_new(struct debug_console *dc, int peer)
{
    struct session *s = xcalloc(1, sizeof(*s));
    s->dc = dc;
    s->peer = peer;
    s->master = -1;
    s->pidfd = -1;
    return s;
}

/* ------------------------------------------------------------ vsock */

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct debug_console *dc = data;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_warn("debug-console", "accept: %m");
        return;
    }
    struct session *s = session_new(dc, c);
    cleanup_error struct kerr *err = NULL;
    if (shell_start(s, &err) < 0) {
        log_error("debug-console", "%s", err->msg);
        close(c);
        free(s);
        return;
    }
    s->peer_src = loop_add_fd(dc->loop, c, EPOLLIN, on_peer, s);
    s->next = dc->sessions;
    dc->sessions = s;
}

/* ------------------------------------------------------------ virtio-serial */

/* While no host is connected the port reports POLLHUP: it is polled by a timer, not epoll. */
static void serial_poll(struct loop_timer *t, void *data)
{
    struct debug_console *dc = data;
    dc->timer = NULL;
    if (!vport_host_connected(dc->serial_fd)) {
        if (dc->serial)
            session_end(dc->serial, "the host left the console port");
        serial_schedule(dc, SERIAL_POLL_NS);
        return;
    }
    if (!dc->serial) {
        dc->serial = session_new(dc, dc->serial_fd);
        dc->serial->peer_src = loop_add_fd(dc->loop, dc->serial_fd, 0, on_peer, dc->serial);
        log_info("debug-console", "host connected on %s", dc->serial_path);
    }
    if (dc->serial->master < 0) {
        cleanup_error struct kerr *err = NULL;
        if (shell_start(dc->serial, &err) < 0) {
            log_error("debug-console", "%s", err->msg);
            serial_schedule(dc, SERIAL_POLL_NS * 10);
            return;
        }
    }
    session_update(dc->serial);
}

static int serial_open(struct debug_console *dc, const char *path, struct kerr **err)
{
    int fd = vport_open(path, err);
    if (fd < 0)
        return fd;
    dc->serial_fd = fd;
    dc->serial_path = xstrdup(path);
    serial_poll(NULL, dc);
    return 0;
}

/* ------------------------------------------------------------ /dev/console */

static int console_shell(const char *shell, struct kerr **err)
{
    pid_t pid = fork();
    if (pid < 0)
        return make_error(err, errno, "fork: %s", strerror(errno));
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        int fd = open("/dev/console", O_RDWR | O_NOCTTY);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (fd > 2)
            close(fd);
        execl(shell, shell, "-i", (char *)NULL);
        _exit(127);
    }
    log_info("debug-console", "shell %s -i on /dev/console, pid %d", shell, (int)pid);
    return 0;
}

/* ------------------------------------------------------------ start / stop */

int debug_console_start(struct loop *loop, const struct agent_config *c, struct debug_console **ret,
                        struct kerr **err)
{
    *ret = NULL;
    if (!c->debug_console)
        return 0;
    const char *shell = NULL;
    for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]) && !shell; i++)
        if (access(shells[i], X_OK) == 0)
            shell = shells[i];
    if (!shell)
        return make_error(err, ENOENT, "no shell found to launch the debug console");
    if (c->debug_console_vport <= 0)
        return console_shell(shell, err);

    struct debug_console *dc = xcalloc(1, sizeof(*dc));
    dc->loop = loop;
    dc->shell = xstrdup(shell);
    dc->listen_fd = dc->serial_fd = -1;
    *ret = dc;
    cleanup_free char *port =
        vsock_has_transport() ? NULL : vport_find(KATA_DEBUG_CONSOLE_PORT_NAME);
    if (port) {
        int r = serial_open(dc, port, err);
        if (r == 0)
            log_info("debug-console", "no vsock device: serving the debug console on %s (%s)", port,
                     KATA_DEBUG_CONSOLE_PORT_NAME);
        return r;
    }
    int fd = vsock_listen(VMADDR_CID_ANY, (unsigned)c->debug_console_vport, 1, err);
    if (fd < 0)
        return fd;
    dc->listen_fd = fd;
    dc->listen_src = loop_add_fd(loop, fd, EPOLLIN, on_accept, dc);
    log_info("debug-console", "listening on vsock port %d", c->debug_console_vport);
    return 0;
}

void debug_console_stop(struct debug_console *dc)
{
    if (!dc)
        return;
    while (dc->sessions)
        session_free(dc->sessions);
    if (dc->serial)
        session_free(dc->serial);
    loop_cancel_timer(dc->timer);
    loop_remove_fd(dc->listen_src);
    if (dc->listen_fd >= 0)
        close(dc->listen_fd);
    if (dc->serial_fd >= 0)
        close(dc->serial_fd);
    free(dc->serial_path);
    free(dc->shell);
    free(dc);
}
