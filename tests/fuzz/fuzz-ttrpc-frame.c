/* The ttRPC server's frame reader and request routing (protocol/ttrpc/server.c) on an
 * arbitrary byte stream: the first input byte sets how the stream is cut into reads (1..255
 * bytes each, 0: one read), the rest is what the peer sent. The server serves the test
 * Health service (parking, errors, closing from a handler: tests/tools/ttrpc-testsvc.c) and
 * grpc.AgentService with a handler that answers every decoded request with an empty reply.
 * Everything the server writes back must be well-formed Response frames. */
#include "fuzz.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "cleanup.h"
#include "loop.h"
#include "ttrpc-internal.h"
#include "ttrpc-testsvc.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

static void reply_empty(struct ttrpc_call *call, void *data)
{
    FUZZ_CHECK(call->request != NULL, "handler without a decoded request");
    ttrpc_reply(call, NULL);
}

/* A fresh loop and server per input: the loop frees removed sources and cancelled timers
 * only when it runs or ends, and an input must leave nothing behind (libFuzzer's leak check). */
static struct testsvc *setup(struct loop *loop)
{
    struct testsvc *t = testsvc_new(loop);
    const ProtobufCServiceDescriptor *d = &grpc__agent_service__descriptor;
    ttrpc_method_fn *h = xcalloc(d->n_methods, sizeof(*h));
    for (unsigned i = 0; i < d->n_methods; i++)
        h[i] = reply_empty;
    ttrpc_server_register(testsvc_server(t), d, h, NULL);
    free(h);
    return t;
}

struct out {
    uint8_t *buf;
    size_t len, cap;
};

static void drain(int fd, struct out *o)
{
    static uint8_t chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (o->cap - o->len < (size_t)n) {
            o->cap = (o->len + (size_t)n) * 2;
            o->buf = xrealloc(o->buf, o->cap);
        }
        memcpy(o->buf + o->len, chunk, (size_t)n);
        o->len += (size_t)n;
    }
}

static void on_closed(struct ttrpc_conn *c, void *data)
{
    *(bool *)data = true;
}

/* Every reply is a Response frame that decodes (the last one may be cut: what a closing
 * connection had not written yet is dropped). */
static void check_replies(const struct out *o)
{
    size_t off = 0;
    while (o->len - off >= TTRPC_HEADER_LEN) {
        struct ttrpc_header h;
        ttrpc_header_decode(o->buf + off, &h);
        off += TTRPC_HEADER_LEN;
        FUZZ_CHECK(h.type == TTRPC_RESPONSE, "reply frame of type %u", h.type);
        FUZZ_CHECK(h.length <= TTRPC_MAX_DATA, "reply of %u bytes", h.length);
        if (h.length > o->len - off)
            return; /* the tail still queued when the connection closed is dropped */
        Ttrpc__Response *r = ttrpc__response__unpack(NULL, h.length, o->buf + off);
        FUZZ_CHECK(r != NULL, "undecodable Response on stream %u", h.stream_id);
        FUZZ_CHECK(!r->status || r->status->code != 0 || !r->status->message[0],
                   "OK status with a message");
        ttrpc__response__free_unpacked(r, NULL);
        off += h.length;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct loop *loop = loop_new();
    struct testsvc *t = setup(loop);
    struct ttrpc_server *server = testsvc_server(t);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    int big = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    bool closed = false;
    struct ttrpc_conn *c =
        ttrpc_server_add_conn(server, sv[0], TTRPC_CONN_KEEP_FD, on_closed, &closed);
    FUZZ_CHECK(c != NULL, "cannot add a connection");
    size_t step = data[0] ? data[0] : size;
    struct out o = {0};
    /* Replies are collected every few reads, not after each: a read() per fed byte made
     * syscalls most of this target's cost; the socket buffer holds far more than 64 reads'
     * replies. */
    unsigned feeds = 0;
    for (size_t off = 1; off < size && !closed; off += step) {
        size_t n = size - off < step ? size - off : step;
        ttrpc_conn_feed(c, data + off, n);
        if (++feeds % 64 == 0)
            drain(sv[1], &o);
    }
    if (!closed)
        ttrpc_conn_close(c);
    FUZZ_CHECK(closed, "connection not closed");
    drain(sv[1], &o);
    close(sv[0]);
    close(sv[1]);
    testsvc_free(t);
    loop_free(loop);
    check_replies(&o);
    free(o.buf);
    return 0;
}
