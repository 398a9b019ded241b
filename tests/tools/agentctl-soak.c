/* agentctl's soak subcommands (issue 11 item 5): long or concurrent client behaviour that one
 * RPC per agentctl process cannot express. Each creates the containers it needs in --rootfs
 * (a busybox tree; soak-slow-read also needs /bin/payload) and removes them, checks every
 * answer, prints one line of figures and exits 1 on the first wrong answer.
 *
 *   soak-cycles --rootfs R --count N [--warmup W] [--pid P]
 *       N x CreateContainer, StartContainer, ReadStdout to EOF, WaitProcess, RemoveContainer
 *       of `sh -c 'echo cycle-I; exit I%100'`, after W unmeasured ones; with --pid, P's fd
 *       count and VmRSS before and after the N
 *   soak-execs --rootfs R --count N
 *       one container, N threads on one connection each ExecProcess `sh -c 'echo exec-I;
 *       exit I%256'` at once (a barrier), then read stdout to EOF and WaitProcess
 *   soak-slow-read --rootfs R --bytes N [--len L] [--delay-us D] [--pid P]
 *       a container writing N bytes of payload's pattern, read L bytes per ReadStdout with D us
 *       between calls; every byte checked; with --pid, P's largest VmRSS seen while reading
 *   soak-reconnect --rootfs R --rounds N [--burst B]
 *       a container printing B numbered lines per line on its stdin; each round parks a
 *       ReadStdout on the idle process and drops the connection under it, reconnects, asks for
 *       a burst, reads part of it, drops the connection again with the rest still in the
 *       pipe, reconnects and reads the rest: the lines must come out 1..N*B, once each */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "agent.pb-c.h"
#include "agentctl.h"
#include "cleanup.h"
#include "ttrpc.h"
#include "xalloc.h"

#define AGENT_SVC "grpc.AgentService"

struct soak {
    const char *addr, *rootfs;
    struct ttrpc_client *client;
    int64_t tmo;
    long count, warmup, bytes, len, delay_us, rounds, burst;
    int pid;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static _Noreturn __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "agentctl soak: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---------------------------------------------------------------- the agent's process */

static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    cleanup_file FILE *f = fopen(path, "re");
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    return kib;
}

static long fd_count(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    cleanup_dir DIR *d = opendir(path);
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    return n;
}

/* ---------------------------------------------------------------- requests */

static Grpc__Process *make_process(const char *const *args)
{
    static char *env[] = {"PATH=/bin:/usr/bin", NULL};
    Grpc__Process *p = xmalloc(sizeof(*p));
    grpc__process__init(p);
    size_t n = 0;
    while (args[n])
        n++;
    p->n_args = n;
    p->args = (char **)args;
    p->n_env = 1;
    p->env = env;
    p->cwd = "/";
    p->user = xmalloc(sizeof(*p->user));
    grpc__user__init(p->user);
    return p;
}

static void free_process(Grpc__Process *p)
{
    free(p->user);
    free(p);
}

/* A container of the soak: its own pid, mount, ipc and uts namespaces, /proc, nothing else. */
static void create(struct soak *s, const char *id, const char *const *args)
{
    static const char *ns_types[] = {"pid", "mount", "ipc", "uts"};
    Grpc__LinuxNamespace ns[4], *nsp[4];
    for (int i = 0; i < 4; i++) {
        grpc__linux_namespace__init(&ns[i]);
        ns[i].type = (char *)ns_types[i];
        nsp[i] = &ns[i];
    }
    Grpc__Linux linux = GRPC__LINUX__INIT;
    linux.n_namespaces = 4;
    linux.namespaces = nsp;
    Grpc__Mount proc = GRPC__MOUNT__INIT, *mounts[] = {&proc};
    proc.destination = "/proc";
    proc.type = proc.source = "proc";
    Grpc__Root root = GRPC__ROOT__INIT;
    root.path = (char *)s->rootfs;
    Grpc__Spec spec = GRPC__SPEC__INIT;
    spec.version = "1.0.2";
    spec.process = make_process(args);
    spec.root = &root;
    spec.n_mounts = 1;
    spec.mounts = mounts;
    spec.linux = &linux;
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = req.exec_id = (char *)id;
    req.oci = &spec;
    ProtobufCMessage *r =
        agentctl_call(s->client, AGENT_SVC, "CreateContainer", &req.base, NULL, s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    free_process(spec.process);
    Grpc__StartContainerRequest start = GRPC__START_CONTAINER_REQUEST__INIT;
    start.container_id = (char *)id;
    r = agentctl_call(s->client, AGENT_SVC, "StartContainer", &start.base, NULL, s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
}

static void remove_container(struct soak *s, const char *id)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    ProtobufCMessage *r =
        agentctl_call(s->client, AGENT_SVC, "RemoveContainer", &req.base, NULL, s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
}

static int wait_process(struct ttrpc_client *c, struct soak *s, const char *id, const char *eid)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    Grpc__WaitProcessResponse *r = (Grpc__WaitProcessResponse *)agentctl_call(
        c, AGENT_SVC, "WaitProcess", &req.base, &grpc__wait_process_response__descriptor, s->tmo);
    int st = r->status;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return st;
}

/* One ReadStdout; returns its answer (data.len 0 = EOF), or NULL with *ret_err set when the
 * call failed (a dropped connection). The caller frees the answer. */
static Grpc__ReadStreamResponse *read_stdout(struct ttrpc_client *c, const char *id,
                                             const char *eid, uint32_t len, int64_t tmo,
                                             int *ret_err)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    req.len = len;
    ProtobufCMessage *resp = NULL;
    cleanup_error struct kerr *err = NULL;
    int r = ttrpc_client_call(c, AGENT_SVC, "ReadStdout", &req.base,
                              &grpc__read_stream_response__descriptor, &resp, tmo, &err);
    if (ret_err)
        *ret_err = r;
    if (r < 0 && !ret_err)
        die("ReadStdout: %s", err && err->msg ? err->msg : strerror(-r));
    return (Grpc__ReadStreamResponse *)resp;
}

/* Everything the process writes to stdout, NUL-terminated. */
static char *read_all(struct ttrpc_client *c, struct soak *s, const char *id, const char *eid,
                      size_t *ret_len)
{
    size_t n = 0;
    char *out = xmalloc(1);
    for (;;) {
        Grpc__ReadStreamResponse *r = read_stdout(c, id, eid, 32768, s->tmo, NULL);
        size_t got = r->data.len;
        out = xrealloc(out, n + got + 1);
        memcpy(out + n, r->data.data, got);
        n += got;
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (got == 0)
            break;
    }
    out[n] = '\0';
    if (ret_len)
        *ret_len = n;
    return out;
}

/* ---------------------------------------------------------------- soak-cycles */

static void one_cycle(struct soak *s, long i)
{
    char id[32], script[64], want[32];
    snprintf(id, sizeof(id), "soak-cycle-%ld", i);
    snprintf(script, sizeof(script), "echo cycle-%ld; exit %ld", i, i % 100);
    snprintf(want, sizeof(want), "cycle-%ld\n", i);
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    create(s, id, args);
    cleanup_free char *out = read_all(s->client, s, id, id, NULL);
    int st = wait_process(s->client, s, id, id);
    remove_container(s, id);
    if (strcmp(out, want) != 0)
        die("%s: wrong output", id);
    if (st != i % 100)
        die("%s: exit status %d", id, st);
}

static int soak_cycles(struct soak *s)
{
    for (long i = 0; i < s->warmup; i++)
        one_cycle(s, 1000000 + i);
    long fds0 = s->pid ? fd_count(s->pid) : -1, rss0 = s->pid ? rss_kib(s->pid) : -1;
    double t0 = now_s();
    for (long i = 0; i < s->count; i++)
        one_cycle(s, i);
    double secs = now_s() - t0;
    long fds1 = s->pid ? fd_count(s->pid) : -1, rss1 = s->pid ? rss_kib(s->pid) : -1;
    printf("cycles=%ld secs=%.2f fds_before=%ld fds_after=%ld rss_before_KiB=%ld "
           "rss_after_KiB=%ld\n",
           s->count, secs, fds0, fds1, rss0, rss1);
    return 0;
}

/* ---------------------------------------------------------------- soak-execs */

struct exec_job {
    struct soak *s;
    pthread_barrier_t *go;
    long i;
    bool ok;
};

static void *exec_thread(void *arg)
{
    struct exec_job *j = arg;
    char eid[32], script[64], want[32];
    snprintf(eid, sizeof(eid), "x%ld", j->i);
    snprintf(script, sizeof(script), "echo exec-%ld; exit %ld", j->i, j->i % 256);
    snprintf(want, sizeof(want), "exec-%ld\n", j->i);
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = "soak-execs";
    req.exec_id = eid;
    req.process = make_process(args);
    pthread_barrier_wait(j->go);
    ProtobufCMessage *r =
        agentctl_call(j->s->client, AGENT_SVC, "ExecProcess", &req.base, NULL, j->s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    free_process(req.process);
    cleanup_free char *out = read_all(j->s->client, j->s, "soak-execs", eid, NULL);
    int st = wait_process(j->s->client, j->s, "soak-execs", eid);
    j->ok = strcmp(out, want) == 0 && st == j->i % 256;
    if (!j->ok)
        fprintf(stderr, "exec %s: status %d, output \"%s\"\n", eid, st, out);
    return NULL;
}

static int soak_execs(struct soak *s)
{
    const char *args[] = {"/bin/sh", "-c", "exec sleep 3600", NULL};
    create(s, "soak-execs", args);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)s->count + 1);
    cleanup_free struct exec_job *jobs = xcalloc((size_t)s->count, sizeof(*jobs));
    cleanup_free pthread_t *threads = xcalloc((size_t)s->count, sizeof(*threads));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (long i = 0; i < s->count; i++) {
        jobs[i] = (struct exec_job){.s = s, .go = &go, .i = i};
        if (pthread_create(&threads[i], &attr, exec_thread, &jobs[i]) != 0)
            die("thread %ld", i);
    }
    double t0 = now_s();
    pthread_barrier_wait(&go);
    long ok = 0;
    for (long i = 0; i < s->count; i++) {
        pthread_join(threads[i], NULL);
        ok += jobs[i].ok;
    }
    double secs = now_s() - t0;
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&go);
    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = sig.exec_id = "soak-execs";
    sig.signal = 9;
    ProtobufCMessage *r =
        agentctl_call(s->client, AGENT_SVC, "SignalProcess", &sig.base, NULL, s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    wait_process(s->client, s, "soak-execs", "soak-execs");
    remove_container(s, "soak-execs");
    printf("execs=%ld ok=%ld secs=%.2f\n", s->count, ok, secs);
    return ok == s->count ? 0 : 1;
}

/* ---------------------------------------------------------------- soak-slow-read */

static int soak_slow_read(struct soak *s)
{
    char n[32];
    snprintf(n, sizeof(n), "%ld", s->bytes);
    const char *args[] = {"/bin/payload", "pattern", n, NULL};
    create(s, "soak-slow", args);
    long rss0 = s->pid ? rss_kib(s->pid) : -1, rss_max = rss0;
    double t0 = now_s();
    size_t total = 0;
    for (unsigned long calls = 0;; calls++) {
        Grpc__ReadStreamResponse *r =
            read_stdout(s->client, "soak-slow", "soak-slow", (uint32_t)s->len, s->tmo, NULL);
        size_t got = r->data.len;
        /* payload writes byte k of the stream as k mod 256 */
        for (size_t k = 0; k < got; k++)
            if (r->data.data[k] != (uint8_t)(total + k))
                die("byte %ld is wrong", (long)(total + k));
        total += got;
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (got == 0)
            break;
        if (s->pid && calls % 64 == 0) {
            long kib = rss_kib(s->pid);
            rss_max = kib > rss_max ? kib : rss_max;
        }
        if (s->delay_us)
            usleep((useconds_t)s->delay_us);
    }
    double secs = now_s() - t0;
    int st = wait_process(s->client, s, "soak-slow", "soak-slow");
    remove_container(s, "soak-slow");
    printf("bytes=%zu status=%d secs=%.2f rss_start_KiB=%ld rss_max_KiB=%ld\n", total, st, secs,
           rss0, rss_max);
    return total == (size_t)s->bytes && st == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- soak-reconnect */

struct parked_read {
    struct ttrpc_client *client;
    int r;
    size_t got;
    atomic_bool done;
};

static void *parked_read_thread(void *arg)
{
    struct parked_read *p = arg;
    Grpc__ReadStreamResponse *resp =
        read_stdout(p->client, "soak-reconnect", "soak-reconnect", 16, 0, &p->r);
    if (resp) {
        p->got = resp->data.len;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    p->done = true;
    return NULL;
}

/* Drops the connection (failing any call still waiting on it) and makes a new one. */
static void reconnect(struct soak *s)
{
    ttrpc_client_free(s->client);
    int fd = agentctl_dial(s->addr);
    s->client = fd >= 0 ? ttrpc_client_new(fd) : NULL;
    if (!s->client)
        die("connect %s: %s", s->addr, strerror(errno));
}

static void append(char **buf, size_t *n, const Grpc__ReadStreamResponse *r)
{
    *buf = xrealloc(*buf, *n + r->data.len + 1);
    memcpy(*buf + *n, r->data.data, r->data.len);
    *n += r->data.len;
    (*buf)[*n] = '\0';
}

static int soak_reconnect(struct soak *s)
{
    char script[160];
    snprintf(script, sizeof(script),
             "i=0; while read x; do j=0; while [ $j -lt %ld ]; do i=$((i+1)); j=$((j+1)); "
             "echo $i; done; done",
             s->burst);
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    create(s, "soak-reconnect", args);
    cleanup_free char *got = xmalloc(1);
    size_t n = 0;
    long dropped_parked = 0, dropped_pending = 0;
    got[0] = '\0';
    for (long round = 1; round <= s->rounds; round++) {
        /* nothing to read: the read parks, and the connection goes away under it */
        struct parked_read p = {.client = s->client};
        pthread_t t;
        pthread_create(&t, NULL, parked_read_thread, &p);
        usleep(100000);
        if (p.done)
            die("round %ld: the read was answered with nothing written", round);
        reconnect(s);
        pthread_join(t, NULL);
        if (p.r == 0)
            die("round %ld: a read on the dropped connection succeeded", round);
        dropped_parked++;
        /* one burst; part of it read here, the rest after another reconnect */
        Grpc__WriteStreamRequest w = GRPC__WRITE_STREAM_REQUEST__INIT;
        w.container_id = w.exec_id = "soak-reconnect";
        w.data.data = (uint8_t *)"go\n";
        w.data.len = 3;
        ProtobufCMessage *wr = agentctl_call(s->client, AGENT_SVC, "WriteStdin", &w.base,
                                             &grpc__write_stream_response__descriptor, s->tmo);
        protobuf_c_message_free_unpacked(wr, NULL);
        char last[32];
        int last_len = snprintf(last, sizeof(last), "\n%ld\n", round * s->burst);
        bool reconnected = false;
        while (n < (size_t)last_len || strcmp(got + n - (size_t)last_len, last) != 0) {
            Grpc__ReadStreamResponse *r =
                read_stdout(s->client, "soak-reconnect", "soak-reconnect", 7, s->tmo, NULL);
            if (r->data.len == 0)
                die("round %ld: end of stream", round);
            append(&got, &n, r);
            protobuf_c_message_free_unpacked(&r->base, NULL);
            if (!reconnected) {
                reconnect(s);
                reconnected = true;
                dropped_pending++;
            }
        }
    }
    /* the whole stream, in order, each line once */
    size_t off = 0;
    for (long i = 1; i <= s->rounds * s->burst; i++) {
        char line[32];
        int len = snprintf(line, sizeof(line), "%ld\n", i);
        if (strncmp(got + off, line, (size_t)len) != 0)
            die("line %ld is missing or out of place", i);
        off += (size_t)len;
    }
    if (off != n)
        die("%ld bytes after the last line", (long)(n - off));
    Grpc__CloseStdinRequest cl = GRPC__CLOSE_STDIN_REQUEST__INIT;
    cl.container_id = cl.exec_id = "soak-reconnect";
    ProtobufCMessage *r = agentctl_call(s->client, AGENT_SVC, "CloseStdin", &cl.base, NULL, s->tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
    cleanup_free char *rest = read_all(s->client, s, "soak-reconnect", "soak-reconnect", NULL);
    int st = wait_process(s->client, s, "soak-reconnect", "soak-reconnect");
    remove_container(s, "soak-reconnect");
    printf("lines=%ld dropped_parked=%ld dropped_pending=%ld status=%d trailing=%zu\n",
           s->rounds * s->burst, dropped_parked, dropped_pending, st, strlen(rest));
    return st == 0 && rest[0] == '\0' ? 0 : 1;
}

/* ---------------------------------------------------------------- dispatch */

int agentctl_soak(const char *addr, struct ttrpc_client **client, int64_t tmo, int argc,
                  char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct soak *);
    } cmds[] = {
        {"soak-cycles", soak_cycles},
        {"soak-execs", soak_execs},
        {"soak-slow-read", soak_slow_read},
        {"soak-reconnect", soak_reconnect},
    };
    int (*fn)(struct soak *) = NULL;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            fn = cmds[i].fn;
    if (!fn)
        return -1;
    static const struct option lo[] = {
        {"rootfs", 1, 0, 'r'}, {"count", 1, 0, 'n'}, {"warmup", 1, 0, 'w'},   {"pid", 1, 0, 'p'},
        {"bytes", 1, 0, 'b'},  {"len", 1, 0, 'l'},   {"delay-us", 1, 0, 'd'}, {"rounds", 1, 0, 'R'},
        {"burst", 1, 0, 'B'},  {0, 0, 0, 0},
    };
    struct soak s = {.addr = addr,
                     .client = *client,
                     .tmo = tmo,
                     .count = 100,
                     .len = 65536,
                     .rounds = 20,
                     .burst = 50};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            s.rootfs = optarg;
            break;
        case 'n':
            s.count = atol(optarg);
            break;
        case 'w':
            s.warmup = atol(optarg);
            break;
        case 'p':
            s.pid = atoi(optarg);
            break;
        case 'b':
            s.bytes = atol(optarg);
            break;
        case 'l':
            s.len = atol(optarg);
            break;
        case 'd':
            s.delay_us = atol(optarg);
            break;
        case 'R':
            s.rounds = atol(optarg);
            break;
        case 'B':
            s.burst = atol(optarg);
            break;
        default:
            return 64;
        }
    }
    if (!s.rootfs || s.count < 1 || s.len < 1 || s.burst < 1) {
        fprintf(stderr, "agentctl %s: --rootfs is required; counts must be positive\n", argv[0]);
        return 64;
    }
    int r = fn(&s);
    fflush(stdout);
    *client = s.client; /* soak-reconnect replaces it */
    return r;
}
