#include "stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_api.h"
#include "loop.h"
#include "signals.h"
#include "terminal.h"

struct reader_arg {
    struct stdio_relay *r;
    int which; /* 1 stdout, 2 stderr */
};

static void write_all_or_drop(int fd, const uint8_t *buf, size_t len, bool *dropping)
{
    while (len > 0 && !*dropping) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* The reader went away (e.g. `| head`): keep draining so the process is not
             * blocked on a full pipe in the guest, but stop writing. */
            *dropping = true;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Our output is gone (`kata-host run ... | head -1`): like a local pipeline, the writer gets
 * SIGPIPE; a container init ignores signals it has no handler for, so if output keeps coming
 * half a second later it is killed. Output is drained meanwhile so nothing blocks. */
static void reader_went_away(struct stdio_relay *r, bool first, int64_t *since)
{
    struct kerr *err = NULL;
    int64_t now = loop_now_ns();
    if (first) {
        *since = now;
        agent_signal(r->client, r->cid, r->eid, SIGPIPE, &err);
    } else if (*since && now - *since > 500000000LL) {
        *since = 0;
        agent_signal(r->client, r->cid, r->eid, SIGKILL, &err);
    }
    error_free(err);
}

static void *reader_main(void *arg)
{
    struct reader_arg *a = arg;
    struct stdio_relay *r = a->r;
    int fd = a->which == 2 ? r->err_fd : r->out_fd;
    bool dropping = false;
    int64_t dropped_since = 0;
    for (;;) {
        uint8_t *data = NULL;
        size_t len = 0;
        struct kerr *err = NULL;
        int ret = agent_read(r->client, a->which, r->cid, r->eid, &data, &len, &err);
        if (ret < 0) {
            pthread_mutex_lock(&r->lock);
            if (!r->out_error)
                r->out_error = err && err->errnum ? err->errnum : EIO;
            pthread_mutex_unlock(&r->lock);
            error_free(err);
            break;
        }
        if (len == 0) {
            free(data);
            break;
        }
        bool was_dropping = dropping;
        write_all_or_drop(fd, data, len, &dropping);
        free(data);
        if (dropping)
            reader_went_away(r, !was_dropping, &dropped_since);
    }
    free(a);
    return NULL;
}

static void *stdin_main(void *arg)
{
    struct stdio_relay *r = arg;
    uint8_t buf[32768];
    for (;;) {
        struct pollfd p[2] = {{.fd = r->in_fd, .events = POLLIN},
                              {.fd = r->stop_pipe[0], .events = POLLIN}};
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (p[1].revents & (POLLIN | POLLHUP)))
            return NULL;
        ssize_t got = read(r->in_fd, buf, sizeof(buf));
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        struct kerr *err = NULL;
        if (got <= 0) {
            agent_close_stdin(r->client, r->cid, r->eid, &err);
            error_free(err);
            return NULL;
        }
        if (agent_write_stdin(r->client, r->cid, r->eid, buf, (size_t)got, &err) < 0) {
            error_free(err);
            return NULL;
        }
    }
}

static int start_reader(struct stdio_relay *r, int which, pthread_t *t)
{
    struct reader_arg *a = malloc(sizeof(*a));
    if (!a)
        abort();
    a->r = r;
    a->which = which;
    int e = pthread_create(t, NULL, reader_main, a);
    if (e != 0) {
        free(a);
        return -e;
    }
    return 0;
}

int stdio_relay_start(struct stdio_relay *r)
{
    pthread_mutex_init(&r->lock, NULL);
    r->out_error = 0;
    if (pipe2(r->stop_pipe, O_CLOEXEC) < 0)
        return -errno;
    if (r->tty && r->interactive && isatty(r->in_fd))
        terminal_make_raw(r->in_fd);
    int e = start_reader(r, 1, &r->out_thread);
    if (e < 0)
        return e;
    r->out_started = true;
    /* With a terminal both streams arrive on stdout (one pty). */
    if (!r->tty) {
        e = start_reader(r, 2, &r->err_thread);
        if (e < 0)
            return e;
        r->err_started = true;
    }
    if (r->close_stdin) {
        struct kerr *err = NULL;
        agent_close_stdin(r->client, r->cid, r->eid, &err);
        error_free(err);
    }
    if (r->interactive) {
        e = pthread_create(&r->in_thread, NULL, stdin_main, r);
        if (e != 0)
            return -e;
        r->in_started = true;
    }
    return 0;
}

int stdio_relay_wait_output(struct stdio_relay *r)
{
    if (r->out_started) {
        pthread_join(r->out_thread, NULL);
        r->out_started = false;
    }
    if (r->err_started) {
        pthread_join(r->err_thread, NULL);
        r->err_started = false;
    }
    return -r->out_error;
}

void stdio_relay_finish(struct stdio_relay *r)
{
    if (r->in_started) {
        if (write(r->stop_pipe[1], "x", 1) < 0) {
        }
        pthread_join(r->in_thread, NULL);
        r->in_started = false;
    }
    stdio_relay_wait_output(r);
    if (r->stop_pipe[0] >= 0) {
        close(r->stop_pipe[0]);
        close(r->stop_pipe[1]);
        r->stop_pipe[0] = r->stop_pipe[1] = -1;
    }
    terminal_restore();
}

void stdio_relay_forward_signal(int sig, void *data)
{
    struct stdio_relay *r = data;
    struct kerr *err = NULL;
    if (sig == SIGWINCH) {
        unsigned rows, cols;
        if (r->tty &&
            (terminal_size(r->in_fd, &rows, &cols) || terminal_size(r->out_fd, &rows, &cols)))
            agent_tty_resize(r->client, r->cid, r->eid, rows, cols, &err);
    } else if (sig != SIGUSR1) {
        agent_signal(r->client, r->cid, r->eid, sig, &err);
    }
    error_free(err);
}

int stdio_run_to_exit(struct stdio_relay *r, int *ret_status, struct kerr **err)
{
    int e = stdio_relay_start(r);
    if (e < 0) {
        stdio_relay_finish(r);
        return make_error(err, -e, "start the stdio relay");
    }
    signals_set_handler(stdio_relay_forward_signal, r);
    /* The Kata shim's order: WaitProcess only after both output streams reached EOF, so no
     * output is lost. */
    stdio_relay_wait_output(r);
    int ret = agent_wait(r->client, r->cid, r->eid, ret_status, err);
    signals_set_handler(NULL, NULL);
    stdio_relay_finish(r);
    return ret;
}
