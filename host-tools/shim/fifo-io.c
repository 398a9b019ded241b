#include "fifo-io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_api.h"
#include "cleanup.h"
#include "xalloc.h"

struct out_args {
    struct fifo_io *io;
    int which; /* 1 stdout, 2 stderr */
};

static bool attached(const char *path)
{
    return path && *path;
}

/* How long output may stay stuck in a full FIFO nobody reads once the process has exited. */
#define STUCK_AFTER_EXIT_MS 2000

/* Writes everything, waiting while the FIFO is full (the container then waits too, as with
 * runc). Gives up (-1) when the FIFO stays full for STUCK_AFTER_EXIT_MS after the process
 * exited: whoever read it is gone, and the exit must not wait for a reader forever. */
static int write_all(struct fifo_io *io, int fd, const uint8_t *p, size_t n)
{
    int stuck_ms = 0;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, 100) == 0 && atomic_load(&io->exited) &&
                (stuck_ms += 100) >= STUCK_AFTER_EXIT_MS)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        stuck_ms = 0;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *output_thread(void *arg)
{
    struct out_args *a = arg;
    struct fifo_io *io = a->io;
    const char *path = a->which == 1 ? io->stdout_path : io->stderr_path;
    /* O_RDWR: opening never waits for a reader (`ctr run -d` may be gone before we open, and a
     * later `ctr task attach` still finds the output), and the reader still sees EOF once we
     * close, our end being the only writer. Non-blocking, so write_all can give up. */
    int fd = attached(path) ? open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC) : -1;
    for (;;) {
        uint8_t *data = NULL;
        size_t len = 0;
        struct kerr *e = NULL;
        int r = agent_read(io->client, a->which, io->cid, io->eid, &data, &len, &e);
        error_free(e);
        if (r < 0 || len == 0) {
            free(data);
            break;
        }
        if (fd >= 0 && write_all(io, fd, data, len) < 0) {
            close(fd); /* nobody reads: keep draining so the process never blocks */
            fd = -1;
        }
        free(data);
    }
    if (fd >= 0)
        close(fd);
    free(a);
    return NULL;
}

static void close_stdin_once(struct fifo_io *io)
{
    if (atomic_exchange(&io->stdin_closed, true))
        return;
    struct kerr *e = NULL;
    agent_close_stdin(io->client, io->cid, io->eid, &e);
    error_free(e);
}

/* Forwards what can be read without waiting; returns false at EOF or on an agent error. */
static bool forward_available(struct fifo_io *io, int fd, bool *eof)
{
    uint8_t buf[32768];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        if (n == 0) {
            *eof = true;
            return false;
        }
        struct kerr *e = NULL;
        int r = agent_write_stdin(io->client, io->cid, io->eid, buf, (size_t)n, &e);
        error_free(e);
        if (r < 0)
            return false;
    }
}

static void *input_thread(void *arg)
{
    struct fifo_io *io = arg;
    /* Non-blocking: the open does not wait for a writer, and a FIFO that never had one reads
     * as empty rather than EOF only after poll says so. */
    cleanup_close int fd = open(io->stdin_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        close_stdin_once(io);
        return NULL;
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = io->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        bool eof = false;
        if (p[1].revents) {
            /* CloseIO: what containerd wrote before asking is in the FIFO; send it first. */
            if (atomic_load(&io->close_requested)) {
                forward_available(io, fd, &eof);
                close_stdin_once(io);
            }
            break;
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            if (!forward_available(io, fd, &eof)) {
                if (eof)
                    close_stdin_once(io);
                break;
            }
        }
    }
    return NULL;
}

int fifo_io_start(struct fifo_io *io, struct ttrpc_client *client, const char *cid,
                  const char *eid, struct kerr **err)
{
    io->client = client;
    io->cid = xstrdup(cid);
    io->eid = xstrdup(eid);
    io->stop_pipe[0] = io->stop_pipe[1] = -1;
    atomic_store(&io->close_requested, false);
    atomic_store(&io->exited, false);
    atomic_store(&io->stdin_closed, false);
    if (pipe2(io->stop_pipe, O_CLOEXEC) < 0)
        return make_error(err, errno, "pipe");
    struct out_args *o = xmalloc(sizeof(*o));
    *o = (struct out_args){io, 1};
    if (pthread_create(&io->out_thread, NULL, output_thread, o) != 0) {
        free(o);
        return make_error(err, EAGAIN, "start the stdout relay");
    }
    io->out_started = true;
    if (!io->terminal) {
        struct out_args *e = xmalloc(sizeof(*e));
        *e = (struct out_args){io, 2};
        if (pthread_create(&io->err_thread, NULL, output_thread, e) != 0) {
            free(e);
            return make_error(err, EAGAIN, "start the stderr relay");
        }
        io->err_started = true;
    }
    if (attached(io->stdin_path)) {
        if (pthread_create(&io->in_thread, NULL, input_thread, io) != 0)
            return make_error(err, EAGAIN, "start the stdin relay");
        io->in_started = true;
    } else {
        /* Nothing will ever be written: the process reads EOF, as with runc. */
        close_stdin_once(io);
    }
    return 0;
}

void fifo_io_process_exited(struct fifo_io *io)
{
    atomic_store(&io->exited, true);
}

void fifo_io_wait_output(struct fifo_io *io)
{
    if (io->out_started) {
        pthread_join(io->out_thread, NULL);
        io->out_started = false;
    }
    if (io->err_started) {
        pthread_join(io->err_thread, NULL);
        io->err_started = false;
    }
}

void fifo_io_close_stdin(struct fifo_io *io)
{
    if (!io->in_started) {
        close_stdin_once(io);
        return;
    }
    atomic_store(&io->close_requested, true);
    if (io->stop_pipe[1] >= 0 && write(io->stop_pipe[1], "c", 1) < 0) {
        /* the thread still ends when the process does */
    }
}

void fifo_io_finish(struct fifo_io *io)
{
    fifo_io_wait_output(io);
    if (io->in_started) {
        if (write(io->stop_pipe[1], "x", 1) < 0) {
            /* a full pipe already wakes the thread */
        }
        pthread_join(io->in_thread, NULL);
        io->in_started = false;
    }
    for (int i = 0; i < 2; i++)
        if (io->stop_pipe[i] >= 0) {
            close(io->stop_pipe[i]);
            io->stop_pipe[i] = -1;
        }
    free(io->cid);
    free(io->eid);
    io->cid = io->eid = NULL;
}
