/* ttRPC server core: connections on the event loop, frame reassembly, envelope routing, parked
 * calls, timeouts and a bounded output queue per connection.
 *
 * Re-entrancy rules that keep the owners of parked calls safe:
 *  - ttrpc_reply* never runs on_cancel or on_closed; a write failure only schedules the close.
 *  - While a connection is dispatching (inside a handler) it is never freed; a close asked for
 *    meanwhile happens when the dispatch returns.
 *  - A call is freed right after its reply or its on_cancel, never while its handler runs.
 *  - A held call (ttrpc_server_hold) has not met its handler yet: it can only time out or be
 *    cancelled with its connection until the release dispatches it like a fresh request. */
#include "ttrpc.h"
#include "ttrpc-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

#define READ_CHUNK (32u << 10)
/* Bodies still missing this much are read straight into their buffer, not via the chunk. */
#define DIRECT_READ_MIN 4096u
/* A peer that stops reading its replies is dropped once this much output is waiting. */
#define MAX_QUEUED (64u << 20)
#define MAX_IOV 16

struct service {
    struct service *next;
    const ProtobufCServiceDescriptor *desc;
    ttrpc_method_fn *handlers;
    void *userdata;
    bool held; /* its calls wait for ttrpc_server_release */
};

enum call_state {
    CALL_RUNNING, /* its handler is on the stack */
    CALL_REPLIED, /* answered while its handler was on the stack; freed when it returns */
    CALL_PARKED,
    CALL_ENDED, /* cancelled; on_cancel is running */
    CALL_HELD,  /* queued on the server until its service is released */
};

struct call {
    struct ttrpc_call pub;              /* first: handlers get &pub */
    struct call *prev, *next;           /* the connection's calls */
    struct call *held_prev, *held_next; /* the server's held calls, oldest first */
    const ProtobufCMethodDescriptor *method;
    struct loop_timer *timer;
    enum call_state state;
};

struct outbuf {
    struct outbuf *next;
    size_t len, off;
    uint8_t data[];
};

enum read_state { READ_HEADER, READ_BODY, READ_DISCARD };

struct ttrpc_conn {
    struct ttrpc_server *server;
    struct ttrpc_conn *prev, *next;
    int fd;
    unsigned flags;
    bool is_socket;
    struct loop_source *src;
    bool want_out;
    ttrpc_conn_closed_fn on_closed;
    void *closed_data;

    enum read_state rstate;
    uint8_t hdr_buf[TTRPC_HEADER_LEN];
    size_t hdr_have;
    struct ttrpc_header hdr;
    uint8_t *body;
    size_t body_have, body_cap;
    size_t discard_left;
    uint32_t last_stream_id;

    struct outbuf *out_head, *out_tail;
    size_t out_bytes;

    struct call *calls;
    unsigned busy; /* dispatch depth: the connection must outlive it */
    bool closing;  /* close wanted: done when not busy, or by close_timer */
    struct loop_timer *close_timer;
};

struct ttrpc_server {
    struct loop *loop;
    struct service *services;
    struct ttrpc_conn *conns;
    size_t n_conns;
    struct call *held_head, *held_tail;
    uint8_t *chunk; /* one read buffer for all connections: the loop is single-threaded */
};

/* ---------------------------------------------------------------- output */

static void conn_schedule_close(struct ttrpc_conn *c);

static void set_want_out(struct ttrpc_conn *c, bool on)
{
    if (c->want_out == on)
        return;
    c->want_out = on;
    if (loop_modify_fd(c->src, EPOLLIN | (on ? EPOLLOUT : 0)) < 0)
        conn_schedule_close(c);
}

static void conn_flush(struct ttrpc_conn *c)
{
    while (c->out_head && !c->closing) {
        struct iovec iov[MAX_IOV];
        int n = 0;
        for (struct outbuf *b = c->out_head; b && n < MAX_IOV; b = b->next, n++)
            iov[n] = (struct iovec){b->data + b->off, b->len - b->off};
        long w = ttrpc_writev(c->fd, c->is_socket, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                set_want_out(c, true);
            else
                conn_schedule_close(c);
            return;
        }
        size_t done = (size_t)w;
        c->out_bytes -= done;
        while (done > 0) {
            struct outbuf *b = c->out_head;
            size_t left = b->len - b->off;
            if (done < left) {
                b->off += done;
                break;
            }
            done -= left;
            c->out_head = b->next;
            free(b);
        }
        if (!c->out_head)
            c->out_tail = NULL;
    }
    if (!c->out_head)
        set_want_out(c, false);
}

bool ttrpc_server_drain(struct ttrpc_server *s, int timeout_ms)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct pollfd fds[64];
        nfds_t n = 0;
        for (struct ttrpc_conn *c = s->conns; c; c = c->next) {
            if (c->out_head && !c->closing)
                conn_flush(c);
            if (c->out_head && !c->closing && n < sizeof(fds) / sizeof(fds[0]))
                fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
        }
        if (n == 0)
            return true;
        int64_t left_ms = (deadline - loop_now_ns()) / 1000000;
        if (left_ms <= 0)
            return false;
        if (poll(fds, n, (int)left_ms) < 0 && errno != EINTR)
            return false;
    }
}

static struct outbuf *frame_new(uint32_t stream_id, size_t body_len)
{
    struct outbuf *b = xmalloc(sizeof(*b) + TTRPC_HEADER_LEN + body_len);
    b->next = NULL;
    b->off = 0;
    b->len = TTRPC_HEADER_LEN + body_len;
    struct ttrpc_header h = {
        .length = (uint32_t)body_len, .stream_id = stream_id, .type = TTRPC_RESPONSE};
    ttrpc_header_encode(&h, b->data);
    return b;
}

static bool conn_can_send(const struct ttrpc_conn *c)
{
    return !c->closing;
}

static void conn_queue(struct ttrpc_conn *c, struct outbuf *b)
{
    if (!conn_can_send(c)) {
        free(b);
        return;
    }
    if (c->out_bytes + b->len > MAX_QUEUED) {
        free(b);
        conn_schedule_close(c);
        return;
    }
    if (c->out_tail)
        c->out_tail->next = b;
    else
        c->out_head = b;
    c->out_tail = b;
    c->out_bytes += b->len;
    if (!c->want_out)
        conn_flush(c);
}

static void send_statusv(struct ttrpc_conn *c, uint32_t stream_id, int code, const char *fmt,
                         va_list ap)
{
    if (!conn_can_send(c))
        return;
    if (code <= RPC_OK || code > RPC_UNAUTHENTICATED)
        code = RPC_UNKNOWN; /* an error must never read as success */
    cleanup_free char *msg = xvasprintf(fmt, ap);
    size_t len = strnlen(msg, TTRPC_MAX_STATUS_MSG);
    struct outbuf *b = frame_new(stream_id, ttrpc_error_response_len(code, len));
    ttrpc_error_response_encode(b->data + TTRPC_HEADER_LEN, code, msg, len);
    conn_queue(c, b);
}

__attribute__((format(printf, 4, 5))) static void
send_status(struct ttrpc_conn *c, uint32_t stream_id, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_statusv(c, stream_id, code, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- calls */

static void call_unlink(struct call *k)
{
    struct ttrpc_conn *c = k->pub.conn;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

static void call_free(struct call *k)
{
    loop_cancel_timer(k->timer);
    if (k->pub.request)
        protobuf_c_message_free_unpacked(k->pub.request, NULL);
    free(k);
}

static void held_unlink(struct call *k)
{
    struct ttrpc_server *s = k->pub.conn->server;
    if (k->held_prev)
        k->held_prev->held_next = k->held_next;
    else
        s->held_head = k->held_next;
    if (k->held_next)
        k->held_next->held_prev = k->held_prev;
    else
        s->held_tail = k->held_prev;
    k->held_prev = k->held_next = NULL;
}

static void held_append(struct call *k)
{
    struct ttrpc_server *s = k->pub.conn->server;
    k->held_prev = s->held_tail;
    if (s->held_tail)
        s->held_tail->held_next = k;
    else
        s->held_head = k;
    s->held_tail = k;
}

/* Ends a call that gets no reply from its handler any more. */
static void call_cancel(struct call *k)
{
    if (k->state == CALL_HELD)
        held_unlink(k);
    call_unlink(k);
    loop_cancel_timer(k->timer);
    k->timer = NULL;
    k->state = CALL_ENDED;
    if (k->pub.on_cancel)
        k->pub.on_cancel(&k->pub, k->pub.cancel_data);
    call_free(k);
}

static void call_timeout(struct loop_timer *t, void *data)
{
    struct call *k = data;
    k->timer = NULL; /* the loop frees it */
    send_status(k->pub.conn, k->pub.stream_id, RPC_DEADLINE_EXCEEDED, "timeout");
    call_cancel(k);
}

/* After a reply: free now, or let the dispatcher do it once the handler returns. */
static void call_done(struct call *k)
{
    if (k->state == CALL_RUNNING) {
        k->state = CALL_REPLIED;
        return;
    }
    call_unlink(k);
    call_free(k);
}

static bool call_answerable(const struct call *k)
{
    /* A reply from inside on_cancel (ENDED) or a second reply is ignored. */
    return k->state == CALL_RUNNING || k->state == CALL_PARKED;
}

void ttrpc_reply(struct ttrpc_call *call, const ProtobufCMessage *msg)
{
    struct call *k = (struct call *)call;
    if (!call_answerable(k))
        return;
    struct ttrpc_conn *c = call->conn;
    const ProtobufCMessageDescriptor *out = k->method->output;
    if (!conn_can_send(c)) {
        /* nobody to tell */
    } else if (msg && msg->descriptor != out) {
        send_status(c, call->stream_id, RPC_INTERNAL, "reply to %s is a %s, not a %s", call->method,
                    msg->descriptor->name, out->name);
    } else {
        size_t plen = msg ? protobuf_c_message_get_packed_size(msg) : 0;
        size_t rlen = ttrpc_ok_response_len(plen);
        if (rlen > TTRPC_MAX_DATA) {
            send_status(c, call->stream_id, RPC_RESOURCE_EXHAUSTED,
                        "response message length %zu exceeds maximum message size of %u", rlen,
                        TTRPC_MAX_DATA);
        } else {
            struct outbuf *b = frame_new(call->stream_id, rlen);
            uint8_t *p = ttrpc_ok_response_prefix(b->data + TTRPC_HEADER_LEN, plen);
            if (plen > 0 && protobuf_c_message_pack(msg, p) != plen) {
                free(b); /* the encoder disagrees with its own size: never send a torn frame */
                send_status(c, call->stream_id, RPC_INTERNAL, "cannot encode the %s reply",
                            call->method);
            } else {
                conn_queue(c, b);
            }
        }
    }
    call_done(k);
}

void ttrpc_reply_error(struct ttrpc_call *call, int code, const char *fmt, ...)
{
    struct call *k = (struct call *)call;
    if (!call_answerable(k))
        return;
    va_list ap;
    va_start(ap, fmt);
    send_statusv(call->conn, call->stream_id, code, fmt, ap);
    va_end(ap);
    call_done(k);
}

void ttrpc_reply_kerr(struct ttrpc_call *call, const struct kerr *err)
{
    int code = err ? error_status(err) : RPC_INTERNAL;
    const char *msg = err && err->msg ? err->msg : "internal error";
    ttrpc_reply_error(call, code, "%s", msg);
}

/* ---------------------------------------------------------------- routing */

static struct service *find_service(const struct ttrpc_server *s, const char *name)
{
    for (struct service *svc = s->services; svc; svc = svc->next)
        if (strcmp(svc->desc->name, name) == 0)
            return svc;
    return NULL;
}

static int find_method(const ProtobufCServiceDescriptor *d, const char *name)
{
    for (unsigned i = 0; i < d->n_methods; i++)
        if (strcmp(d->methods[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void request_freep(Ttrpc__Request **r)
{
    if (*r)
        ttrpc__request__free_unpacked(*r, NULL);
}

/* The client's deadline for a call that waits (parked or held); counted from the first wait. */
static void call_arm_deadline(struct call *k)
{
    if (k->pub.timeout_nano > 0 && !k->timer)
        k->timer = loop_add_timer(k->pub.conn->server->loop, k->pub.timeout_nano, call_timeout, k);
}

/* Hands a call to its handler; one that is not answered on the spot stays parked. */
static void call_run(struct call *k, ttrpc_method_fn handler, void *userdata)
{
    k->state = CALL_RUNNING;
    handler(&k->pub, userdata);
    if (k->state == CALL_REPLIED) {
        call_unlink(k);
        call_free(k);
        return;
    }
    k->state = CALL_PARKED;
    call_arm_deadline(k);
}

/* A method registered without a handler (ttrpc-rust's wording). */
#define UNSUPPORTED_FMT "/%s/%s is not supported"

static void reply_unsupported(struct ttrpc_call *call, void *userdata)
{
    ttrpc_reply_error(call, RPC_UNIMPLEMENTED, UNSUPPORTED_FMT, call->service, call->method);
}

static void handle_request(struct ttrpc_conn *c, uint32_t id, const uint8_t *data, size_t len)
{
    __attribute__((cleanup(request_freep))) Ttrpc__Request *req =
        ttrpc__request__unpack(NULL, len, data);
    if (!req) {
        send_status(c, id, RPC_INVALID_ARGUMENT, "cannot decode the request envelope");
        return;
    }
    const struct service *svc = find_service(c->server, req->service);
    if (!svc) {
        send_status(c, id, RPC_INVALID_ARGUMENT, "%s service does not exist", req->service);
        return;
    }
    int i = find_method(svc->desc, req->method);
    if (i < 0) {
        send_status(c, id, RPC_UNIMPLEMENTED, "%s method", req->method);
        return;
    }
    const ProtobufCMethodDescriptor *md = &svc->desc->methods[i];
    if (!svc->handlers[i]) {
        send_status(c, id, RPC_UNIMPLEMENTED, UNSUPPORTED_FMT, svc->desc->name, md->name);
        return;
    }
    ProtobufCMessage *in =
        protobuf_c_message_unpack(md->input, NULL, req->payload.len, req->payload.data);
    if (!in) {
        send_status(c, id, RPC_INVALID_ARGUMENT, "cannot decode the %s payload as %s", md->name,
                    md->input->name);
        return;
    }

    struct call *k = xcalloc(1, sizeof(*k));
    k->pub.conn = c;
    k->pub.stream_id = id;
    k->pub.service = svc->desc->name;
    k->pub.method = md->name;
    k->pub.timeout_nano = req->timeout_nano;
    k->pub.request = in;
    k->method = md;
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    /* The envelope holds a copy of the payload: drop it before a call that may park for long. */
    ttrpc__request__free_unpacked(steal_ptr(req), NULL);
    if (svc->held) {
        call_arm_deadline(k);
        k->state = CALL_HELD;
        held_append(k);
        return;
    }
    call_run(k, svc->handlers[i], svc->userdata);
}

static bool stream_has_call(const struct ttrpc_conn *c, uint32_t id)
{
    for (const struct call *k = c->calls; k; k = k->next)
        if (k->pub.stream_id == id)
            return true;
    return false;
}

static void dispatch_frame(struct ttrpc_conn *c, const uint8_t *data, size_t len)
{
    const struct ttrpc_header *h = &c->hdr;
    if (h->stream_id % 2 == 0) {
        send_status(c, h->stream_id, RPC_INVALID_ARGUMENT, "stream id must be odd");
        return;
    }
    if (h->type == TTRPC_DATA) {
        /* No method streams. Data for a live unary call is ignored rather than answered on
         * a stream id whose real reply is still to come. */
        if (!stream_has_call(c, h->stream_id))
            send_status(c, h->stream_id, RPC_INVALID_ARGUMENT, "Stream is no longer active");
        return;
    }
    if (h->type != TTRPC_REQUEST)
        return; /* unknown types are skipped for forward compatibility, like ttrpc-rust */
    if (h->stream_id <= c->last_stream_id) {
        send_status(c, h->stream_id, RPC_INVALID_ARGUMENT,
                    "stream id %u cannot be re-used and must increment", h->stream_id);
        return;
    }
    c->last_stream_id = h->stream_id;
    handle_request(c, h->stream_id, data, len);
}

/* ---------------------------------------------------------------- input */

static void body_complete(struct ttrpc_conn *c)
{
    cleanup_free uint8_t *body = steal_ptr(c->body);
    c->rstate = READ_HEADER;
    dispatch_frame(c, body, c->hdr.length);
}

static void header_complete(struct ttrpc_conn *c, const uint8_t **p, size_t *n)
{
    c->hdr_have = 0;
    ttrpc_header_decode(c->hdr_buf, &c->hdr);
    uint32_t len = c->hdr.length;
    if (len > TTRPC_MAX_DATA) {
        send_status(c, c->hdr.stream_id, RPC_INVALID_ARGUMENT,
                    "message length %u exceed maximum message size of %u", len, TTRPC_MAX_DATA);
        c->discard_left = len;
        c->rstate = READ_DISCARD;
        return;
    }
    if (*n >= len) {
        /* Whole body already in the chunk: dispatch from there without a copy. */
        const uint8_t *body = *p;
        *p += len;
        *n -= len;
        dispatch_frame(c, body, len);
        return;
    }
    c->body_have = 0;
    c->body_cap = 0;
    c->rstate = READ_BODY;
}

/* The body buffer grows with the bytes that arrive (at least doubling), never straight to the
 * length a header claims: a peer that sends only headers costs one chunk, not 4 MiB. */
static void body_reserve(struct ttrpc_conn *c, size_t more)
{
    size_t want = c->body_have + more;
    if (want <= c->body_cap)
        return;
    size_t cap = c->body_cap * 2 > want ? c->body_cap * 2 : want;
    if (cap < READ_CHUNK)
        cap = READ_CHUNK;
    if (cap > c->hdr.length)
        cap = c->hdr.length;
    c->body = xrealloc(c->body, cap);
    c->body_cap = cap;
}

static void conn_parse(struct ttrpc_conn *c, const uint8_t *p, size_t n)
{
    while (n > 0 && !c->closing) {
        size_t take;
        switch (c->rstate) {
        case READ_HEADER:
            take = TTRPC_HEADER_LEN - c->hdr_have;
            take = take < n ? take : n;
            memcpy(c->hdr_buf + c->hdr_have, p, take);
            c->hdr_have += take;
            p += take;
            n -= take;
            if (c->hdr_have == TTRPC_HEADER_LEN)
                header_complete(c, &p, &n);
            break;
        case READ_BODY:
            take = c->hdr.length - c->body_have;
            take = take < n ? take : n;
            body_reserve(c, take);
            memcpy(c->body + c->body_have, p, take);
            c->body_have += take;
            p += take;
            n -= take;
            if (c->body_have == c->hdr.length)
                body_complete(c);
            break;
        case READ_DISCARD:
            take = c->discard_left < n ? c->discard_left : n;
            c->discard_left -= take;
            p += take;
            n -= take;
            if (c->discard_left == 0)
                c->rstate = READ_HEADER;
            break;
        }
    }
}

static void conn_read(struct ttrpc_conn *c, uint32_t events)
{
    ssize_t n;
    size_t missing = c->rstate == READ_BODY ? c->hdr.length - c->body_have : 0;
    if (missing >= DIRECT_READ_MIN) {
        /* At most as much again as has arrived, so the buffer tracks what the peer sent. */
        size_t step = c->body_have > READ_CHUNK ? c->body_have : READ_CHUNK;
        step = step < missing ? step : missing;
        body_reserve(c, step);
        n = read(c->fd, c->body + c->body_have, step);
        if (n > 0) {
            c->body_have += (size_t)n;
            if (c->body_have == c->hdr.length)
                body_complete(c);
            return;
        }
    } else {
        n = read(c->fd, c->server->chunk, READ_CHUNK);
        if (n > 0) {
            conn_parse(c, c->server->chunk, (size_t)n);
            return;
        }
    }
    if (n == 0)
        c->closing = true; /* EOF; a truncated frame is simply dropped */
    else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
        c->closing = true;
    else if (events & (EPOLLHUP | EPOLLERR))
        c->closing = true; /* nothing to read but a hangup: never spin on it */
}

/* ---------------------------------------------------------------- connections */

static void conn_destroy(struct ttrpc_conn *c)
{
    struct ttrpc_server *s = c->server;
    c->closing = true;
    loop_remove_fd(c->src);
    loop_cancel_timer(c->close_timer);
    c->close_timer = NULL;
    if (!(c->flags & TTRPC_CONN_KEEP_FD))
        close(c->fd);
    while (c->out_head) {
        struct outbuf *b = c->out_head;
        c->out_head = b->next;
        free(b);
    }
    c->out_tail = NULL;
    free(steal_ptr(c->body));
    /* on_cancel may answer other calls of this connection: they are then freed quietly. */
    while (c->calls)
        call_cancel(c->calls);

    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    if (c->on_closed)
        c->on_closed(c, c->closed_data);
    free(c);
}

static void close_timer_fired(struct loop_timer *t, void *data)
{
    struct ttrpc_conn *c = data;
    c->close_timer = NULL;
    conn_destroy(c);
}

/* Closes soon, from a fresh loop iteration: callers may be deep inside an owner's code. */
static void conn_schedule_close(struct ttrpc_conn *c)
{
    c->closing = true;
    if (c->busy == 0 && !c->close_timer)
        c->close_timer = loop_add_timer(c->server->loop, 0, close_timer_fired, c);
}

static void conn_event(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct ttrpc_conn *c = data;
    if (c->closing) {
        conn_destroy(c);
        return;
    }
    c->busy++;
    if (events & EPOLLOUT)
        conn_flush(c);
    if (!c->closing && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        conn_read(c, events);
    c->busy--;
    if (c->closing)
        conn_destroy(c);
}

struct ttrpc_conn *ttrpc_server_add_conn(struct ttrpc_server *s, int fd, unsigned flags,
                                         ttrpc_conn_closed_fn on_closed, void *data)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return NULL;
    struct ttrpc_conn *c = xcalloc(1, sizeof(*c));
    c->server = s;
    c->fd = fd;
    c->flags = flags;
    c->is_socket = ttrpc_fd_is_socket(fd);
    c->on_closed = on_closed;
    c->closed_data = data;
    c->src = loop_add_fd(s->loop, fd, EPOLLIN, conn_event, c);
    if (!c->src) {
        free(c);
        return NULL;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    return c;
}

void ttrpc_conn_feed(struct ttrpc_conn *c, const uint8_t *p, size_t n)
{
    c->busy++;
    conn_parse(c, p, n);
    c->busy--;
    if (c->closing)
        conn_destroy(c);
}

void ttrpc_conn_close(struct ttrpc_conn *c)
{
    if (!c || c->closing)
        return;
    if (c->busy) {
        c->closing = true; /* conn_event finishes it when the handler returns */
        return;
    }
    conn_destroy(c);
}

size_t ttrpc_server_conn_count(const struct ttrpc_server *s)
{
    return s->n_conns;
}

/* ---------------------------------------------------------------- server */

struct ttrpc_server *ttrpc_server_new(struct loop *loop)
{
    struct ttrpc_server *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->chunk = xmalloc(READ_CHUNK);
    return s;
}

void ttrpc_server_register(struct ttrpc_server *s, const ProtobufCServiceDescriptor *svc,
                           const ttrpc_method_fn *handlers, void *userdata)
{
    struct service *e = xcalloc(1, sizeof(*e));
    e->desc = svc;
    e->handlers = xcalloc(svc->n_methods ? svc->n_methods : 1, sizeof(*e->handlers));
    memcpy(e->handlers, handlers, svc->n_methods * sizeof(*e->handlers));
    e->userdata = userdata;
    /* Newest first: registering a name again replaces the older entry, as in ttrpc-rust. */
    e->next = s->services;
    s->services = e;
}

int ttrpc_server_hold(struct ttrpc_server *s, const char *service)
{
    struct service *svc = find_service(s, service);
    if (!svc)
        return -ENOENT;
    svc->held = true;
    return 0;
}

void ttrpc_server_release(struct ttrpc_server *s, const char *service)
{
    struct service *svc = find_service(s, service);
    if (!svc || !svc->held)
        return;
    svc->held = false;
    /* Handlers may end connections (cancelling their held calls) or hold again: take the
     * calls one at a time from the head, and leave the rest queued if the service is held. */
    struct call *k = s->held_head;
    while (k && !svc->held) {
        struct call *next = k->held_next;
        if (strcmp(k->pub.service, service) != 0) {
            k = next;
            continue;
        }
        held_unlink(k);
        k->state = CALL_PARKED; /* off the queue: a cancel must not unlink it again */
        struct ttrpc_conn *c = k->pub.conn;
        if (c->closing) {
            call_cancel(k); /* nobody to answer: its connection is going away */
        } else {
            int i = find_method(svc->desc, k->pub.method);
            c->busy++;
            call_run(k, i >= 0 && svc->handlers[i] ? svc->handlers[i] : reply_unsupported,
                     svc->userdata);
            c->busy--;
            if (c->closing)
                conn_schedule_close(c);
        }
        /* The handler may have cancelled calls queued after this one: restart from the
         * head, which now holds only calls not yet looked at or of other services. */
        k = s->held_head;
    }
}

void ttrpc_server_free(struct ttrpc_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_destroy(s->conns);
    while (s->services) {
        struct service *e = s->services;
        s->services = e->next;
        free(e->handlers);
        free(e);
    }
    free(s->chunk);
    free(s);
}
