/* Container stdio. Output fds are read only on behalf of parked ReadStdout/ReadStderr calls,
 * so the pipe itself is the buffer and a slow client applies back-pressure to the process.
 * Stdin data is queued per WriteStdin call and answered once fully written. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent.h"
#include "xalloc.h"

/* Largest ReadStdout answer: well inside ttRPC's 4 MiB frame limit. */
#define IO_READ_MAX (1u << 20)

struct io_write {
    struct io_write *next;
    struct io_in *in;
    struct ttrpc_call *call; /* NULL once the caller went away: the data is still written */
    uint8_t *data;
    size_t len, off;
    bool empty_reply; /* CloseStdin answers google.protobuf.Empty */
};

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void reply_data(struct ttrpc_call *call, const uint8_t *data, size_t len)
{
    Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
    resp.data.data = (uint8_t *)data;
    resp.data.len = len;
    ttrpc_reply(call, &resp.base);
}

static void out_event(struct loop_source *src, int fd, uint32_t events, void *data);

static void out_watch(struct io_out *o, bool on)
{
    if (on && !o->src && o->fd >= 0)
        o->src = loop_add_fd(o->loop, o->fd, EPOLLIN, out_event, o);
    else if (!on && o->src) {
        loop_remove_fd(o->src);
        o->src = NULL;
    }
}

/* Answers as many parked reads as the fd allows right now. */
static void out_serve(struct io_out *o)
{
    while (!park_empty(&o->reads)) {
        if (o->eof || o->fd < 0) {
            o->eof = true;
            reply_data(park_pop(&o->reads, NULL), NULL, 0);
            continue;
        }
        uint32_t want = o->reads.head->len;
        if (want == 0 || want > IO_READ_MAX)
            want = IO_READ_MAX;
        /* Sized to what is waiting: musl gives a 32 KiB buffer its own mmap, so a read of
         * a few bytes or of the EOF cost an mmap/munmap pair and a TLB shootdown. */
        int avail = 0;
        if (ioctl(o->fd, FIONREAD, &avail) == 0 && avail >= 0 && (uint32_t)avail < want)
            want = avail > 0 ? (uint32_t)avail : 1;
        uint8_t *buf = xmalloc(want);
        ssize_t r = read(o->fd, buf, want);
        if (r > 0) {
            reply_data(park_pop(&o->reads, NULL), buf, (size_t)r);
            free(buf);
            continue;
        }
        int e = errno;
        free(buf);
        if (r < 0 && e == EINTR)
            continue;
        if (r < 0 && (e == EAGAIN || e == EWOULDBLOCK) && !o->drained) {
            out_watch(o, true);
            return;
        }
        /* 0 = writers gone; EIO = pty slave closed; EAGAIN after the drain window = the
         * pipe is held open by someone who outlived the process: end of stream anyway. */
        o->eof = true;
    }
    out_watch(o, false);
}

static void out_event(struct loop_source *src, int fd, uint32_t events, void *data)
{
    out_serve(data);
}

void io_out_init(struct io_out *o, struct loop *loop, int fd)
{
    *o = (struct io_out){.loop = loop, .fd = fd, .eof = fd < 0};
    if (fd >= 0)
        set_nonblock(fd);
}

void io_out_read(struct io_out *o, struct ttrpc_call *call, uint32_t len)
{
    o->asked = true;
    park(&o->reads, call, len);
    out_serve(o);
}

void io_out_set_drained(struct io_out *o)
{
    o->drained = true;
    out_serve(o);
}

void io_out_abandon(struct io_out *o)
{
    if (!o->asked && park_empty(&o->reads))
        io_out_close(o);
}

void io_out_close(struct io_out *o)
{
    o->eof = true;
    out_serve(o);
    out_watch(o, false);
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}

/* ---------------------------------------------------------------- stdin */

static void in_event(struct loop_source *src, int fd, uint32_t events, void *data);

static void write_reply(struct io_write *w)
{
    if (!w->call)
        return;
    w->call->on_cancel = NULL;
    if (w->in->error) {
        ttrpc_reply_error(w->call, RPC_INTERNAL, "write stdin: %s", strerror(w->in->error));
    } else if (w->empty_reply) {
        ttrpc_reply(w->call, NULL);
    } else {
        Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;
        resp.len = (uint32_t)w->len;
        ttrpc_reply(w->call, &resp.base);
    }
    w->call = NULL;
}

static void in_pop(struct io_in *in)
{
    struct io_write *w = in->head;
    in->head = w->next;
    if (!in->head)
        in->tail = NULL;
    write_reply(w);
    free(w->data);
    free(w);
}

static void in_close_fd(struct io_in *in)
{
    if (in->src) {
        loop_remove_fd(in->src);
        in->src = NULL;
    }
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
}

static void in_flush(struct io_in *in)
{
    while (in->head) {
        struct io_write *w = in->head;
        if (in->error || in->fd < 0) {
            if (!in->error && w->len > 0)
                in->error = EPIPE;
            in_pop(in);
            continue;
        }
        if (w->len == 0) { /* close request: everything before it is written */
            in_close_fd(in);
            in_pop(in);
            continue;
        }
        ssize_t r = write(in->fd, w->data + w->off, w->len - w->off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!in->src)
                in->src = loop_add_fd(in->loop, in->fd, EPOLLOUT, in_event, in);
            return;
        }
        if (r < 0) {
            in->error = errno;
            continue;
        }
        w->off += (size_t)r;
        if (w->off == w->len)
            in_pop(in);
    }
    if (in->src) {
        loop_remove_fd(in->src);
        in->src = NULL;
    }
}

static void in_event(struct loop_source *src, int fd, uint32_t events, void *data)
{
    in_flush(data);
}

static void write_cancel(struct ttrpc_call *call, void *data)
{
    struct io_write *w = data;
    w->call = NULL;
}

void io_in_init(struct io_in *in, struct loop *loop, int fd)
{
    *in = (struct io_in){.loop = loop, .fd = fd};
    if (fd >= 0)
        set_nonblock(fd);
}

static void in_enqueue(struct io_in *in, struct ttrpc_call *call, const uint8_t *data, size_t len,
                       bool empty_reply)
{
    if (in->fd < 0 && !in->head) {
        if (len == 0) { /* closing twice is harmless */
            Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;
            ttrpc_reply(call, empty_reply ? NULL : &resp.base);
        } else {
            ttrpc_reply_error(call, RPC_INTERNAL, "write stdin: %s",
                              in->error ? strerror(in->error) : "stdin is closed");
        }
        return;
    }
    struct io_write *w = xcalloc(1, sizeof(*w));
    w->in = in;
    w->call = call;
    w->len = len;
    w->empty_reply = empty_reply;
    if (len) {
        w->data = xmalloc(len);
        memcpy(w->data, data, len);
    }
    call->on_cancel = write_cancel;
    call->cancel_data = w;
    if (in->tail)
        in->tail->next = w;
    else
        in->head = w;
    in->tail = w;
    in_flush(in);
}

void io_in_write(struct io_in *in, struct ttrpc_call *call, const uint8_t *data, size_t len)
{
    in_enqueue(in, call, data, len, false);
}

void io_in_close_call(struct io_in *in, struct ttrpc_call *call)
{
    in_enqueue(in, call, NULL, 0, true);
}

void io_in_close(struct io_in *in)
{
    in_close_fd(in);
    if (!in->error)
        in->error = EPIPE;
    while (in->head)
        in_pop(in);
}
