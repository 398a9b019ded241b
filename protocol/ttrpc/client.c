/* ttRPC client: blocking unary calls from any thread; one reader thread hands each Response to
 * the call waiting on its stream id. */
#include "ttrpc.h"
#include "ttrpc-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

struct pending {
    struct pending *next;
    uint32_t stream_id;
    bool done;
    int result;     /* 0, or a negative errno when no Response came */
    uint8_t *frame; /* the Response envelope */
    size_t len;
};

struct ttrpc_client {
    int fd;
    int wake[2];
    bool is_socket;
    pthread_t reader;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* broadcast on any change; waiters re-check their own state */
    pthread_mutex_t write_lock;
    uint32_t next_id;
    struct pending *pending;
    bool dead;
    unsigned users; /* threads inside a call; free waits for them to leave */
};

/* Reads exactly n bytes unless the connection ends or ttrpc_client_free() wakes us: the wake
 * pipe works for any fd type, where shutdown() only works on sockets. */
static int read_full(struct ttrpc_client *c, uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
                                {.fd = c->wake[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (pfd[1].revents)
            return -ECONNRESET;
        ssize_t r = read(c->fd, p, n);
        if (r == 0)
            return -ECONNRESET;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int discard(struct ttrpc_client *c, size_t n)
{
    uint8_t buf[4096];
    while (n > 0) {
        size_t take = n < sizeof(buf) ? n : sizeof(buf);
        int r = read_full(c, buf, take);
        if (r < 0)
            return r;
        n -= take;
    }
    return 0;
}

/* Caller holds the lock. */
static struct pending *pending_take(struct ttrpc_client *c, uint32_t id)
{
    for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->stream_id == id) {
            struct pending *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

static void complete(struct ttrpc_client *c, uint32_t id, int result, uint8_t *frame, size_t len)
{
    pthread_mutex_lock(&c->lock);
    struct pending *p = pending_take(c, id);
    if (p) {
        p->done = true;
        p->result = result;
        p->frame = frame;
        p->len = len;
        frame = NULL;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    free(frame); /* nobody waits for it (timed out locally): drop */
}

static void *reader_main(void *arg)
{
    struct ttrpc_client *c = arg;
    for (;;) {
        uint8_t hb[TTRPC_HEADER_LEN];
        struct ttrpc_header h;
        if (read_full(c, hb, sizeof(hb)) < 0)
            break;
        ttrpc_header_decode(hb, &h);
        if (h.length > TTRPC_MAX_DATA) {
            /* Stream it away: never allocate what a peer claims. */
            if (discard(c, h.length) < 0)
                break;
            complete(c, h.stream_id, -EMSGSIZE, NULL, 0);
            continue;
        }
        uint8_t *body = xmalloc(h.length ? h.length : 1);
        if (read_full(c, body, h.length) < 0) {
            free(body);
            break;
        }
        if (h.type != TTRPC_RESPONSE) {
            free(body); /* no streams on the client side */
            continue;
        }
        complete(c, h.stream_id, 0, body, h.length);
    }
    pthread_mutex_lock(&c->lock);
    c->dead = true;
    while (c->pending) {
        struct pending *p = c->pending;
        c->pending = p->next;
        p->done = true;
        p->result = -ECONNRESET;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Ends the connection from our side: the reader sees the wake pipe, fails every pending call. */
static void client_kill(struct ttrpc_client *c)
{
    if (write(c->wake[1], "x", 1) < 0)
        abort();
}

static void client_destroy(struct ttrpc_client *c)
{
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->write_lock);
    free(c);
}

struct ttrpc_client *ttrpc_client_new(int fd)
{
    struct ttrpc_client *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->is_socket = ttrpc_fd_is_socket(fd);
    c->next_id = 1;
    /* Non-blocking so that a peer that stops reading cannot hold a writer past its deadline;
     * both directions wait in poll(). */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || pipe2(c->wake, O_CLOEXEC) < 0) {
        free(c);
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->write_lock, NULL);
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        client_destroy(c);
        return NULL; /* fd stays with the caller */
    }
    return c;
}

uint32_t ttrpc_client_next_stream_id(struct ttrpc_client *c)
{
    pthread_mutex_lock(&c->write_lock);
    uint32_t id = c->next_id;
    pthread_mutex_unlock(&c->write_lock);
    return id;
}

void ttrpc_client_set_next_stream_id(struct ttrpc_client *c, uint32_t id)
{
    pthread_mutex_lock(&c->write_lock);
    c->next_id = id | 1; /* client-initiated streams are odd */
    pthread_mutex_unlock(&c->write_lock);
}

void ttrpc_client_free(struct ttrpc_client *c)
{
    if (!c)
        return;
    /* Wakes the reader, which then fails every pending call, and any writer waiting in poll. */
    client_kill(c);
    pthread_join(c->reader, NULL);
    pthread_mutex_lock(&c->lock);
    while (c->users > 0)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    close(c->fd);
    client_destroy(c);
}

/* Writes a whole frame before the deadline (0 = none). Caller holds the write lock. A frame cut
 * short would desynchronise the stream, so a partial write that times out kills the
 * connection. */
static int write_all(struct ttrpc_client *c, const uint8_t *buf, size_t len, int64_t deadline)
{
    size_t total = len;
    while (len > 0) {
        struct iovec iov = {(void *)buf, len};
        long w = ttrpc_writev(c->fd, c->is_socket, &iov, 1);
        if (w >= 0) {
            buf += w;
            len -= (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int ms = -1;
        if (deadline > 0) {
            int64_t left = deadline - loop_now_ns();
            ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
        }
        struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLOUT},
                                {.fd = c->wake[0], .events = POLLIN}};
        int n = poll(pfd, 2, ms);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && pfd[1].revents)
            return -ECONNRESET;
        if (n == 0) {
            if (len != total)
                client_kill(c);
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* Waits for p until done or the deadline (0 = none). Caller holds the lock. */
static int wait_done(struct ttrpc_client *c, struct pending *p, int64_t deadline_ns)
{
    while (!p->done) {
        if (deadline_ns == 0) {
            pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
                              .tv_nsec = deadline_ns % 1000000000LL};
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT && !p->done)
            return -ETIMEDOUT;
    }
    return 0;
}

static int decode_response(const uint8_t *frame, size_t len, uint8_t **ret_payload, size_t *ret_len,
                           struct kerr **err)
{
    Ttrpc__Response *resp = ttrpc__response__unpack(NULL, len, frame);
    if (!resp)
        return make_error(err, EBADMSG, "cannot decode the response envelope");
    int r = 0;
    if (resp->status && resp->status->code != RPC_OK) {
        make_status(err, resp->status->code, 0, "%s",
                    resp->status->message ? resp->status->message : "");
        r = -EPROTO;
    } else {
        /* The envelope owns its payload; copy so the caller gets a plain malloc'd buffer. */
        *ret_len = resp->payload.len;
        *ret_payload = xmalloc(resp->payload.len ? resp->payload.len : 1);
        if (resp->payload.len)
            memcpy(*ret_payload, resp->payload.data, resp->payload.len);
    }
    ttrpc__response__free_unpacked(resp, NULL);
    return r;
}

int ttrpc_client_call_raw(struct ttrpc_client *c, const char *service, const char *method,
                          const uint8_t *payload, size_t len, uint8_t **ret_payload,
                          size_t *ret_len, int64_t timeout_ns, struct kerr **err)
{
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)service;
    req.method = (char *)method;
    req.payload.data = (uint8_t *)payload;
    req.payload.len = len;
    req.timeout_nano = timeout_ns > 0 ? timeout_ns : 0;
    size_t body = ttrpc__request__get_packed_size(&req);
    if (body > TTRPC_MAX_DATA)
        return make_error(err, EMSGSIZE, "%s.%s: request of %zu bytes exceeds %u", service, method,
                          body, TTRPC_MAX_DATA);
    cleanup_free uint8_t *frame = xmalloc(TTRPC_HEADER_LEN + body);
    ttrpc__request__pack(&req, frame + TTRPC_HEADER_LEN);

    int64_t deadline = timeout_ns > 0 ? loop_now_ns() + timeout_ns : 0;
    struct pending p = {0};
    /* Ids are taken under the write lock: servers reject ids that do not increase on the wire. */
    pthread_mutex_lock(&c->write_lock);
    pthread_mutex_lock(&c->lock);
    if (c->dead) {
        pthread_mutex_unlock(&c->lock);
        pthread_mutex_unlock(&c->write_lock);
        return make_error(err, ECONNRESET, "%s.%s: connection lost", service, method);
    }
    c->users++;
    p.stream_id = c->next_id;
    c->next_id += 2;
    p.next = c->pending;
    c->pending = &p;
    pthread_mutex_unlock(&c->lock);

    struct ttrpc_header h = {
        .length = (uint32_t)body, .stream_id = p.stream_id, .type = TTRPC_REQUEST};
    ttrpc_header_encode(&h, frame);
    int r = write_all(c, frame, TTRPC_HEADER_LEN + body, deadline);
    pthread_mutex_unlock(&c->write_lock);

    pthread_mutex_lock(&c->lock);
    if (r == 0)
        r = wait_done(c, &p, deadline);
    if (!p.done)
        pending_take(c, p.stream_id); /* a late reply is dropped by the reader */
    else if (r == 0)
        r = p.result;
    c->users--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);

    cleanup_free uint8_t *reply = p.frame;
    if (r == -ETIMEDOUT)
        return make_error(err, ETIMEDOUT, "%s.%s: no reply within %lld ms", service, method,
                          (long long)(timeout_ns / 1000000));
    if (r == -EMSGSIZE)
        return make_error(err, EMSGSIZE, "%s.%s: reply exceeds %u bytes", service, method,
                          TTRPC_MAX_DATA);
    if (r == -EPIPE || r == -ECONNRESET)
        return make_error(err, ECONNRESET, "%s.%s: connection lost", service, method);
    if (r < 0)
        return make_error(err, -r, "%s.%s", service, method);
    return decode_response(reply, p.len, ret_payload, ret_len, err);
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **ret_resp, int64_t timeout_ns, struct kerr **err)
{
    size_t len = req ? protobuf_c_message_get_packed_size(req) : 0;
    if (len > TTRPC_MAX_DATA)
        return make_error(err, EMSGSIZE, "%s.%s: request of %zu bytes exceeds %u", service, method,
                          len, TTRPC_MAX_DATA);
    cleanup_free uint8_t *payload = xmalloc(len ? len : 1);
    if (len)
        protobuf_c_message_pack(req, payload);
    cleanup_free uint8_t *out = NULL;
    size_t out_len = 0;
    int r =
        ttrpc_client_call_raw(c, service, method, payload, len, &out, &out_len, timeout_ns, err);
    if (r < 0)
        return r;
    if (!resp_desc) {
        if (ret_resp)
            *ret_resp = NULL;
        return 0;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(resp_desc, NULL, out_len, out);
    if (!m)
        return make_error(err, EBADMSG, "%s.%s: cannot decode the reply as %s", service, method,
                          resp_desc->name);
    if (ret_resp)
        *ret_resp = m;
    else
        protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
