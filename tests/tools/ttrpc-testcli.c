/* ttrpc-testcli SOCKET: our C client against the Go ttrpc server of tests/go (ttrpccheck
 * server). Prints unnumbered TAP lines ("ok - ..."); tests/unit/ttrpc-go.sh numbers them. */
#include <errno.h>
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
#include "ttrpc.h"
#include "xalloc.h"

#define SEC 1000000000LL

static bool failed;

__attribute__((format(printf, 2, 3))) static void report(bool good, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - c: ", good ? "ok" : "not ok");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!good)
        failed = true;
}

static int version(struct ttrpc_client *c, const char *cmd, char **ret, struct kerr **err)
{
    Grpc__CheckRequest in = GRPC__CHECK_REQUEST__INIT;
    in.service = (char *)cmd;
    ProtobufCMessage *out = NULL;
    int r = ttrpc_client_call(c, "grpc.Health", "Version", &in.base,
                              &grpc__version_check_response__descriptor, &out, 20 * SEC, err);
    if (r == 0) {
        if (ret)
            *ret = xstrdup(((Grpc__VersionCheckResponse *)out)->grpc_version);
        protobuf_c_message_free_unpacked(out, NULL);
    }
    return r;
}

struct parker {
    struct ttrpc_client *c;
    char tag[16];
    int r;
    char *got;
    bool done;
};

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;

static void *park(void *arg)
{
    struct parker *p = arg;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "park:%s", p->tag);
    struct kerr *err = NULL;
    p->r = version(p->c, cmd, &p->got, &err);
    error_free(err);
    pthread_mutex_lock(&done_lock);
    p->done = true;
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("not ok - c: connect %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    struct ttrpc_client *c = ttrpc_client_new(fd);

    uint8_t *raw = NULL;
    size_t len = 0;
    struct kerr *err = NULL;
    int r = ttrpc_client_call_raw(c, "grpc.Health", "Check", NULL, 0, &raw, &len, 5 * SEC, &err);
    report(r == 0 && len == 2 && raw[0] == 0x08 && raw[1] == 0x01,
           "C client -> Go server: Health.Check = SERVING (a reply without status is success)");
    free(raw);
    error_free(steal_ptr(err));

    char *v = NULL;
    r = version(c, "", &v, &err);
    report(r == 0 && v && strcmp(v, "go") == 0, "Health.Version decodes as VersionCheckResponse");
    free(v);
    error_free(steal_ptr(err));

    r = version(c, "fail", NULL, &err);
    report(r == -EPROTO && err && err->status == RPC_NOT_FOUND && strcmp(err->msg, "nope") == 0,
           "Go status error -> -EPROTO NOT_FOUND \"nope\" (%s)", err ? err->msg : "");
    error_free(steal_ptr(err));

    Grpc__CheckRequest in = GRPC__CHECK_REQUEST__INIT;
    r = ttrpc_client_call(c, "grpc.Nope", "Check", &in.base, NULL, NULL, 5 * SEC, &err);
    report(r == -EPROTO && err && err->status == RPC_UNIMPLEMENTED,
           "unknown service on the Go server -> UNIMPLEMENTED (%s)", err ? err->msg : "");
    error_free(steal_ptr(err));

    /* Concurrency: parked calls in the Go server released together. */
    enum { N = 8 };
    struct parker p[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        p[i] = (struct parker){.c = c};
        snprintf(p[i].tag, sizeof(p[i].tag), "c%d", i);
        pthread_create(&th[i], NULL, park, &p[i]);
    }
    /* A release only frees the calls already parked: repeat until all came back. */
    int done = 0;
    for (int round = 0; round < 50 && done < N; round++) {
        usleep(100000);
        version(c, "release", NULL, &err);
        error_free(steal_ptr(err));
        usleep(20000);
        pthread_mutex_lock(&done_lock);
        done = 0;
        for (int i = 0; i < N; i++)
            done += p[i].done;
        pthread_mutex_unlock(&done_lock);
    }
    int good = 0;
    for (int i = 0; i < N; i++) {
        if (done == N)
            pthread_join(th[i], NULL);
        if (p[i].r == 0 && p[i].got && strcmp(p[i].got, p[i].tag) == 0)
            good++;
        free(p[i].got);
    }
    report(good == N, "%d concurrent calls on one connection, each got its own reply (%d/%d)", N,
           good, N);
    if (done != N)
        return 1; /* threads still blocked: do not free the client under them */

    ttrpc_client_free(c);
    return failed ? 1 : 0;
}
