#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "dial.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

struct session_conn {
    struct session_server *server;
    int fd;
    pthread_mutex_t write_lock;
    int refs; /* reader + in-flight calls; under server->lock */
    struct session_conn *next;
};

struct session_server {
    int listen_fd;
    struct ttrpc_client *agent;
    session_local_fn local;
    void *local_data;
    pthread_t accept_thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct session_conn *conns;
    int threads; /* reader and call threads alive */
    bool stopping;
};

struct relay_call {
    struct session_conn *conn;
    uint32_t stream_id;
    Ttrpc__Request *req;
};

static void conn_unref(struct session_conn *c)
{
    struct session_server *s = c->server;
    pthread_mutex_lock(&s->lock);
    bool last = --c->refs == 0;
    if (last) {
        for (struct session_conn **p = &s->conns; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
    if (last) {
        close(c->fd);
        pthread_mutex_destroy(&c->write_lock);
        free(c);
    }
}

static void thread_done(struct session_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->threads--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Starts a thread nobody joins (the server counts its threads instead). */
static int start_detached(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return r;
}

static void send_response(struct session_conn *c, uint32_t stream_id, int code, const char *msg,
                          const uint8_t *payload, size_t len)
{
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = code;
    status.message = (char *)(msg ? msg : "");
    resp.status = &status;
    resp.payload.data = (uint8_t *)payload;
    resp.payload.len = len;
    size_t body = ttrpc__response__get_packed_size(&resp);
    cleanup_free uint8_t *frame = xmalloc(TTRPC_HEADER_LEN + body);
    struct ttrpc_header h = {
        .length = (uint32_t)body, .stream_id = stream_id, .type = TTRPC_RESPONSE};
    ttrpc_header_encode(&h, frame);
    ttrpc__response__pack(&resp, frame + TTRPC_HEADER_LEN);
    pthread_mutex_lock(&c->write_lock);
    const uint8_t *p = frame;
    size_t left = TTRPC_HEADER_LEN + body;
    while (left > 0) {
        ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the client went away; nothing to tell */
        p += n;
        left -= (size_t)n;
    }
    pthread_mutex_unlock(&c->write_lock);
}

static void *call_main(void *arg)
{
    struct relay_call *rc = arg;
    struct session_conn *c = rc->conn;
    struct session_server *s = c->server;
    struct kerr *err = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r;
    if (strcmp(rc->req->service, SESSION_SERVICE) == 0) {
        r = s->local ? s->local(rc->req->method, rc->req->payload.data, rc->req->payload.len, &out,
                                &out_len, &err, s->local_data)
                     : make_status(&err, RPC_UNIMPLEMENTED, 0, "no local service");
    } else {
        r = ttrpc_client_call_raw(s->agent, rc->req->service, rc->req->method,
                                  rc->req->payload.data, rc->req->payload.len, &out, &out_len,
                                  rc->req->timeout_nano, &err);
    }
    if (r < 0) {
        int code = err && err->status ? err->status : error_status(err);
        if (code == RPC_OK)
            code = RPC_UNKNOWN;
        send_response(c, rc->stream_id, code, err ? err->msg : "failed", NULL, 0);
    } else {
        send_response(c, rc->stream_id, RPC_OK, NULL, out, out_len);
    }
    free(out);
    error_free(err);
    ttrpc__request__free_unpacked(rc->req, NULL);
    free(rc);
    conn_unref(c);
    thread_done(s);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct session_conn *c = arg;
    struct session_server *s = c->server;
    for (;;) {
        uint8_t hdr[TTRPC_HEADER_LEN];
        if (read_full(c->fd, hdr, sizeof(hdr)) < 0)
            break;
        struct ttrpc_header h;
        ttrpc_header_decode(hdr, &h);
        if (h.length > TTRPC_MAX_DATA)
            break; /* a client of our own never does this: drop it */
        cleanup_free uint8_t *body = xmalloc(h.length ? h.length : 1);
        if (read_full(c->fd, body, h.length) < 0)
            break;
        if (h.type != TTRPC_REQUEST)
            continue;
        Ttrpc__Request *req = ttrpc__request__unpack(NULL, h.length, body);
        if (!req) {
            send_response(c, h.stream_id, RPC_INVALID_ARGUMENT, "cannot decode request", NULL, 0);
            continue;
        }
        struct relay_call *rc = xmalloc(sizeof(*rc));
        rc->conn = c;
        rc->stream_id = h.stream_id;
        rc->req = req;
        pthread_mutex_lock(&s->lock);
        c->refs++;
        s->threads++;
        pthread_mutex_unlock(&s->lock);
        /* One thread per call: relayed calls block (ReadStdout, WaitProcess) for long. */
        if (start_detached(call_main, rc) != 0) {
            send_response(c, h.stream_id, RPC_RESOURCE_EXHAUSTED, "no thread", NULL, 0);
            ttrpc__request__free_unpacked(req, NULL);
            free(rc);
            conn_unref(c);
            thread_done(s);
        }
    }
    shutdown(c->fd, SHUT_RDWR);
    conn_unref(c);
    thread_done(s);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct session_server *s = arg;
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            break;
        }
        struct session_conn *c = xcalloc(1, sizeof(*c));
        c->server = s;
        c->fd = fd;
        c->refs = 1;
        pthread_mutex_init(&c->write_lock, NULL);
        c->next = s->conns;
        s->conns = c;
        s->threads++;
        pthread_mutex_unlock(&s->lock);
        if (start_detached(reader_main, c) != 0) {
            conn_unref(c);
            thread_done(s);
        }
    }
    return NULL;
}

struct session_server *session_server_start(const char *path, struct ttrpc_client *agent,
                                            session_local_fn local, void *data, struct kerr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        make_error(err, ENAMETOOLONG, "session socket %s", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        make_error(err, errno, "socket");
        return NULL;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 16) < 0) {
        make_error(err, errno, "listen on %s", path);
        return NULL;
    }
    struct session_server *s = xcalloc(1, sizeof(*s));
    s->listen_fd = steal_fd(&fd);
    s->agent = agent;
    s->local = local;
    s->local_data = data;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
        close(s->listen_fd);
        free(s);
        make_error(err, EAGAIN, "start the session thread");
        return NULL;
    }
    return s;
}

void session_server_stop(struct session_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    for (struct session_conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    /* Linux wakes a blocked accept() when the listening socket is shut down. */
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->accept_thread, NULL);
    close(s->listen_fd);
    pthread_mutex_lock(&s->lock);
    while (s->threads > 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

char *session_run_dir(const char *name)
{
    const char *base = getenv("KATA_HOST_RUN_DIR");
    return xasprintf("%s/%s", base && *base ? base : KATA_HOST_RUN_DIR, name);
}

int session_connect(const char *name, struct kerr **err)
{
    cleanup_free char *dir = session_run_dir(name);
    cleanup_free char *path = xasprintf("%s/session.sock", dir);
    if (access(dir, F_OK) < 0)
        return make_error(err, ENOENT, "no sandbox named '%s'", name);
    int fd = dial_unix(path, err);
    if (fd < 0)
        return error_wrap(err, fd, "sandbox '%s' is not running", name);
    return fd;
}

int session_write_state(const char *run_dir, const struct session_state *st, struct kerr **err)
{
    cleanup_free char *path = xasprintf("%s/state", run_dir);
    cleanup_free char *tmp = xasprintf("%s/state.tmp", run_dir);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return make_error(err, errno, "create %s", tmp);
    fprintf(f,
            "name=%s\npid=%ld\nvmm_pid=%ld\ncreated=%ld\ncontainer_id=%s\ncommand=%s\n"
            "debug_console=%d\nvsock_cid=%ld\n",
            st->name, st->pid, st->vmm_pid, st->created, st->container_id ? st->container_id : "",
            st->command ? st->command : "", st->debug_console ? 1 : 0, st->vsock_cid);
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return make_error(err, errno, "write %s", path);
    return 0;
}

int session_read_state(const char *run_dir, struct session_state *ret, struct kerr **err)
{
    cleanup_free char *path = xasprintf("%s/state", run_dir);
    cleanup_file FILE *f = fopen(path, "re");
    if (!f)
        return make_error(err, errno, "open %s", path);
    struct session_state st = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "name") == 0)
            free(st.name), st.name = xstrdup(v);
        else if (strcmp(line, "pid") == 0)
            st.pid = strtol(v, NULL, 10);
        else if (strcmp(line, "vmm_pid") == 0)
            st.vmm_pid = strtol(v, NULL, 10);
        else if (strcmp(line, "created") == 0)
            st.created = strtol(v, NULL, 10);
        else if (strcmp(line, "command") == 0)
            free(st.command), st.command = xstrdup(v);
        else if (strcmp(line, "container_id") == 0)
            free(st.container_id), st.container_id = xstrdup(v);
        else if (strcmp(line, "debug_console") == 0)
            st.debug_console = strcmp(v, "1") == 0;
        else if (strcmp(line, "vsock_cid") == 0)
            st.vsock_cid = strtol(v, NULL, 10);
    }
    free(line);
    if (!st.name || st.pid <= 0) {
        session_state_free(&st);
        return make_error(err, EBADMSG, "malformed %s", path);
    }
    *ret = st;
    return 0;
}

void session_state_free(struct session_state *st)
{
    free(st->name);
    free(st->command);
    free(st->container_id);
    memset(st, 0, sizeof(*st));
}

bool session_owner_alive(const struct session_state *st)
{
    if (st->pid <= 0 || (kill((pid_t)st->pid, 0) < 0 && errno == ESRCH))
        return false;
    /* Guard against pid reuse: the owner's command name is kata-host. */
    cleanup_free char *path = xasprintf("/proc/%ld/comm", st->pid);
    cleanup_file FILE *f = fopen(path, "re");
    char comm[64] = "";
    if (!f || !fgets(comm, sizeof(comm), f))
        return false;
    return strncmp(comm, "kata-host", 9) == 0;
}
