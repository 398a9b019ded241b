/* The shim's event publisher: a queue drained by one worker thread. Each event goes to
 * containerd's ttRPC events service on a kept-open connection (reconnected once when it turns
 * out broken, as containerd 1.6's shim library does); when that socket cannot be reached the
 * publish binary delivers it over containerd's gRPC socket instead. An event neither way can
 * deliver is retried a few times with growing delays (upstream requeues up to 5 times, 1 s, 2 s,
 * ...), which covers a containerd restart, and then dropped with a log line. */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/events-forward.pb-c.h"
#include "dial.h"
#include "google/protobuf/any.pb-c.h"
#include "log.h"
#include "loop.h"
#include "ttrpc.h"
#include "xalloc.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define DEFAULT_QUEUE_MAX 2048
#define DEFAULT_CALL_TIMEOUT_MS 5000
/* The publish binary dials for up to 2 s and then makes one gRPC call. */
#define BINARY_TIMEOUT_MS 10000
#define MAX_ATTEMPTS 5
#define BINARY_OUTPUT_MAX 2048

extern char **environ;

struct item {
    struct item *next;
    char *topic;
    char *type_url;
    uint8_t *value;
    size_t len;
    struct timespec stamp; /* when it was published: the envelope's timestamp */
    unsigned attempts;
};

struct shim_events {
    char *ns;
    struct dial_addr ttrpc_addr; /* path NULL: no ttRPC */
    char *publish_binary;        /* NULL: no fallback */
    char *containerd_address;
    pthread_t worker;

    /* Only the worker touches the client. */
    struct ttrpc_client *client;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* broadcast on every change */
    struct item *head, *tail;
    size_t queued, queue_max;
    bool busy;     /* the worker holds an item */
    bool stopping; /* shim_events_free: deliver what is queued, then end */
    bool aborted;  /* free's wait ran out: give up at once */
    bool done;     /* the worker has returned */
    int conn_fd;   /* the client's socket (so an abort can shut it down), -1 */
    pid_t child;   /* a running publish binary, 0 */
    int64_t call_timeout_ns;
    struct shim_events_stats stats;
};

static void item_free(struct item *it)
{
    if (!it)
        return;
    free(it->topic);
    free(it->type_url);
    free(it->value);
    free(it);
}

static void deadline_after(struct timespec *ts, int64_t ns)
{
    int64_t at = loop_now_ns() + ns;
    ts->tv_sec = at / 1000000000LL;
    ts->tv_nsec = at % 1000000000LL;
}

/* ---------------------------------------------------------------- ttRPC */

static void drop_client(struct shim_events *ev)
{
    if (!ev->client)
        return;
    pthread_mutex_lock(&ev->lock);
    ev->conn_fd = -1;
    pthread_mutex_unlock(&ev->lock);
    ttrpc_client_free(ev->client);
    ev->client = NULL;
}

static int connect_client(struct shim_events *ev, struct kerr **err)
{
    cleanup_close int fd = dial_connect(&ev->ttrpc_addr, (int)(ev->call_timeout_ns / 1000000), err);
    if (fd < 0)
        return fd;
    int raw = fd;
    struct ttrpc_client *c = ttrpc_client_new(fd);
    if (!c)
        return make_error(err, EAGAIN, "cannot start the ttRPC client");
    steal_fd(&fd);
    pthread_mutex_lock(&ev->lock);
    ev->client = c;
    ev->conn_fd = raw;
    /* An abort that came before conn_fd was set could not shut it down. */
    if (ev->aborted)
        shutdown(raw, SHUT_RDWR);
    pthread_mutex_unlock(&ev->lock);
    return 0;
}

static int forward_once(struct shim_events *ev, const uint8_t *req, size_t len, struct kerr **err)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int r = ttrpc_client_call_raw(ev->client, EVENTS_SERVICE, "Forward", req, len, &reply,
                                  &reply_len, ev->call_timeout_ns, err);
    free(reply);
    return r;
}

/* 0: delivered. -EPROTO / -EMSGSIZE: containerd will never take it. Anything else: ttRPC is
 * unreachable or broken for now. */
static int forward(struct shim_events *ev, const struct item *it, struct kerr **err)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = it->stamp.tv_sec;
    ts.nanos = (int32_t)it->stamp.tv_nsec;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = it->type_url;
    any.value.data = it->value;
    any.value.len = it->len;
    Containerd__Services__Events__Ttrpc__V1__Envelope env =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    env.timestamp = &ts;
    env.namespace_ = ev->ns;
    env.topic = it->topic;
    env.event = &any;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    req.envelope = &env;
    size_t len = protobuf_c_message_get_packed_size(&req.base);
    cleanup_free uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&req.base, buf);

    bool fresh = ev->client == NULL;
    if (fresh) {
        int r = connect_client(ev, err);
        if (r < 0)
            return r;
    }
    int r = forward_once(ev, buf, len, err);
    if (r == 0 || r == -EPROTO || r == -EMSGSIZE)
        return r;
    /* The connection is broken (containerd restarted) or in an unknown state (a timeout): a
     * new one, once. A connection just made gets no second chance. */
    drop_client(ev);
    if (fresh || r != -ECONNRESET)
        return r;
    error_freep(err);
    r = connect_client(ev, err);
    if (r < 0)
        return r;
    r = forward_once(ev, buf, len, err);
    if (r < 0 && r != -EPROTO && r != -EMSGSIZE)
        drop_client(ev);
    return r;
}

/* ---------------------------------------------------------------- publish binary */

static void set_child(struct shim_events *ev, pid_t pid)
{
    pthread_mutex_lock(&ev->lock);
    ev->child = pid;
    if (pid > 0 && ev->aborted)
        kill(pid, SIGKILL);
    pthread_mutex_unlock(&ev->lock);
}

static pid_t spawn_binary(struct shim_events *ev, const struct item *it, int in_fd, int out_fd,
                          struct kerr **err)
{
    char *argv[] = {ev->publish_binary, "--address",   ev->containerd_address,
                    "publish",          "--namespace", ev->ns,
                    "--topic",          it->topic,     NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    /* The worker runs with every signal blocked; the binary must not inherit that. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int r = posix_spawn(&pid, ev->publish_binary, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return make_error(err, r, "cannot run %s", ev->publish_binary);
    return pid;
}

/* Feeds the Any to the child's stdin and collects what it prints, until both pipes are done or
 * the deadline passes. */
static void exchange(int in_fd, int out_fd, const uint8_t *data, size_t len, char *out,
                     size_t out_cap, int64_t deadline)
{
    size_t sent = 0, got = 0;
    bool out_open = true;
    while (in_fd >= 0 || out_open) {
        int64_t left = deadline - loop_now_ns();
        if (left <= 0)
            break;
        struct pollfd pfd[2] = {{.fd = in_fd, .events = POLLOUT},
                                {.fd = out_open ? out_fd : -1, .events = POLLIN}};
        int n = poll(pfd, 2, (int)((left + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (in_fd >= 0 && pfd[0].revents) {
            ssize_t w = sent < len ? write(in_fd, data + sent, len - sent) : 0;
            if (w > 0)
                sent += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == len) {
                close(in_fd); /* EOF: the binary reads the Any up to it */
                in_fd = -1;
            }
        }
        if (out_open && pfd[1].revents) {
            char buf[512];
            ssize_t r = read(out_fd, buf, sizeof(buf));
            if (r > 0 && got + 1 < out_cap) {
                size_t take = (size_t)r < out_cap - 1 - got ? (size_t)r : out_cap - 1 - got;
                memcpy(out + got, buf, take);
                got += take;
            }
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                out_open = false;
        }
    }
    if (in_fd >= 0)
        close(in_fd);
    out[got] = '\0';
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
        out[--got] = '\0';
}

/* Waits for the child until the deadline, then kills it. Returns its wait status, or -1 when
 * someone else reaped it (a process-wide reaper). */
static int reap(pid_t pid, int64_t deadline)
{
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (loop_now_ns() >= deadline) {
            kill(pid, SIGKILL);
            while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
                ;
            return r == pid ? status : -1;
        }
        struct timespec nap = {0, 5 * 1000000};
        nanosleep(&nap, NULL);
    }
}

static int publish_binary(struct shim_events *ev, const struct item *it, struct kerr **err)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = it->type_url;
    any.value.data = it->value;
    any.value.len = it->len;
    size_t len = protobuf_c_message_get_packed_size(&any.base);
    cleanup_free uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&any.base, buf);

    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return make_error(err, errno, "pipe");
    if (pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        close(in[0]);
        close(in[1]);
        return make_error(err, e, "pipe");
    }
    int64_t deadline = loop_now_ns() + BINARY_TIMEOUT_MS * 1000000LL;
    pid_t pid = spawn_binary(ev, it, in[0], out[1], err);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return pid;
    }
    set_child(ev, pid);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    char output[BINARY_OUTPUT_MAX];
    exchange(in[1], out[0], buf, len, output, sizeof(output), deadline);
    close(out[0]);
    int status = reap(pid, deadline);
    set_child(ev, 0);
    if (status == -1) {
        /* Reaped by someone else: the exit status is lost; its output is all we have. */
        if (output[0])
            return make_error(err, EIO, "%s publish: %s", ev->publish_binary, output);
        return 0;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        return make_error(err, EIO, "%s publish: killed by signal %d%s%s", ev->publish_binary,
                          WTERMSIG(status), output[0] ? ": " : "", output);
    return make_error(err, EIO, "%s publish: exit status %d%s%s", ev->publish_binary,
                      WEXITSTATUS(status), output[0] ? ": " : "", output);
}

/* ---------------------------------------------------------------- the worker */

enum outcome { DELIVERED_TTRPC, DELIVERED_BINARY, REJECTED, UNREACHABLE };

static enum outcome deliver(struct shim_events *ev, const struct item *it)
{
    cleanup_error struct kerr *terr = NULL;
    if (ev->ttrpc_addr.path) {
        int r = forward(ev, it, &terr);
        if (r == 0)
            return DELIVERED_TTRPC;
        if (r == -EPROTO || r == -EMSGSIZE) {
            log_error("events", "containerd rejected %s (%s): %s", it->topic, it->type_url,
                      terr ? terr->msg : "");
            return REJECTED;
        }
    }
    cleanup_error struct kerr *berr = NULL;
    if (ev->publish_binary) {
        int r = publish_binary(ev, it, &berr);
        if (r == 0)
            return DELIVERED_BINARY;
    }
    log_warn("events", "cannot publish %s (attempt %u)%s%s%s%s", it->topic, it->attempts + 1,
             terr ? "; ttrpc: " : "", terr ? terr->msg : "", berr ? "; publish binary: " : "",
             berr ? berr->msg : "");
    return UNREACHABLE;
}

static void *worker_main(void *arg)
{
    struct shim_events *ev = arg;
    pthread_mutex_lock(&ev->lock);
    for (;;) {
        while (!ev->head && !ev->stopping && !ev->aborted)
            pthread_cond_wait(&ev->cond, &ev->lock);
        if (!ev->head || ev->aborted)
            break;
        struct item *it = ev->head;
        ev->head = it->next;
        if (!ev->head)
            ev->tail = NULL;
        ev->queued--;
        ev->busy = true;
        pthread_mutex_unlock(&ev->lock);

        enum outcome o = deliver(ev, it);

        pthread_mutex_lock(&ev->lock);
        ev->busy = false;
        if (o == DELIVERED_TTRPC)
            ev->stats.forwarded++;
        else if (o == DELIVERED_BINARY)
            ev->stats.published++;
        if (o == UNREACHABLE && ++it->attempts < MAX_ATTEMPTS && !ev->stopping && !ev->aborted) {
            /* Back to the front, so events stay in order, and wait: containerd may be
             * restarting. A stopping publisher makes one attempt per event. */
            it->next = ev->head;
            ev->head = it;
            if (!ev->tail)
                ev->tail = it;
            ev->queued++;
            struct timespec until;
            deadline_after(&until, (int64_t)it->attempts * 1000000000LL);
            while (!ev->stopping && !ev->aborted &&
                   pthread_cond_timedwait(&ev->cond, &ev->lock, &until) != ETIMEDOUT)
                ;
        } else {
            if (o == REJECTED || o == UNREACHABLE) {
                ev->stats.dropped++;
                if (o == UNREACHABLE)
                    log_error("events", "dropping %s after %u attempts", it->topic, it->attempts);
            }
            item_free(it);
        }
        pthread_cond_broadcast(&ev->cond);
    }
    ev->done = true;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
    drop_client(ev);
    return NULL;
}

/* ---------------------------------------------------------------- API */

static void events_destroy(struct shim_events *ev)
{
    while (ev->head) {
        struct item *it = ev->head;
        ev->head = it->next;
        item_free(it);
    }
    pthread_mutex_destroy(&ev->lock);
    pthread_cond_destroy(&ev->cond);
    dial_addr_free(&ev->ttrpc_addr);
    free(ev->ns);
    free(ev->publish_binary);
    free(ev->containerd_address);
    free(ev);
}

struct shim_events *shim_events_new(const char *ns, const char *ttrpc_address,
                                    const char *publish_binary, const char *containerd_address,
                                    struct kerr **err)
{
    if (!ns || !*ns) {
        make_error(err, EINVAL, "events: a namespace is required");
        return NULL;
    }
    if (ttrpc_address && !*ttrpc_address)
        ttrpc_address = NULL;
    if (publish_binary && !*publish_binary)
        publish_binary = NULL;
    if (publish_binary && (!containerd_address || !*containerd_address)) {
        make_error(err, EINVAL, "events: the publish binary needs containerd's address");
        return NULL;
    }
    if (!ttrpc_address && !publish_binary) {
        make_error(err, EINVAL, "events: neither a ttRPC address nor a publish binary");
        return NULL;
    }
    struct dial_addr addr = {0};
    if (ttrpc_address) {
        if (dial_parse(ttrpc_address, &addr, err) < 0) {
            error_wrap(err, -EINVAL, "events: TTRPC_ADDRESS");
            return NULL;
        }
        if (addr.kind != DIAL_UNIX) {
            dial_addr_free(&addr);
            make_error(err, EINVAL, "events: TTRPC_ADDRESS '%s' is not a unix socket",
                       ttrpc_address);
            return NULL;
        }
    }
    struct shim_events *ev = xcalloc(1, sizeof(*ev));
    ev->ns = xstrdup(ns);
    ev->ttrpc_addr = addr;
    ev->publish_binary = publish_binary ? xstrdup(publish_binary) : NULL;
    ev->containerd_address = publish_binary ? xstrdup(containerd_address) : NULL;
    ev->queue_max = DEFAULT_QUEUE_MAX;
    ev->call_timeout_ns = DEFAULT_CALL_TIMEOUT_MS * 1000000LL;
    ev->conn_fd = -1;
    pthread_mutex_init(&ev->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->cond, &attr);
    pthread_condattr_destroy(&attr);

    /* Signals stay with the shim's main thread; a write to a publish binary that died gives
     * the worker EPIPE instead of killing the shim. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&ev->worker, NULL, worker_main, ev);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        make_error(err, r, "events: cannot start the publisher thread");
        events_destroy(ev);
        return NULL;
    }
    return ev;
}

void shim_events_tune(struct shim_events *ev, size_t queue_max, int call_timeout_ms)
{
    pthread_mutex_lock(&ev->lock);
    if (queue_max > 0)
        ev->queue_max = queue_max;
    if (call_timeout_ms > 0)
        ev->call_timeout_ns = call_timeout_ms * 1000000LL;
    pthread_mutex_unlock(&ev->lock);
}

void shim_events_publish(struct shim_events *ev, const char *topic, const ProtobufCMessage *event)
{
    if (!ev || !topic || !event)
        return;
    struct item *it = xcalloc(1, sizeof(*it));
    clock_gettime(CLOCK_REALTIME, &it->stamp);
    it->topic = xstrdup(topic);
    it->type_url = xstrdup(event->descriptor->name);
    it->len = protobuf_c_message_get_packed_size(event);
    it->value = xmalloc(it->len ? it->len : 1);
    protobuf_c_message_pack(event, it->value);

    struct item *evicted = NULL;
    pthread_mutex_lock(&ev->lock);
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->lock);
        log_warn("events", "publisher stopping: dropping %s", topic);
        item_free(it);
        return;
    }
    if (ev->queued >= ev->queue_max) {
        evicted = ev->head;
        ev->head = evicted->next;
        if (!ev->head)
            ev->tail = NULL;
        ev->queued--;
        ev->stats.dropped++;
    }
    if (ev->tail)
        ev->tail->next = it;
    else
        ev->head = it;
    ev->tail = it;
    ev->queued++;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
    if (evicted) {
        log_warn("events", "event queue full (%zu): dropping the oldest, %s (%s)", ev->queue_max,
                 evicted->topic, evicted->type_url);
        item_free(evicted);
    }
}

void shim_events_get_stats(struct shim_events *ev, struct shim_events_stats *ret)
{
    pthread_mutex_lock(&ev->lock);
    *ret = ev->stats;
    pthread_mutex_unlock(&ev->lock);
}

bool shim_events_flush(struct shim_events *ev, int timeout_ms)
{
    struct timespec until;
    deadline_after(&until, (int64_t)timeout_ms * 1000000LL);
    pthread_mutex_lock(&ev->lock);
    while ((ev->head || ev->busy) && !ev->done &&
           pthread_cond_timedwait(&ev->cond, &ev->lock, &until) != ETIMEDOUT)
        ;
    bool idle = !ev->head && !ev->busy;
    pthread_mutex_unlock(&ev->lock);
    return idle;
}

void shim_events_free(struct shim_events *ev, int timeout_ms)
{
    if (!ev)
        return;
    struct timespec until;
    deadline_after(&until, (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000LL);
    pthread_mutex_lock(&ev->lock);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->cond);
    while (!ev->done && pthread_cond_timedwait(&ev->cond, &ev->lock, &until) != ETIMEDOUT)
        ;
    if (!ev->done) {
        /* Out of time: unblock the worker wherever it waits (a call, the binary). */
        ev->aborted = true;
        if (ev->conn_fd >= 0)
            shutdown(ev->conn_fd, SHUT_RDWR);
        if (ev->child > 0)
            kill(ev->child, SIGKILL);
        pthread_cond_broadcast(&ev->cond);
        size_t lost = ev->queued + (ev->busy ? 1 : 0);
        if (lost > 0)
            log_warn("events", "stopping with %zu event(s) undelivered after %d ms", lost,
                     timeout_ms);
    }
    pthread_mutex_unlock(&ev->lock);
    pthread_join(ev->worker, NULL);
    events_destroy(ev);
}
