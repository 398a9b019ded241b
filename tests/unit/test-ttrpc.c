/* ttRPC: frame codec, and a real server (tests/tools/ttrpc-testsvc.c on its own loop thread)
 * driven by the C client and by hand-written frames. TAP output. */
#include "tests/tap.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "health.pb-c.h"
#include "ttrpc-internal.h"
#include "ttrpc-testsvc.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

#define SEC 1000000000LL

static void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* ---------------------------------------------------------------- server thread */

struct ctl_msg {
    char op; /* 'q' quit, 'k' serve fd with TTRPC_CONN_KEEP_FD */
    int fd;
};

struct srv {
    pthread_t thread;
    int listen_fd;
    int ctl[2];
    char path[108];
    struct loop *loop; /* owned by the server thread */
    struct testsvc *svc;
};

static struct srv srv;

static void on_ctl(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct ctl_msg m;
    if (read(fd, &m, sizeof(m)) != sizeof(m))
        return;
    if (m.op == 'q')
        loop_quit(srv.loop);
    else if (m.op == 'k')
        testsvc_add_fd(srv.svc, m.fd, true);
}

static void *server_main(void *arg)
{
    struct loop *loop = srv.loop = loop_new();
    struct testsvc *t = srv.svc = testsvc_new(loop);
    testsvc_listen(t, srv.listen_fd);
    struct loop_source *ctl = loop_add_fd(loop, srv.ctl[0], EPOLLIN, on_ctl, NULL);
    loop_run(loop);
    loop_remove_fd(ctl);
    testsvc_free(t);
    loop_free(loop);
    return NULL;
}

static void server_start(void)
{
    snprintf(srv.path, sizeof(srv.path), "/tmp/test-ttrpc-%d.sock", getpid());
    unlink(srv.path);
    srv.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, srv.path);
    if (bind(srv.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(srv.listen_fd, 64) < 0)
        abort();
    if (pipe2(srv.ctl, O_CLOEXEC) < 0)
        abort();
    pthread_create(&srv.thread, NULL, server_main, NULL);
}

static void server_ctl(char op, int fd)
{
    struct ctl_msg m = {op, fd};
    if (write(srv.ctl[1], &m, sizeof(m)) != sizeof(m))
        abort();
}

static void server_stop(void)
{
    server_ctl('q', -1);
    pthread_join(srv.thread, NULL);
    close(srv.listen_fd);
    close(srv.ctl[0]);
    close(srv.ctl[1]);
    unlink(srv.path);
}

static int dial(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, srv.path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        abort();
    return fd;
}

/* ---------------------------------------------------------------- raw frames */

static void write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            abort();
        p += w;
        len -= (size_t)w;
    }
}

static void send_frame(int fd, uint32_t id, uint8_t type, const void *body, size_t len)
{
    uint8_t h[TTRPC_HEADER_LEN];
    ttrpc_header_encode(&(struct ttrpc_header){(uint32_t)len, id, type, 0}, h);
    write_all(fd, h, sizeof(h));
    if (len)
        write_all(fd, body, len);
}

/* A packed Request envelope (malloc'd) for Health.<method>(CheckRequest{service=cmd}). */
static uint8_t *request_body(const char *service, const char *method, const char *cmd,
                             int64_t timeout_ns, size_t *ret_len)
{
    Grpc__CheckRequest in = GRPC__CHECK_REQUEST__INIT;
    in.service = (char *)cmd;
    uint8_t payload[256];
    size_t plen = grpc__check_request__pack(&in, payload);
    Ttrpc__Request r = TTRPC__REQUEST__INIT;
    r.service = (char *)service;
    r.method = (char *)method;
    r.payload.data = payload;
    r.payload.len = plen;
    r.timeout_nano = timeout_ns;
    *ret_len = ttrpc__request__get_packed_size(&r);
    uint8_t *b = xmalloc(*ret_len);
    ttrpc__request__pack(&r, b);
    return b;
}

static void send_request(int fd, uint32_t id, const char *method, const char *cmd,
                         int64_t timeout_ns)
{
    size_t len;
    cleanup_free uint8_t *b = request_body("grpc.Health", method, cmd, timeout_ns, &len);
    send_frame(fd, id, TTRPC_REQUEST, b, len);
}

static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    while (n > 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -ETIMEDOUT;
        ssize_t r = read(fd, p, n);
        if (r == 0)
            return -ECONNRESET;
        if (r < 0)
            return -errno;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

struct frame {
    struct ttrpc_header h;
    uint8_t *body;
};

static int recv_frame(int fd, struct frame *f, int timeout_ms)
{
    uint8_t hb[TTRPC_HEADER_LEN];
    int r = read_full(fd, hb, sizeof(hb), timeout_ms);
    if (r < 0)
        return r;
    ttrpc_header_decode(hb, &f->h);
    if (f->h.length > TTRPC_MAX_DATA)
        return -EMSGSIZE;
    f->body = xmalloc(f->h.length + 1);
    r = read_full(fd, f->body, f->h.length, timeout_ms);
    if (r < 0) {
        free(f->body);
        f->body = NULL;
    }
    return r;
}

/* Reads one Response; returns its status code (0 when absent) or a negative errno. Fills
 * *ret_id and, for errors, *ret_msg (malloc'd). */
static int recv_status(int fd, uint32_t *ret_id, char **ret_msg)
{
    struct frame f;
    int r = recv_frame(fd, &f, 5000);
    if (r < 0)
        return r;
    *ret_id = f.h.stream_id;
    Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f.h.length, f.body);
    free(f.body);
    if (!resp || f.h.type != TTRPC_RESPONSE)
        return -EBADMSG;
    int code = resp->status ? resp->status->code : 0;
    if (ret_msg)
        *ret_msg = xstrdup(resp->status && resp->status->message ? resp->status->message : "");
    ttrpc__response__free_unpacked(resp, NULL);
    return code;
}

static bool expect_status(int fd, uint32_t id, int code, const char *msg, const char *what)
{
    uint32_t got_id = 0;
    cleanup_free char *got_msg = NULL;
    int got = recv_status(fd, &got_id, &got_msg);
    bool good = got == code && got_id == id && (!msg || strcmp(got_msg, msg) == 0);
    if (!good)
        diag("%s: got code %d id %u msg '%s'", what, got, got_id, got_msg ? got_msg : "");
    return tap_ok(good, "%s -> %s on stream %u%s%s", what, rpc_code_name(code), id, msg ? ": " : "",
                  msg ? msg : "");
}

/* ---------------------------------------------------------------- client helpers */

static int version(struct ttrpc_client *c, const char *cmd, char **ret, int64_t timeout,
                   struct kerr **err)
{
    Grpc__CheckRequest in = GRPC__CHECK_REQUEST__INIT;
    in.service = (char *)cmd;
    ProtobufCMessage *out = NULL;
    int r = ttrpc_client_call(c, "grpc.Health", "Version", &in.base,
                              &grpc__version_check_response__descriptor, &out, timeout, err);
    if (r == 0) {
        if (ret)
            *ret = xstrdup(((Grpc__VersionCheckResponse *)out)->grpc_version);
        protobuf_c_message_free_unpacked(out, NULL);
    }
    return r;
}

struct stats {
    int conns, parked, cancelled, closed, keepfd;
};

static struct stats stats_of(struct ttrpc_client *c)
{
    struct stats s = {-1, -1, -1, -1, -1};
    cleanup_free char *text = NULL;
    cleanup_error struct kerr *err = NULL;
    if (version(c, "stats", &text, 5 * SEC, &err) == 0)
        sscanf(text, "conns=%d parked=%d cancelled=%d closed=%d keepfd=%d", &s.conns, &s.parked,
               &s.cancelled, &s.closed, &s.keepfd);
    return s;
}

/* Polls the server's stats until pred holds (5 s at most). */
static struct stats wait_stats(struct ttrpc_client *c, bool (*pred)(const struct stats *, int),
                               int arg)
{
    struct stats s;
    for (int i = 0; i < 500; i++) {
        s = stats_of(c);
        if (pred(&s, arg))
            break;
        usleep(10000);
    }
    return s;
}

static bool conns_is(const struct stats *s, int n)
{
    return s->conns == n;
}
static bool parked_is(const struct stats *s, int n)
{
    return s->parked == n;
}

/* ---------------------------------------------------------------- tests */

static void test_codec(void)
{
    uint8_t b[TTRPC_HEADER_LEN];
    struct ttrpc_header h = {0x00123456, 0x89abcdef, TTRPC_RESPONSE, 0x05}, d;
    ttrpc_header_encode(&h, b);
    static const uint8_t want[] = {0x00, 0x12, 0x34, 0x56, 0x89, 0xab, 0xcd, 0xef, 0x02, 0x05};
    tap_ok(memcmp(b, want, sizeof(want)) == 0, "header encodes big-endian");
    ttrpc_header_decode(b, &d);
    tap_ok(d.length == h.length && d.stream_id == h.stream_id && d.type == h.type &&
               d.flags == h.flags,
           "header decode round-trips");
    tap_ok(strcmp(rpc_code_name(RPC_INVALID_ARGUMENT), "INVALID_ARGUMENT") == 0 &&
               strcmp(rpc_code_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED") == 0 &&
               strcmp(rpc_code_name(99), "UNKNOWN_CODE") == 0 &&
               strcmp(rpc_code_name(-1), "UNKNOWN_CODE") == 0,
           "rpc_code_name");

    uint8_t r[32];
    uint8_t *p = ttrpc_ok_response_prefix(r, 2);
    p[0] = 0x08;
    p[1] = 0x01;
    static const uint8_t want_ok[] = {0x0a, 0x00, 0x12, 0x02, 0x08, 0x01};
    tap_ok(ttrpc_ok_response_len(2) == 6 && memcmp(r, want_ok, 6) == 0,
           "success Response = empty OK status + payload");
    tap_ok(ttrpc_ok_response_len(0) == 2 && ttrpc_ok_response_prefix(r, 0) == r + 2 &&
               r[0] == 0x0a && r[1] == 0,
           "empty success Response is 0a 00");

    size_t len = ttrpc_error_response_len(RPC_NOT_FOUND, 4);
    cleanup_free uint8_t *e = xmalloc(len);
    ttrpc_error_response_encode(e, RPC_NOT_FOUND, "gone", 4);
    Ttrpc__Response *resp = ttrpc__response__unpack(NULL, len, e);
    tap_ok(resp && resp->status && resp->status->code == RPC_NOT_FOUND &&
               strcmp(resp->status->message, "gone") == 0 && resp->payload.len == 0,
           "error Response decodes with the generated code");
    if (resp)
        ttrpc__response__free_unpacked(resp, NULL);

    /* A 300-byte message needs a two-byte length varint in both layers. */
    char msg[300];
    memset(msg, 'm', sizeof(msg));
    len = ttrpc_error_response_len(RPC_INTERNAL, sizeof(msg));
    cleanup_free uint8_t *e2 = xmalloc(len);
    ttrpc_error_response_encode(e2, RPC_INTERNAL, msg, sizeof(msg));
    resp = ttrpc__response__unpack(NULL, len, e2);
    tap_ok(resp && resp->status && resp->status->code == RPC_INTERNAL &&
               strlen(resp->status->message) == sizeof(msg),
           "error Response with a long message");
    if (resp)
        ttrpc__response__free_unpacked(resp, NULL);
}

static void test_client_basics(struct ttrpc_client *c)
{
    Grpc__CheckRequest in = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    cleanup_error struct kerr *err = NULL;
    int r = ttrpc_client_call(c, "grpc.Health", "Check", &in.base,
                              &grpc__health_check_response__descriptor, &out, 5 * SEC, &err);
    tap_ok(r == 0 && out &&
               ((Grpc__HealthCheckResponse *)out)->status ==
                   GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
           "client: Health.Check -> SERVING");
    if (out)
        protobuf_c_message_free_unpacked(out, NULL);

    cleanup_free char *v = NULL;
    r = version(c, "", &v, 0, &err);
    tap_ok(r == 0 && v && strcmp(v, "0.0.1") == 0, "client: Health.Version -> 0.0.1");

    struct {
        const char *service, *method;
        int code;
        const char *msg;
    } cases[] = {
        {"grpc.Nope", "Check", RPC_INVALID_ARGUMENT, "grpc.Nope service does not exist"},
        {"grpc.Health", "Nope", RPC_UNIMPLEMENTED, "Nope method"},
        {"test.Partial", "Version", RPC_UNIMPLEMENTED, "/test.Partial/Version is not supported"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_error struct kerr *e = NULL;
        r = ttrpc_client_call(c, cases[i].service, cases[i].method, &in.base, NULL, NULL, 0, &e);
        tap_ok(r == -EPROTO && e && e->status == cases[i].code && strcmp(e->msg, cases[i].msg) == 0,
               "client: %s/%s -> %s \"%s\"", cases[i].service, cases[i].method,
               rpc_code_name(cases[i].code), cases[i].msg);
    }

    cleanup_error struct kerr *e1 = NULL;
    r = version(c, "error:5:no such thing", NULL, 0, &e1);
    tap_ok(r == -EPROTO && e1 && e1->status == RPC_NOT_FOUND &&
               strcmp(e1->msg, "no such thing") == 0,
           "client: handler status error comes back as -EPROTO with code and message");

    cleanup_error struct kerr *e2 = NULL;
    r = version(c, "kerr", NULL, 0, &e2);
    tap_ok(r == -EPROTO && e2 && e2->status == RPC_NOT_FOUND &&
               strcmp(e2->msg, "open /nonexistent: No such file or directory") == 0,
           "ttrpc_reply_kerr: ENOENT -> NOT_FOUND with the error text");

    cleanup_error struct kerr *e3 = NULL;
    r = version(c, "error:0:not ok", NULL, 0, &e3);
    tap_ok(r == -EPROTO && e3 && e3->status == RPC_UNKNOWN,
           "ttrpc_reply_error with code OK is sent as UNKNOWN, never as success");

    cleanup_error struct kerr *e4 = NULL;
    r = version(c, "wrongtype", NULL, 0, &e4);
    tap_ok(r == -EPROTO && e4 && e4->status == RPC_INTERNAL,
           "reply of the wrong message type -> INTERNAL");

    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    cleanup_error struct kerr *e5 = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    r = ttrpc_client_call_raw(c, "grpc.Health", "Check", garbage, sizeof(garbage), &raw, &raw_len,
                              0, &e5);
    tap_ok(r == -EPROTO && e5 && e5->status == RPC_INVALID_ARGUMENT,
           "payload that is not a CheckRequest -> INVALID_ARGUMENT (%s)", e5 ? e5->msg : "");
    free(raw);

    raw = NULL;
    r = ttrpc_client_call_raw(c, "grpc.Health", "Check", NULL, 0, &raw, &raw_len, 0, NULL);
    tap_ok(r == 0 && raw_len == 2 && raw[0] == 0x08 && raw[1] == 0x01,
           "raw call: empty CheckRequest -> payload 08 01");
    free(raw);
}

static void test_big_requests(struct ttrpc_client *c)
{
    /* Envelope: 0a 0b "grpc.Health" 12 07 "Version" 1a <4-byte varint> CheckRequest{0a
     * <4-byte varint> N} 20 <timeout varint>: a 3 MiB body crosses many reads. */
    size_t n = 3u << 20;
    cleanup_free char *cmd = xmalloc(n + 1);
    memset(cmd, 'q', n);
    cmd[n] = 0;
    cleanup_free char *v = NULL;
    cleanup_error struct kerr *err = NULL;
    int r = version(c, cmd, &v, 10 * SEC, &err);
    tap_ok(r == 0 && v && strcmp(v, "0.0.1") == 0, "3 MiB request served");

    n = TTRPC_MAX_DATA;
    cleanup_free char *huge = xmalloc(n + 1);
    memset(huge, 'q', n);
    huge[n] = 0;
    cleanup_error struct kerr *e2 = NULL;
    r = version(c, huge, NULL, 10 * SEC, &e2);
    tap_ok(r == -EMSGSIZE, "request over 4 MiB refused by the client (-EMSGSIZE) (%s)",
           e2 ? e2->msg : "");
    cleanup_free char *v2 = NULL;
    tap_ok(version(c, "", &v2, 5 * SEC, NULL) == 0, "client still usable after that");
}

/* Random frames (bounded lengths, random types, ids, bodies): the server must neither crash
 * nor stop serving others. */
static void test_fuzz(struct ttrpc_client *c)
{
    struct stats before = stats_of(c);
    unsigned seed = 12345;
    int answered = 0;
    for (int round = 0; round < 20; round++) {
        int fd = dial();
        for (int i = 0; i < 50; i++) {
            uint8_t body[256];
            size_t len = (size_t)(rand_r(&seed) % sizeof(body));
            for (size_t j = 0; j < len; j++)
                body[j] = (uint8_t)rand_r(&seed);
            /* Half of them look like real envelopes with garbage inside. */
            if (len > 20 && rand_r(&seed) % 2) {
                size_t elen;
                cleanup_free uint8_t *env =
                    request_body(rand_r(&seed) % 2 ? "grpc.Health" : "x", "Version",
                                 (const char[]){'p', 'a', 'r', 'k', ':', 'z', 0},
                                 rand_r(&seed) % 3 ? 0 : 1000, &elen);
                memcpy(body, env, elen < len ? elen : len);
            }
            uint8_t type = (uint8_t)(rand_r(&seed) % 5);
            send_frame(fd, (uint32_t)rand_r(&seed) % 1000, type, body, len);
        }
        /* read whatever comes back for a moment, then vanish */
        struct frame f;
        while (recv_frame(fd, &f, 20) == 0) {
            answered++;
            free(f.body);
        }
        close(fd);
    }
    struct stats s = wait_stats(c, conns_is, before.conns);
    tap_ok(s.conns == before.conns,
           "1000 random frames on 20 connections: server alive, %d replies, "
           "all connections cleaned up",
           answered);
    cleanup_free char *v = NULL;
    tap_ok(version(c, "release", &v, 5 * SEC, NULL) == 0 && s.parked == 0,
           "no call left parked after the fuzzing peers vanished");
}

static void test_big_replies(struct ttrpc_client *c)
{
    /* Response = 0a 00 12 <4-byte varint> VersionCheckResponse{0a <4-byte varint> N bytes,
     * 12 0a "ttrpc-test"}: N + 24 bytes in all. */
    size_t n = TTRPC_MAX_DATA - 24;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "big:%zu", n);
    cleanup_free char *v = NULL;
    cleanup_error struct kerr *err = NULL;
    int r = version(c, cmd, &v, 10 * SEC, &err);
    tap_ok(r == 0 && v && strlen(v) == n, "reply of exactly %u bytes goes through", TTRPC_MAX_DATA);

    snprintf(cmd, sizeof(cmd), "big:%zu", n + 1);
    cleanup_error struct kerr *e2 = NULL;
    r = version(c, cmd, NULL, 10 * SEC, &e2);
    tap_ok(r == -EPROTO && e2 && e2->status == RPC_RESOURCE_EXHAUSTED,
           "reply one byte over the limit -> RESOURCE_EXHAUSTED (%s)", e2 ? e2->msg : "");
    cleanup_free char *v2 = NULL;
    tap_ok(version(c, "", &v2, 5 * SEC, NULL) == 0, "connection still serves after that");
}

struct parked_arg {
    struct ttrpc_client *c;
    char tag[16];
    int r;
    char *got;
};

static void *park_thread(void *arg)
{
    struct parked_arg *a = arg;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "park:%s", a->tag);
    struct kerr *err = NULL;
    a->r = version(a->c, cmd, &a->got, 20 * SEC, &err);
    error_free(err);
    return NULL;
}

static void test_concurrency(struct ttrpc_client *c)
{
    enum { N = 24 };
    struct parked_arg args[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        args[i] = (struct parked_arg){.c = c};
        snprintf(args[i].tag, sizeof(args[i].tag), "t%d", i);
        pthread_create(&th[i], NULL, park_thread, &args[i]);
    }
    struct stats s = wait_stats(c, parked_is, N);
    if (!tap_ok(s.parked == N, "%d calls parked at once on one connection", N))
        diag("stats: conns=%d parked=%d cancelled=%d closed=%d", s.conns, s.parked, s.cancelled,
             s.closed);
    cleanup_free char *count = NULL;
    int r = version(c, "release", &count, 5 * SEC, NULL);
    tap_ok(r == 0 && count && atoi(count) == N, "release answers them (newest first)");
    int good = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        if (args[i].r == 0 && args[i].got && strcmp(args[i].got, args[i].tag) == 0)
            good++;
        free(args[i].got);
    }
    tap_ok(good == N, "each caller got its own reply (%d/%d) although they came out of order", good,
           N);
}

static void test_raw_protocol(void)
{
    int fd = dial();
    /* success: explicit empty OK status then the payload */
    send_request(fd, 1, "Check", "", 0);
    struct frame f = {0};
    int r = recv_frame(fd, &f, 5000);
    static const uint8_t want[] = {0x0a, 0x00, 0x12, 0x02, 0x08, 0x01};
    tap_ok(r == 0 && f.h.stream_id == 1 && f.h.type == TTRPC_RESPONSE && f.h.flags == 0 &&
               f.h.length == sizeof(want) && memcmp(f.body, want, sizeof(want)) == 0,
           "raw: Check reply is exactly 0a 00 12 02 08 01 on stream 1");
    free(f.body);

    send_request(fd, 4, "Check", "", 0);
    expect_status(fd, 4, RPC_INVALID_ARGUMENT, "stream id must be odd", "even stream id");

    send_request(fd, 1, "Check", "", 0);
    expect_status(fd, 1, RPC_INVALID_ARGUMENT, "stream id 1 cannot be re-used and must increment",
                  "reused stream id");

    static const uint8_t junk[] = {0x0a, 0x50, 'x'}; /* length runs past the end */
    send_frame(fd, 7, TTRPC_REQUEST, junk, sizeof(junk));
    expect_status(fd, 7, RPC_INVALID_ARGUMENT, "cannot decode the request envelope",
                  "garbage envelope");

    send_frame(fd, 9, TTRPC_DATA, "abc", 3);
    expect_status(fd, 9, RPC_INVALID_ARGUMENT, "Stream is no longer active", "Data frame");

    /* Unknown type: ignored; the next reply on the wire is for stream 13. */
    send_frame(fd, 11, 0x7f, "abc", 3);
    send_request(fd, 13, "Check", "", 0);
    expect_status(fd, 13, RPC_OK, NULL, "unknown frame type ignored, next request");

    /* oversize: header says 4 MiB + 1, body streamed in pieces */
    uint32_t big = TTRPC_MAX_DATA + 1;
    uint8_t h[TTRPC_HEADER_LEN];
    ttrpc_header_encode(&(struct ttrpc_header){big, 15, TTRPC_REQUEST, 0}, h);
    write_all(fd, h, sizeof(h));
    cleanup_free uint8_t *chunk = xcalloc(1, 1 << 20);
    for (uint32_t left = big; left > 0;) {
        uint32_t n = left < (1u << 20) ? left : (1u << 20);
        write_all(fd, chunk, n);
        left -= n;
    }
    char msg[128];
    snprintf(msg, sizeof(msg), "message length %u exceed maximum message size of %u", big,
             TTRPC_MAX_DATA);
    expect_status(fd, 15, RPC_INVALID_ARGUMENT, msg, "oversize frame (4 MiB + 1)");
    send_request(fd, 17, "Check", "", 0);
    expect_status(fd, 17, RPC_OK, NULL, "connection kept after the oversize frame");

    /* many frames in one write */
    enum { MANY = 64 };
    size_t total = 0, len;
    cleanup_free uint8_t *body = request_body("grpc.Health", "Check", "", 0, &len);
    cleanup_free uint8_t *batch = xmalloc(MANY * (TTRPC_HEADER_LEN + len));
    for (int i = 0; i < MANY; i++) {
        ttrpc_header_encode(&(struct ttrpc_header){(uint32_t)len, 19 + 2 * i, TTRPC_REQUEST, 0},
                            batch + total);
        memcpy(batch + total + TTRPC_HEADER_LEN, body, len);
        total += TTRPC_HEADER_LEN + len;
    }
    write_all(fd, batch, total);
    int in_order = 0;
    for (int i = 0; i < MANY; i++) {
        uint32_t id = 0;
        if (recv_status(fd, &id, NULL) == 0 && id == (uint32_t)(19 + 2 * i))
            in_order++;
    }
    tap_ok(in_order == MANY, "%d requests in one write: %d answered", MANY, in_order);

    /* one frame dribbled in pieces */
    uint32_t id = 19 + 2 * MANY;
    ttrpc_header_encode(&(struct ttrpc_header){(uint32_t)len, id, TTRPC_REQUEST, 0}, h);
    write_all(fd, h, 3);
    usleep(20000);
    write_all(fd, h + 3, 7);
    usleep(20000);
    write_all(fd, body, 1);
    usleep(20000);
    write_all(fd, body + 1, len - 1);
    expect_status(fd, id, RPC_OK, NULL, "frame split across four writes");

    /* timeout: a parked call with timeout_nano gets DEADLINE_EXCEEDED */
    id += 2;
    int64_t t0 = loop_now_ns();
    send_request(fd, id, "Version", "park:late", 100 * 1000000LL);
    expect_status(fd, id, RPC_DEADLINE_EXCEEDED, "timeout", "parked call with timeout_nano 100ms");
    int64_t took = loop_now_ns() - t0;
    tap_ok(took >= 90 * 1000000LL && took < 3 * SEC, "deadline honoured (%lld ms)",
           (long long)(took / 1000000));

    /* A huge timeout_nano must not overflow the timer arithmetic. */
    id += 2;
    send_request(fd, id, "Version", "park:forever", INT64_MAX);
    id += 2;
    send_request(fd, id, "Version", "release", 0);
    uint32_t a = 0, b = 0;
    int ra = recv_status(fd, &a, NULL), rb = recv_status(fd, &b, NULL);
    tap_ok(ra == 0 && rb == 0 && a == id - 2 && b == id,
           "timeout_nano INT64_MAX parks, release answers");
    close(fd);
}

static void test_vanishing_client(struct ttrpc_client *c)
{
    struct stats before = stats_of(c);
    int fd = dial();
    send_request(fd, 1, "Version", "park:a", 0);
    send_request(fd, 3, "Version", "park:b", 0);
    send_request(fd, 5, "Version", "park:c", 0);
    struct stats s = wait_stats(c, parked_is, 3);
    tap_ok(s.parked == 3 && s.conns == before.conns + 1,
           "three calls parked on a second connection");
    /* half a frame, then gone */
    uint8_t h[TTRPC_HEADER_LEN];
    ttrpc_header_encode(&(struct ttrpc_header){100, 7, TTRPC_REQUEST, 0}, h);
    write_all(fd, h, sizeof(h));
    write_all(fd, "partial", 7);
    close(fd);
    s = wait_stats(c, conns_is, before.conns);
    tap_ok(s.conns == before.conns && s.parked == 0 && s.cancelled == before.cancelled + 3 &&
               s.closed == before.closed + 1,
           "client vanished mid-frame: connection closed, 3 parked calls cancelled (on_cancel), "
           "on_closed ran");
}

static void test_slow_reader(struct ttrpc_client *c)
{
    struct stats before = stats_of(c);
    int fd = dial();
    /* 20 replies of ~4 MB each, never read: more than the 64 MiB output bound */
    for (int i = 0; i < 20; i++)
        send_request(fd, 1 + 2 * i, "Version", "big:4000000", 0);
    struct stats s = wait_stats(c, conns_is, before.conns);
    tap_ok(s.conns == before.conns,
           "peer that never reads is dropped once its queue passes 64 MiB");
    cleanup_free char *v = NULL;
    tap_ok(version(c, "", &v, 5 * SEC, NULL) == 0, "other connections unaffected");
    /* drain what the kernel buffered, then EOF */
    uint8_t buf[65536];
    ssize_t n;
    size_t got = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        got += (size_t)n;
    /* ECONNRESET when the server closed with our requests still unread in its queue */
    tap_ok(n == 0 || errno == ECONNRESET, "the dropped peer reads EOF after %zu buffered bytes",
           got);
    close(fd);
}

static void test_server_close(void)
{
    int fd = dial();
    struct ttrpc_client *c = ttrpc_client_new(fd);
    struct parked_arg a = {.c = c, .tag = "x"};
    pthread_t th;
    pthread_create(&th, NULL, park_thread, &a);
    /* make sure the park request went out before the close */
    struct ttrpc_client *probe = ttrpc_client_new(dial());
    wait_stats(probe, parked_is, 1);
    cleanup_error struct kerr *err = NULL;
    int r = version(c, "close", NULL, 5 * SEC, &err);
    tap_ok(r == -ECONNRESET, "handler closing its own connection: caller sees -ECONNRESET (%d)", r);
    pthread_join(th, NULL);
    tap_ok(a.r == -ECONNRESET, "a call pending on the dead connection fails with -ECONNRESET (%d)",
           a.r);
    free(a.got);
    cleanup_error struct kerr *e2 = NULL;
    r = version(c, "", NULL, 5 * SEC, &e2);
    tap_ok(r == -ECONNRESET, "later calls on a dead client fail fast with -ECONNRESET");
    ttrpc_client_free(c);
    struct stats s = stats_of(probe);
    tap_ok(s.parked == 0, "server cancelled the parked call of the closed connection");
    ttrpc_client_free(probe);
}

static void test_keep_fd(struct ttrpc_client *c)
{
    struct stats before = stats_of(c);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    server_ctl('k', sv[1]);
    struct ttrpc_client *k = ttrpc_client_new(sv[0]);
    cleanup_free char *v = NULL;
    tap_ok(version(k, "", &v, 5 * SEC, NULL) == 0, "TTRPC_CONN_KEEP_FD connection serves");
    ttrpc_client_free(k);
    struct stats s = wait_stats(c, conns_is, before.conns);
    tap_ok(s.keepfd == before.keepfd + 1, "TTRPC_CONN_KEEP_FD: fd still open in on_closed");
}

/* ---------------------------------------------------------------- drain before exit */

static void quit_loop(struct loop_timer *t, void *data)
{
    loop_quit(data);
}

struct sink {
    int fd;
    size_t want, got;
};

static void *sink_main(void *arg)
{
    struct sink *k = arg;
    struct frame f = {0};
    if (recv_frame(k->fd, &f, 10000) == 0)
        k->got = TTRPC_HEADER_LEN + f.h.length;
    free(f.body);
    return NULL;
}

/* A reply far bigger than the socket buffer, queued when the loop stops: the agent's
 * DestroySandbox case. drain() must push it all out; with a reader that never comes it gives
 * up at the deadline. */
static void test_drain(void)
{
    struct loop *loop = loop_new();
    struct testsvc *t = testsvc_new(loop);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    testsvc_add_fd(t, sv[1], false);
    size_t n = 3 << 20;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "big:%zu", n);
    send_request(sv[0], 1, "Version", cmd, 0);
    loop_add_timer(loop, 300 * 1000000LL, quit_loop, loop);
    loop_run(loop);
    struct sink k = {.fd = sv[0]};
    pthread_t th;
    pthread_create(&th, NULL, sink_main, &k);
    bool drained = ttrpc_server_drain(testsvc_server(t), 10000);
    pthread_join(th, NULL);
    tap_ok(drained && k.got > n, "drain: a %zu-byte reply queued at loop exit arrives whole", n);

    int sv2[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2);
    testsvc_add_fd(t, sv2[1], false);
    send_request(sv2[0], 1, "Version", cmd, 0);
    loop_add_timer(loop, 300 * 1000000LL, quit_loop, loop);
    loop_run(loop);
    int64_t t0 = loop_now_ns();
    drained = ttrpc_server_drain(testsvc_server(t), 200);
    int64_t took_ms = (loop_now_ns() - t0) / 1000000;
    tap_ok(!drained && took_ms >= 150 && took_ms < 2000,
           "drain: a peer that never reads -> false after the deadline (%lld ms)",
           (long long)took_ms);
    testsvc_free(t);
    loop_free(loop);
    close(sv[0]);
    close(sv2[0]);
}

static void run_loop_ms(struct loop *loop, int ms)
{
    loop_add_timer(loop, ms * 1000000LL, quit_loop, loop);
    loop_run(loop);
}

static bool nothing_to_read(int fd)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, 50) == 0;
}

static void test_hold(void)
{
    struct loop *loop = loop_new();
    struct testsvc *t = testsvc_new(loop);
    struct ttrpc_server *s = testsvc_server(t);
    int sv[2], gone[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gone);
    testsvc_add_fd(t, sv[1], false);
    testsvc_add_fd(t, gone[1], false);

    tap_ok(ttrpc_server_hold(s, "no.such.Service") == -ENOENT, "hold: unknown service -> ENOENT");
    tap_ok(ttrpc_server_hold(s, "grpc.Health") == 0, "hold: grpc.Health held");
    send_request(sv[0], 1, "Version", "", 0);
    send_request(sv[0], 3, "Version", "error:5:third", 0);
    send_request(gone[0], 1, "Version", "", 0);
    size_t len;
    cleanup_free uint8_t *other = request_body("test.Partial", "Check", "", 0, &len);
    send_frame(sv[0], 5, TTRPC_REQUEST, other, len);
    send_request(sv[0], 7, "Version", "", 50 * 1000000LL);
    run_loop_ms(loop, 150);
    /* Another service is served while grpc.Health waits; a held call's deadline still runs. */
    expect_status(sv[0], 5, RPC_UNIMPLEMENTED, NULL, "hold: a call to another service");
    expect_status(sv[0], 7, RPC_DEADLINE_EXCEEDED, "timeout",
                  "hold: a held call past its deadline");
    tap_ok(nothing_to_read(sv[0]), "hold: held calls get no answer yet");
    close(gone[0]); /* its held call must be dropped with the connection */
    run_loop_ms(loop, 50);

    ttrpc_server_release(s, "grpc.Health");
    run_loop_ms(loop, 50);
    expect_status(sv[0], 1, RPC_OK, NULL, "release: the first held call");
    expect_status(sv[0], 3, RPC_NOT_FOUND, "third", "release: the next held call, in order");
    tap_ok(nothing_to_read(sv[0]),
           "release: nothing else (the timed-out call stays answered once)");
    send_request(sv[0], 9, "Version", "", 0);
    run_loop_ms(loop, 50);
    expect_status(sv[0], 9, RPC_OK, NULL, "release: later calls are served at once");
    ttrpc_server_release(s, "grpc.Health"); /* not held: nothing happens */

    testsvc_free(t);
    loop_free(loop);
    close(sv[0]);
}

/* ---------------------------------------------------------------- client vs a scripted peer */

static void *free_later(void *arg)
{
    usleep(100000);
    ttrpc_client_free(arg);
    return NULL;
}

static void test_client_edge_cases(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    struct ttrpc_client *c = ttrpc_client_new(sv[0]);
    int peer = sv[1];

    /* local timeout, then a late reply for that stream id is dropped */
    cleanup_error struct kerr *err = NULL;
    int64_t t0 = loop_now_ns();
    int r = version(c, "", NULL, 100 * 1000000LL, &err);
    int64_t took = loop_now_ns() - t0;
    tap_ok(r == -ETIMEDOUT && took >= 90 * 1000000LL && took < 2 * SEC,
           "client: local timeout -> -ETIMEDOUT after %lld ms", (long long)(took / 1000000));
    struct frame f = {0};
    r = recv_frame(peer, &f, 5000);
    Ttrpc__Request *req = r == 0 ? ttrpc__request__unpack(NULL, f.h.length, f.body) : NULL;
    tap_ok(req && f.h.stream_id == 1 && req->timeout_nano == 100 * 1000000LL &&
               strcmp(req->service, "grpc.Health") == 0 && strcmp(req->method, "Version") == 0,
           "client: request on stream 1 carries service, method and timeout_nano");
    if (req)
        ttrpc__request__free_unpacked(req, NULL);
    free(f.body);
    /* late reply to stream 1 */
    static const uint8_t late[] = {0x12, 0x03, 0x0a, 0x01, 'L'};
    send_frame(peer, 1, TTRPC_RESPONSE, late, sizeof(late));

    /* Go-style success (no status field) for the next call on stream 3 */
    struct parked_arg a = {.c = c, .tag = "g"};
    pthread_t th;
    pthread_create(&th, NULL, park_thread, &a);
    r = recv_frame(peer, &f, 5000);
    tap_ok(r == 0 && f.h.stream_id == 3, "client: next call uses stream 3");
    free(f.body);
    static const uint8_t go_ok[] = {0x12, 0x03, 0x0a, 0x01, 'G'};
    send_frame(peer, 3, TTRPC_RESPONSE, go_ok, sizeof(go_ok));
    pthread_join(th, NULL);
    tap_ok(a.r == 0 && a.got && strcmp(a.got, "G") == 0,
           "client: late reply dropped; a Response without status is success");
    free(a.got);

    /* oversize reply: streamed away, that call fails, connection kept */
    a = (struct parked_arg){.c = c, .tag = "o"};
    pthread_create(&th, NULL, park_thread, &a);
    r = recv_frame(peer, &f, 5000);
    free(f.body);
    uint8_t h[TTRPC_HEADER_LEN];
    uint32_t big = TTRPC_MAX_DATA + 1;
    ttrpc_header_encode(&(struct ttrpc_header){big, 5, TTRPC_RESPONSE, 0}, h);
    write_all(peer, h, sizeof(h));
    cleanup_free uint8_t *chunk = xcalloc(1, 1 << 20);
    for (uint32_t left = big; left > 0;) {
        uint32_t n = left < (1u << 20) ? left : (1u << 20);
        write_all(peer, chunk, n);
        left -= n;
    }
    pthread_join(th, NULL);
    tap_ok(a.r == -EMSGSIZE, "client: oversize reply -> -EMSGSIZE (%d)", a.r);
    free(a.got);
    a = (struct parked_arg){.c = c, .tag = "k"};
    pthread_create(&th, NULL, park_thread, &a);
    r = recv_frame(peer, &f, 5000);
    uint32_t id = f.h.stream_id;
    free(f.body);
    send_frame(peer, id, TTRPC_RESPONSE, go_ok, sizeof(go_ok));
    pthread_join(th, NULL);
    tap_ok(a.r == 0 && id == 7, "client: connection kept after the oversize reply");
    free(a.got);

    /* ttrpc_client_free while a call waits: the call fails with -ECONNRESET */
    a = (struct parked_arg){.c = c, .tag = "f"};
    pthread_create(&th, NULL, park_thread, &a);
    recv_frame(peer, &f, 5000);
    free(f.body);
    pthread_t fr;
    pthread_create(&fr, NULL, free_later, c);
    pthread_join(th, NULL);
    pthread_join(fr, NULL);
    tap_ok(a.r == -ECONNRESET, "client: ttrpc_client_free fails a waiting call with -ECONNRESET");
    free(a.got);
    close(peer);

    /* a peer that never reads: a 3 MiB request cannot be written within the deadline */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    c = ttrpc_client_new(sv[0]);
    size_t blen = 3u << 20;
    cleanup_free uint8_t *blob = xcalloc(1, blen);
    cleanup_error struct kerr *we = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    t0 = loop_now_ns();
    r = ttrpc_client_call_raw(c, "grpc.Health", "Check", blob, blen, &out, &out_len,
                              200 * 1000000LL, &we);
    took = loop_now_ns() - t0;
    tap_ok(r == -ETIMEDOUT && took < 2 * SEC,
           "client: write to a peer that never reads ends at the deadline (%lld ms)",
           (long long)(took / 1000000));
    cleanup_error struct kerr *we2 = NULL;
    r = version(c, "", NULL, 1 * SEC, &we2);
    tap_ok(r == -ECONNRESET, "client: connection with a half-written frame is dropped (%d)", r);
    ttrpc_client_free(c);
    close(sv[1]);

    /* peer hangs up while a call waits */
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    c = ttrpc_client_new(sv[0]);
    a = (struct parked_arg){.c = c, .tag = "h"};
    pthread_create(&th, NULL, park_thread, &a);
    recv_frame(sv[1], &f, 5000);
    free(f.body);
    close(sv[1]);
    pthread_join(th, NULL);
    tap_ok(a.r == -ECONNRESET, "client: peer hang-up fails the waiting call with -ECONNRESET");
    free(a.got);
    ttrpc_client_free(c);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_codec();
    server_start();
    struct ttrpc_client *c = ttrpc_client_new(dial());
    test_client_basics(c);
    test_big_requests(c);
    test_big_replies(c);
    test_concurrency(c);
    test_raw_protocol();
    test_vanishing_client(c);
    test_slow_reader(c);
    test_server_close();
    test_keep_fd(c);
    test_fuzz(c);
    ttrpc_client_free(c);
    server_stop();
    test_drain();
    test_hold();
    test_client_edge_cases();
    return tap_done();
}
