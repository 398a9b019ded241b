#include "ttrpc-testsvc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "health.pb-c.h"
#include "xalloc.h"

#define MAX_PARKED 256

struct testsvc {
    struct loop *loop;
    struct ttrpc_server *server;
    struct loop_source *listener;
    int listen_fd;
    struct ttrpc_call *parked[MAX_PARKED];
    int n_parked;
    int cancelled;
    int closed;
    int keepfd_ok;
    ProtobufCServiceDescriptor partial;
};

static const char *req_service(const struct ttrpc_call *call)
{
    return ((const Grpc__CheckRequest *)call->request)->service;
}

static void reply_version(struct ttrpc_call *call, const char *text)
{
    Grpc__VersionCheckResponse r = GRPC__VERSION_CHECK_RESPONSE__INIT;
    r.grpc_version = (char *)text;
    r.agent_version = (char *)"ttrpc-test";
    ttrpc_reply(call, &r.base);
}

static void unpark(struct testsvc *t, struct ttrpc_call *call)
{
    for (int i = 0; i < t->n_parked; i++) {
        if (t->parked[i] == call) {
            t->parked[i] = t->parked[--t->n_parked];
            return;
        }
    }
}

static void parked_cancelled(struct ttrpc_call *call, void *data)
{
    struct testsvc *t = data;
    unpark(t, call);
    t->cancelled++;
}

static void do_check(struct ttrpc_call *call, void *data)
{
    Grpc__HealthCheckResponse r = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    r.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_reply(call, &r.base);
}

static void do_release(struct testsvc *t, struct ttrpc_call *call)
{
    int n = t->n_parked;
    /* Newest first, so replies leave in the opposite order of the requests. */
    while (t->n_parked > 0) {
        struct ttrpc_call *p = t->parked[--t->n_parked];
        reply_version(p, req_service(p) + strlen("park:"));
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", n);
    reply_version(call, buf);
}

static void do_version(struct ttrpc_call *call, void *data)
{
    struct testsvc *t = data;
    const char *cmd = req_service(call);
    if (strncmp(cmd, "park:", 5) == 0) {
        if (t->n_parked == MAX_PARKED) {
            ttrpc_reply_error(call, RPC_RESOURCE_EXHAUSTED, "too many parked calls");
            return;
        }
        t->parked[t->n_parked++] = call;
        call->on_cancel = parked_cancelled;
        call->cancel_data = t;
    } else if (strcmp(cmd, "release") == 0) {
        do_release(t, call);
    } else if (strncmp(cmd, "big:", 4) == 0) {
        size_t n = strtoul(cmd + 4, NULL, 10);
        cleanup_free char *s = xmalloc(n + 1);
        memset(s, 'x', n);
        s[n] = 0;
        reply_version(call, s);
    } else if (strncmp(cmd, "error:", 6) == 0) {
        char *end;
        long code = strtol(cmd + 6, &end, 10);
        ttrpc_reply_error(call, (int)code, "%s", *end == ':' ? end + 1 : "");
    } else if (strcmp(cmd, "kerr") == 0) {
        struct kerr *e = NULL;
        make_error(&e, ENOENT, "open %s", "/nonexistent");
        ttrpc_reply_kerr(call, e);
        error_free(e);
    } else if (strcmp(cmd, "wrongtype") == 0) {
        Grpc__HealthCheckResponse r = GRPC__HEALTH_CHECK_RESPONSE__INIT;
        ttrpc_reply(call, &r.base);
    } else if (strcmp(cmd, "close") == 0) {
        ttrpc_conn_close(call->conn);
        reply_version(call, "closed"); /* must be dropped quietly */
    } else if (strcmp(cmd, "stats") == 0) {
        char buf[128];
        snprintf(buf, sizeof(buf), "conns=%zu parked=%d cancelled=%d closed=%d keepfd=%d",
                 ttrpc_server_conn_count(t->server), t->n_parked, t->cancelled, t->closed,
                 t->keepfd_ok);
        reply_version(call, buf);
    } else {
        reply_version(call, "0.0.1");
    }
}

static void conn_closed(struct ttrpc_conn *c, void *data)
{
    struct testsvc *t = data;
    t->closed++;
}

struct keepfd {
    struct testsvc *t;
    int fd;
};

static void keepfd_closed(struct ttrpc_conn *c, void *data)
{
    struct keepfd *k = data;
    k->t->closed++;
    if (fcntl(k->fd, F_GETFD) >= 0)
        k->t->keepfd_ok++;
    close(k->fd);
    free(k);
}

void testsvc_add_fd(struct testsvc *t, int fd, bool keep_fd)
{
    if (!keep_fd) {
        if (!ttrpc_server_add_conn(t->server, fd, 0, conn_closed, t))
            close(fd);
        return;
    }
    struct keepfd *k = xmalloc(sizeof(*k));
    *k = (struct keepfd){t, fd};
    if (!ttrpc_server_add_conn(t->server, fd, TTRPC_CONN_KEEP_FD, keepfd_closed, k)) {
        free(k);
        close(fd);
    }
}

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct testsvc *t = data;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0)
        testsvc_add_fd(t, c, false);
}

void testsvc_listen(struct testsvc *t, int listen_fd)
{
    t->listen_fd = listen_fd;
    t->listener = loop_add_fd(t->loop, listen_fd, EPOLLIN, on_accept, t);
}

struct testsvc *testsvc_new(struct loop *loop)
{
    static const ttrpc_method_fn health[] = {do_check, do_version};
    static const ttrpc_method_fn none[] = {NULL, NULL};
    struct testsvc *t = xcalloc(1, sizeof(*t));
    t->loop = loop;
    t->listen_fd = -1;
    t->server = ttrpc_server_new(loop);
    ttrpc_server_register(t->server, &grpc__health__descriptor, health, t);
    t->partial = grpc__health__descriptor;
    t->partial.name = "test.Partial";
    ttrpc_server_register(t->server, &t->partial, none, t);
    return t;
}

void testsvc_free(struct testsvc *t)
{
    loop_remove_fd(t->listener);
    ttrpc_server_free(t->server);
    free(t);
}

struct ttrpc_server *testsvc_server(struct testsvc *t)
{
    return t->server;
}
