/* kata-host console NAME: the agent's debug console of a sandbox started with
 * --debug-console, as `kata-runtime exec <sandbox>` reaches it: a raw byte stream to a shell
 * on a pty in the guest, no framing. Over vsock port 1026 (vhost-vsock, or
 * cloud-hypervisor's hybrid vsock), else the debug console's virtio-serial port.
 *
 * On a terminal: raw mode, Ctrl-] quits (over vsock, `exit` in the shell quits too; the
 * serial port has no end, the agent starts a new shell). With stdin not a terminal (scripts):
 * stdin is sent, and once it ends, output is shown until the guest has been quiet for
 * QUIET_MS. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cleanup.h"
#include "commands.h"
#include "dial.h"
#include "loop.h"
#include "options.h"
#include "sandbox.h"
#include "session.h"
#include "terminal.h"
#include "xalloc.h"

#define QUIET_MS 1000
#define DIAL_TIMEOUT_MS 5000
#define CTRL_RIGHT_BRACKET 0x1d

static int console_dial(const char *dir, const struct session_state *st, struct kerr **err)
{
    if (st->vsock_cid > 0)
        return dial_vsock((uint32_t)st->vsock_cid, KATA_DEBUG_CONSOLE_VSOCK_PORT, err);
    cleanup_free char *hv = xasprintf("%s/" SANDBOX_HVSOCK_SOCKET, dir);
    if (access(hv, F_OK) == 0) {
        struct dial_addr a = {
            .kind = DIAL_HVSOCK, .path = hv, .port = KATA_DEBUG_CONSOLE_VSOCK_PORT};
        return dial_connect(&a, DIAL_TIMEOUT_MS, err);
    }
    cleanup_free char *path = xasprintf("%s/" SANDBOX_DEBUG_CONSOLE_SOCKET, dir);
    return dial_unix(path, err);
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Copies both ways until the guest side closes, Ctrl-] (tty), or stdin's end plus quiet. */
static int relay(int sock, bool tty)
{
    bool in_open = true;
    int64_t last_output = loop_now_ns();
    char buf[16384];
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                              {.fd = in_open ? 0 : -1, .events = POLLIN}};
        int timeout = in_open ? -1 : 100;
        if (poll(p, 2, timeout) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, buf, sizeof(buf));
            if (n <= 0)
                return 0; /* the guest closed the console */
            if (!write_all(1, buf, (size_t)n))
                return 0;
            last_output = loop_now_ns();
        }
        if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                in_open = false;
                last_output = loop_now_ns();
                continue;
            }
            char *quit = tty ? memchr(buf, CTRL_RIGHT_BRACKET, (size_t)n) : NULL;
            if (!write_all(sock, buf, quit ? (size_t)(quit - buf) : (size_t)n) || quit)
                return 0;
        }
        if (!in_open && loop_now_ns() - last_output > QUIET_MS * 1000000LL)
            return 0;
    }
}

int cmd_console(int argc, char **argv)
{
    if (argc != 2 || !options_valid_name(argv[1])) {
        report_error("console: usage: kata-host console NAME");
        return EXIT_KATA_HOST;
    }
    const char *name = argv[1];
    cleanup_free char *dir = session_run_dir(name);
    cleanup_error struct kerr *err = NULL;
    struct session_state st = {0};
    if (session_read_state(dir, &st, &err) < 0 || !session_owner_alive(&st)) {
        session_state_free(&st);
        report_error("console: no running sandbox named '%s'", name);
        return EXIT_KATA_HOST;
    }
    bool enabled = st.debug_console;
    int fd = enabled ? console_dial(dir, &st, &err) : -1;
    session_state_free(&st);
    if (!enabled) {
        report_error("console: sandbox '%s' was not started with --debug-console", name);
        return EXIT_KATA_HOST;
    }
    if (fd < 0) {
        report_error("console: %s", err->msg);
        return EXIT_KATA_HOST;
    }
    bool tty = isatty(0);
    if (tty) {
        fprintf(stderr, "kata-host: debug console of %s; Ctrl-] quits\n", name);
        terminal_make_raw(0);
    }
    int r = relay(fd, tty);
    if (tty)
        terminal_restore();
    close(fd);
    if (r < 0) {
        report_error("console: %s", strerror(-r));
        return EXIT_KATA_HOST;
    }
    return 0;
}
