/* The event publisher's own behaviour, on real sockets and processes: the envelope a ttRPC
 * events server receives (served here by our ttRPC library with containerd's Events service
 * descriptor), a reconnect after the server drops the connection, a rejection that is final,
 * the publish binary's command line and stdin, the bounded queue (oldest dropped, with a log
 * line) while the server stalls, a bounded stop, and bad configuration. The same code against
 * a real containerd: tests/unit/shim-events.sh. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd/events-forward.pb-c.h"
#include "containerd/task-events.pb-c.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "tests/tap.h"
#include "ttrpc.h"
#include "xalloc.h"

#define MAX_SEEN 64

/* ---------------------------------------------------------------- an events server thread */

enum mode { SERVE, CLOSE_AFTER_REPLY, REJECT };

struct seen {
    char *ns, *topic, *type_url;
    int64_t sec;
    int32_t nsec;
    uint8_t *value;
    size_t len;
};

static struct {
    pthread_t thread;
    int listen_fd, ctl[2];
    char path[108];
    struct loop *loop;
    struct ttrpc_server *server;
    pthread_mutex_t lock;
    enum mode mode;
    int conns;
    size_t n_seen;
    struct seen seen[MAX_SEEN];
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void on_forward(struct ttrpc_call *call, void *userdata)
{
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req = (void *)call->request;
    pthread_mutex_lock(&srv.lock);
    enum mode mode = srv.mode;
    const Containerd__Services__Events__Ttrpc__V1__Envelope *env = req->envelope;
    if (mode != REJECT && env && srv.n_seen < MAX_SEEN) {
        struct seen *s = &srv.seen[srv.n_seen++];
        s->ns = xstrdup(env->namespace_);
        s->topic = xstrdup(env->topic);
        s->type_url = xstrdup(env->event ? env->event->type_url : "");
        s->sec = env->timestamp ? env->timestamp->seconds : 0;
        s->nsec = env->timestamp ? env->timestamp->nanos : 0;
        s->len = env->event ? env->event->value.len : 0;
        s->value = xmalloc(s->len + 1);
        if (s->len)
            memcpy(s->value, env->event->value.data, s->len);
    }
    pthread_mutex_unlock(&srv.lock);
    if (mode == REJECT) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "envelope has invalid namespace");
        return;
    }
    struct ttrpc_conn *conn = call->conn;
    ttrpc_reply(call, NULL);
    if (mode == CLOSE_AFTER_REPLY)
        ttrpc_conn_close(conn);
}

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    pthread_mutex_lock(&srv.lock);
    srv.conns++;
    pthread_mutex_unlock(&srv.lock);
    if (!ttrpc_server_add_conn(srv.server, c, 0, NULL, NULL))
        close(c);
}

static void on_ctl(struct loop_source *src, int fd, uint32_t events, void *data)
{
    loop_quit(srv.loop);
}

static void *server_main(void *arg)
{
    srv.loop = loop_new();
    srv.server = ttrpc_server_new(srv.loop);
    ttrpc_method_fn handlers[] = {on_forward};
    ttrpc_server_register(srv.server, &containerd__services__events__ttrpc__v1__events__descriptor,
                          handlers, NULL);
    struct loop_source *l = loop_add_fd(srv.loop, srv.listen_fd, EPOLLIN, on_accept, NULL);
    struct loop_source *c = loop_add_fd(srv.loop, srv.ctl[0], EPOLLIN, on_ctl, NULL);
    loop_run(srv.loop);
    loop_remove_fd(l);
    loop_remove_fd(c);
    ttrpc_server_free(srv.server);
    loop_free(srv.loop);
    return NULL;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        perror("listen");
        exit(1);
    }
    return fd;
}

static void server_start(enum mode mode)
{
    snprintf(srv.path, sizeof(srv.path), "/tmp/test-shim-events-%d.sock", (int)getpid());
    srv.listen_fd = listen_unix(srv.path);
    srv.mode = mode;
    srv.conns = 0;
    if (pipe(srv.ctl) < 0 || pthread_create(&srv.thread, NULL, server_main, NULL) != 0)
        exit(1);
}

static void server_stop(void)
{
    char q = 'q';
    if (write(srv.ctl[1], &q, 1) != 1)
        exit(1);
    pthread_join(srv.thread, NULL);
    close(srv.ctl[0]);
    close(srv.ctl[1]);
    close(srv.listen_fd);
    unlink(srv.path);
    for (size_t i = 0; i < srv.n_seen; i++) {
        free(srv.seen[i].ns);
        free(srv.seen[i].topic);
        free(srv.seen[i].type_url);
        free(srv.seen[i].value);
    }
    srv.n_seen = 0;
}

/* ---------------------------------------------------------------- helpers */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

static void capture_log(const char *line, size_t len, void *data)
{
    pthread_mutex_lock(&log_lock);
    if (loglen + len < sizeof(logbuf)) {
        memcpy(logbuf + loglen, line, len);
        loglen += len;
        logbuf[loglen] = '\0';
    }
    pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
    pthread_mutex_lock(&log_lock);
    loglen = 0;
    logbuf[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}

static int log_count(const char *needle)
{
    pthread_mutex_lock(&log_lock);
    int n = 0;
    for (const char *p = logbuf; (p = strstr(p, needle)); p++)
        n++;
    pthread_mutex_unlock(&log_lock);
    return n;
}

static void publish_exit(struct shim_events *ev, const char *id, uint32_t status)
{
    Containerd__Events__TaskExit e = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    e.container_id = (char *)id;
    e.id = (char *)id;
    e.pid = 77;
    e.exit_status = status;
    shim_events_publish(ev, "/tasks/exit", &e.base);
}

static struct shim_events *new_events(const char *ttrpc, const char *bin, const char *addr)
{
    struct kerr *err = NULL;
    struct shim_events *ev = shim_events_new("testns", ttrpc, bin, addr, &err);
    if (!ev)
        printf("# shim_events_new: %s\n", err ? err->msg : "?");
    error_free(err);
    return ev;
}

static char tmpdir[] = "/tmp/test-shim-events-XXXXXX";

static char *write_script(const char *name, const char *body)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        exit(1);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path, 0755);
    return path;
}

/* A publish binary that only leaves a file behind: did the publisher run it? */
static char *marker_binary(const char *name, char **ret_marker)
{
    *ret_marker = xasprintf("%s/%s-ran", tmpdir, name);
    cleanup_free char *body = xasprintf("touch %s\n", *ret_marker);
    return write_script(name, body);
}

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = xmalloc(65536);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    buf[n] = '\0';
    if (ret_len)
        *ret_len = n;
    return buf;
}

/* ---------------------------------------------------------------- tests */

static void test_envelope(void)
{
    server_start(SERVE);
    struct shim_events *ev = new_events(srv.path, NULL, NULL);
    if (!tap_ok(ev != NULL, "publisher on a ttRPC socket")) {
        server_stop();
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_REALTIME, &t0);
    Containerd__Events__TaskCreate c = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    c.container_id = "c1";
    c.bundle = "/b/c1";
    c.pid = 10;
    shim_events_publish(ev, "/tasks/create", &c.base);
    c.container_id = "changed after publishing"; /* the message was packed by then */
    Containerd__Events__TaskStart s = CONTAINERD__EVENTS__TASK_START__INIT;
    s.container_id = "c1";
    s.pid = 10;
    shim_events_publish(ev, "/tasks/start", &s.base);
    publish_exit(ev, "c1", 3);
    clock_gettime(CLOCK_REALTIME, &t1);
    tap_ok(shim_events_flush(ev, 5000), "flush: all three handled");
    struct shim_events_stats st;
    shim_events_get_stats(ev, &st);
    tap_ok(st.forwarded == 3 && st.published == 0 && st.dropped == 0,
           "stats: 3 forwarded (%lu/%lu/%lu)", st.forwarded, st.published, st.dropped);
    shim_events_free(ev, 1000);

    pthread_mutex_lock(&srv.lock);
    const char *topics[] = {"/tasks/create", "/tasks/start", "/tasks/exit"};
    const char *types[] = {"containerd.events.TaskCreate", "containerd.events.TaskStart",
                           "containerd.events.TaskExit"};
    if (tap_ok(srv.n_seen == 3, "the server received 3 envelopes (%zu)", srv.n_seen)) {
        for (int i = 0; i < 3; i++) {
            const struct seen *e = &srv.seen[i];
            tap_is_str(e->ns, "testns", "envelope %d: namespace", i);
            tap_is_str(e->topic, topics[i], "envelope %d: topic, in publishing order", i);
            tap_is_str(e->type_url, types[i], "envelope %d: type URL = the message's full name", i);
            int64_t ns = e->sec * 1000000000LL + e->nsec;
            tap_ok(ns >= t0.tv_sec * 1000000000LL + t0.tv_nsec &&
                       ns <= t1.tv_sec * 1000000000LL + t1.tv_nsec,
                   "envelope %d: timestamp taken when published", i);
        }
        Containerd__Events__TaskCreate *got =
            containerd__events__task_create__unpack(NULL, srv.seen[0].len, srv.seen[0].value);
        tap_ok(got && strcmp(got->container_id, "c1") == 0 && strcmp(got->bundle, "/b/c1") == 0 &&
                   got->pid == 10,
               "TaskCreate's value decodes to what was published (packed at publish time)");
        if (got)
            containerd__events__task_create__free_unpacked(got, NULL);
        Containerd__Events__TaskExit *x =
            containerd__events__task_exit__unpack(NULL, srv.seen[2].len, srv.seen[2].value);
        tap_ok(x && x->exit_status == 3 && x->pid == 77, "TaskExit's exit status and pid");
        if (x)
            containerd__events__task_exit__free_unpacked(x, NULL);
    }
    tap_ok(srv.conns == 1, "one connection for all three (%d)", srv.conns);
    pthread_mutex_unlock(&srv.lock);
    server_stop();
}

static void test_reconnect(void)
{
    server_start(CLOSE_AFTER_REPLY);
    char *marker;
    cleanup_free char *bin = marker_binary("bin-reconnect", &marker);
    struct shim_events *ev = new_events(srv.path, bin, "/nowhere/containerd.sock");
    if (!ev) {
        server_stop();
        free(marker);
        return;
    }
    for (int i = 0; i < 3; i++) {
        publish_exit(ev, "r", (uint32_t)i);
        shim_events_flush(ev, 5000);
    }
    struct shim_events_stats st;
    shim_events_get_stats(ev, &st);
    shim_events_free(ev, 1000);
    tap_ok(st.forwarded == 3 && st.published == 0 && st.dropped == 0,
           "reconnect: 3 forwarded over ttRPC though the server hung up after each (%lu/%lu/%lu)",
           st.forwarded, st.published, st.dropped);
    pthread_mutex_lock(&srv.lock);
    tap_ok(srv.conns == 3 && srv.n_seen == 3, "reconnect: 3 connections, 3 envelopes (%d, %zu)",
           srv.conns, srv.n_seen);
    pthread_mutex_unlock(&srv.lock);
    tap_ok(access(marker, F_OK) != 0, "reconnect: the publish binary was not needed");
    free(marker);
    server_stop();
}

static void test_rejected(void)
{
    server_start(REJECT);
    char *marker;
    cleanup_free char *bin = marker_binary("bin-rejected", &marker);
    log_reset();
    struct shim_events *ev = new_events(srv.path, bin, "/nowhere/containerd.sock");
    if (ev) {
        publish_exit(ev, "x", 1);
        shim_events_flush(ev, 5000);
        struct shim_events_stats st;
        shim_events_get_stats(ev, &st);
        shim_events_free(ev, 1000);
        tap_ok(st.dropped == 1 && st.forwarded == 0 && st.published == 0,
               "rejected: dropped at once (%lu/%lu/%lu)", st.forwarded, st.published, st.dropped);
        tap_ok(access(marker, F_OK) != 0, "rejected: not sent again through the publish binary");
        tap_ok(log_count("rejected /tasks/exit") == 1 && log_count("invalid namespace") == 1,
               "rejected: one log line with containerd's reason");
    }
    free(marker);
    server_stop();
}

static void test_binary(void)
{
    cleanup_free char *body =
        xasprintf("printf '%%s\\n' \"$@\" > %s/args\ncat > %s/stdin\n", tmpdir, tmpdir);
    cleanup_free char *bin = write_script("bin-ok", body);
    cleanup_free char *nosock = xasprintf("%s/no.sock.ttrpc", tmpdir);
    struct shim_events *ev = new_events(nosock, bin, "/run/x/containerd.sock");
    if (!ev)
        return;
    publish_exit(ev, "b1", 9);
    tap_ok(shim_events_flush(ev, 5000), "binary: handled");
    struct shim_events_stats st;
    shim_events_get_stats(ev, &st);
    shim_events_free(ev, 1000);
    tap_ok(st.published == 1 && st.forwarded == 0 && st.dropped == 0,
           "binary: delivered by the publish binary when the ttRPC socket is missing "
           "(%lu/%lu/%lu)",
           st.forwarded, st.published, st.dropped);
    cleanup_free char *apath = xasprintf("%s/args", tmpdir);
    cleanup_free char *args = slurp(apath, NULL);
    tap_is_str(args,
               "--address\n/run/x/containerd.sock\npublish\n--namespace\ntestns\n--topic\n"
               "/tasks/exit\n",
               "binary: <bin> --address SOCK publish --namespace NS --topic TOPIC");
    size_t len = 0;
    cleanup_free char *spath = xasprintf("%s/stdin", tmpdir);
    cleanup_free char *in = slurp(spath, &len);
    Google__Protobuf__Any *any =
        in ? google__protobuf__any__unpack(NULL, len, (uint8_t *)in) : NULL;
    tap_ok(any && strcmp(any->type_url, "containerd.events.TaskExit") == 0,
           "binary: stdin is a google.protobuf.Any of type containerd.events.TaskExit");
    Containerd__Events__TaskExit *x =
        any ? containerd__events__task_exit__unpack(NULL, any->value.len, any->value.data) : NULL;
    tap_ok(x && strcmp(x->container_id, "b1") == 0 && x->exit_status == 9,
           "binary: the Any's value is the event");
    if (x)
        containerd__events__task_exit__free_unpacked(x, NULL);
    if (any)
        google__protobuf__any__free_unpacked(any, NULL);
}

/* Nothing reachable, a binary that fails: the event is retried, so stopping has to cut it
 * short, and the log says why it failed. */
static void test_unreachable_bounded_stop(void)
{
    cleanup_free char *bin = write_script("bin-fail", "echo 'failed to dial' >&2\nexit 1\n");
    cleanup_free char *nosock = xasprintf("%s/none.sock", tmpdir);
    log_reset();
    struct shim_events *ev = new_events(nosock, bin, "/nowhere/containerd.sock");
    if (!ev)
        return;
    publish_exit(ev, "u", 1);
    tap_ok(!shim_events_flush(ev, 300), "unreachable: not handled within 300 ms (retrying)");
    int64_t t0 = loop_now_ns();
    shim_events_free(ev, 200);
    int64_t ms = (loop_now_ns() - t0) / 1000000;
    tap_ok(ms < 1500, "unreachable: shim_events_free(200 ms) returned in %lld ms", (long long)ms);
    tap_ok(log_count("exit status 1: failed to dial") >= 1,
           "unreachable: the log line carries the binary's exit status and output");
}

/* A server that accepts nothing and answers nothing: the first Forward waits, the queue fills
 * up and drops its oldest entries, publishing never blocks, and stopping is bounded. */
static void test_queue_bound(void)
{
    cleanup_free char *path = xasprintf("%s/stalled.sock", tmpdir);
    int lfd = listen_unix(path);
    log_reset();
    struct shim_events *ev = new_events(path, NULL, NULL);
    if (!ev) {
        close(lfd);
        return;
    }
    shim_events_tune(ev, 4, 3000);
    publish_exit(ev, "q0", 0);
    usleep(100000); /* the worker is now inside the first Forward */
    int64_t t0 = loop_now_ns();
    for (int i = 1; i < 10; i++)
        publish_exit(ev, "q", (uint32_t)i);
    int64_t us = (loop_now_ns() - t0) / 1000;
    tap_ok(us < 100000, "queue: 9 publishes while containerd stalls took %lld us", (long long)us);
    struct shim_events_stats st;
    shim_events_get_stats(ev, &st);
    tap_ok(st.dropped == 5, "queue: 1 in flight, 4 queued, the 5 oldest dropped (%lu)", st.dropped);
    tap_ok(log_count("event queue full (4): dropping the oldest, /tasks/exit") == 5,
           "queue: one log line per dropped event");
    t0 = loop_now_ns();
    shim_events_free(ev, 300);
    int64_t ms = (loop_now_ns() - t0) / 1000000;
    tap_ok(ms >= 250 && ms < 1500, "queue: shim_events_free(300 ms) on a stalled call took %lld ms",
           (long long)ms);
    tap_ok(log_count("stopping with 5 event(s) undelivered") == 1,
           "queue: stopping logs what was lost");
    close(lfd);
    unlink(path);
}

/* Each case: shim_events_new refuses, with a message. */
static void refused(const char *ns, const char *ttrpc, const char *bin, const char *addr,
                    const char *want, const char *what)
{
    struct kerr *err = NULL;
    struct shim_events *ev = shim_events_new(ns, ttrpc, bin, addr, &err);
    tap_ok(!ev && err && err->errnum == EINVAL && err->msg && strstr(err->msg, want),
           "config: %s -> EINVAL (%s)", what, err && err->msg ? err->msg : "no error");
    shim_events_free(ev, 100);
    error_free(err);
}

static void test_config(void)
{
    refused(NULL, "/x", NULL, NULL, "namespace is required", "no namespace");
    refused("", "/x", NULL, NULL, "namespace is required", "empty namespace");
    refused("ns", NULL, NULL, NULL, "neither", "no way to publish");
    refused("ns", "vsock://3:1024", NULL, NULL, "not a unix socket", "a vsock TTRPC_ADDRESS");
    refused("ns", "tcp://1.2.3.4:5", NULL, NULL, "unsupported address", "a tcp TTRPC_ADDRESS");
    refused("ns", NULL, "/usr/bin/containerd", NULL, "containerd's address",
            "a publish binary without containerd's address");
    struct kerr *err = NULL;
    struct shim_events *ev = shim_events_new("ns", "unix://@kata-test-abstract", NULL, NULL, &err);
    tap_ok(ev != NULL, "config: an abstract unix://@name address is accepted");
    error_free(err);
    shim_events_free(ev, 100);
    shim_events_free(NULL, 100);
    shim_events_publish(NULL, "/tasks/exit", NULL);
    tap_ok(true, "shim_events_free(NULL) and publishing to NULL are harmless");
}

int main(void)
{
    log_init("test-shim-events", "shim", 2);
    log_set_writer(capture_log, NULL);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_envelope();
    test_reconnect();
    test_rejected();
    test_binary();
    test_unreachable_bounded_stop();
    test_queue_bound();
    test_config();
    cleanup_free char *cmd = xasprintf("rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return tap_done();
}
