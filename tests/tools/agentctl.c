/* agentctl: the project's low-level client of kata-agent, one subcommand per RPC, used by the
 * integration tests and the benchmark.
 *
 *   agentctl -a ADDR [-T SECONDS] COMMAND [OPTIONS] [-- ARGS]
 *
 * ADDR: unix:///path, unix://@name, vsock://CID:PORT. An RPC error prints "CODE: message" on
 * stderr and exits 2; a transport error exits 1; `run` exits with the process status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "agentctl.h"
#include "version.h"
#include "xalloc.h"

#define AGENT_SVC "grpc.AgentService"
#define HEALTH_SVC "grpc.Health"

static struct ttrpc_client *client;
static int64_t timeout_ns;
static const char *addr;

static int dial(const char *a)
{
    int fd = -1;
    if (strncmp(a, "unix://", 7) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *p = a + 7;
        socklen_t len;
        if (p[0] == '@') {
            strncpy(sa.sun_path + 1, p + 1, sizeof(sa.sun_path) - 2);
            len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(p + 1));
        } else {
            strncpy(sa.sun_path, p, sizeof(sa.sun_path) - 1);
            len = sizeof(sa);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) < 0) {
            close(fd);
            fd = -1;
        }
    } else if (strncmp(a, "vsock://", 8) == 0) {
        struct sockaddr_vm sa = {.svm_family = AF_VSOCK};
        unsigned cid, port;
        if (sscanf(a + 8, "%u:%u", &cid, &port) != 2) {
            errno = EINVAL;
            return -1;
        }
        sa.svm_cid = cid;
        sa.svm_port = port;
        fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            fd = -1;
        }
    } else {
        errno = EINVAL;
    }
    return fd;
}

int agentctl_dial(const char *a)
{
    return dial(a);
}

static void connect_client(void)
{
    int fd = dial(addr);
    if (fd < 0) {
        fprintf(stderr, "agentctl: connect %s: %s\n", addr, strerror(errno));
        exit(1);
    }
    client = ttrpc_client_new(fd);
}

ProtobufCMessage *agentctl_call(struct ttrpc_client *client, const char *svc, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *resp_desc, int64_t tmo)
{
    struct kerr *err = NULL;
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call(client, svc, method, req, resp_desc, &resp, tmo, &err);
    if (r == -EPROTO && err) {
        fprintf(stderr, "%s: %s\n", rpc_code_name(err->status), err->msg ? err->msg : "");
        exit(2);
    }
    if (r < 0) {
        fprintf(stderr, "agentctl: %s: %s\n", method, err && err->msg ? err->msg : strerror(-r));
        exit(1);
    }
    error_free(err);
    return resp;
}

static ProtobufCMessage *call(const char *svc, const char *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *resp_desc, int64_t tmo)
{
    return agentctl_call(client, svc, method, req, resp_desc, tmo);
}

static void call_empty(const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *resp = call(AGENT_SVC, method, req, NULL, timeout_ns);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
}

/* ---------------------------------------------------------------- options */

struct opts {
    const char *id, *exec_id, *rootfs, *cwd, *user, *ns, *hostname, *data, *cgroups_path, *caps,
        *seccomp;
    char **env;
    size_t n_env;
    char **dns;
    size_t n_dns;
    char **storages;
    size_t n_storages;
    char **devices;
    size_t n_devices;
    bool terminal, no_new_privs, sandbox_pidns, interactive, all, keep, readonly;
    long len, timeout, signal, rows, cols, memory, runs;
    char **args;
    size_t n_args;
};

static void usage(void)
{
    fputs("usage: agentctl -a ADDR [-T SECS] COMMAND [OPTIONS] [-- ARGS]  |  agentctl -V\n"
          "commands: check version create-sandbox destroy-sandbox create-container\n"
          "  start-container exec read-stdout read-stderr write-stdin close-stdin wait signal\n"
          "  remove resize pause resume update guest-details oom-event stats\n"
          "  update-interface list-interfaces update-routes list-routes add-arp\n"
          "  add-swap --pci SS/SS  add-swap-path --path P  update-ephemeral --storage S\n"
          "  copy-file push metrics get-iptables set-iptables (see agentctl-files.c)\n"
          "  online-cpu-mem --cpus N [--cpu-only]\n"
          "  call SERVICE METHOD HEX"
          "  raw-hex HEX  run\n"
          "options: --id C --exec-id E --rootfs DIR --terminal|-t --env K=V --cwd DIR\n"
          "  --user UID[:GID] --ns pid,mount,ipc,uts,net --hostname H --sandbox-pidns\n"
          "  --cgroups-path P --caps LIST|none --readonly --len N --all --data STR\n"
          "  --timeout SECS --signal N --rows R --cols C --dns LINE --storage D:SRC:FS:MP[:OPTS]\n"
          "  --memory BYTES (memory limit, no swap)\n"
          "  --seccomp FILE (linux.seccomp, OCI JSON) --no-new-privs (create-container, exec)\n"
          "  --device 'TYPE;ID;VM_PATH;CONTAINER_PATH;HOST_MAJOR;HOST_MINOR' (create-container)\n"
          "  network: --mac M --name N --mtu N --ip A/P --noarp --route DEST,GW,DEV[,SRC[,SCOPE]]\n"
          "  --dev D --state N\n"
          "  -i (run: relay stdin) --keep (run: do not remove the container)\n"
          "  --runs N (run: N containers ID-1..ID-N in turn on this one connection)\n",
          stderr);
    exit(64);
}

static char **push(char **v, size_t *n, const char *s)
{
    v = xrealloc(v, (*n + 2) * sizeof(char *));
    v[(*n)++] = (char *)s;
    v[*n] = NULL;
    return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        OPT_ID = 256,
        OPT_EXEC,
        OPT_ROOTFS,
        OPT_ENV,
        OPT_CWD,
        OPT_USER,
        OPT_NS,
        OPT_HOST,
        OPT_SPIDNS,
        OPT_LEN,
        OPT_ALL,
        OPT_DATA,
        OPT_TIMEOUT,
        OPT_SIGNAL,
        OPT_ROWS,
        OPT_COLS,
        OPT_DNS,
        OPT_STORAGE,
        OPT_DEVICE,
        OPT_KEEP,
        OPT_CGP,
        OPT_CAPS,
        OPT_RO,
        OPT_MEM,
        OPT_SECCOMP,
        OPT_NNP,
        OPT_RUNS
    };
    static const struct option lo[] = {
        {"id", 1, 0, OPT_ID},
        {"exec-id", 1, 0, OPT_EXEC},
        {"rootfs", 1, 0, OPT_ROOTFS},
        {"terminal", 0, 0, 't'},
        {"env", 1, 0, OPT_ENV},
        {"cwd", 1, 0, OPT_CWD},
        {"user", 1, 0, OPT_USER},
        {"ns", 1, 0, OPT_NS},
        {"hostname", 1, 0, OPT_HOST},
        {"sandbox-pidns", 0, 0, OPT_SPIDNS},
        {"len", 1, 0, OPT_LEN},
        {"all", 0, 0, OPT_ALL},
        {"data", 1, 0, OPT_DATA},
        {"timeout", 1, 0, OPT_TIMEOUT},
        {"signal", 1, 0, OPT_SIGNAL},
        {"rows", 1, 0, OPT_ROWS},
        {"cols", 1, 0, OPT_COLS},
        {"dns", 1, 0, OPT_DNS},
        {"storage", 1, 0, OPT_STORAGE},
        {"device", 1, 0, OPT_DEVICE},
        {"keep", 0, 0, OPT_KEEP},
        {"cgroups-path", 1, 0, OPT_CGP},
        {"caps", 1, 0, OPT_CAPS},
        {"readonly", 0, 0, OPT_RO},
        {"memory", 1, 0, OPT_MEM},
        {"seccomp", 1, 0, OPT_SECCOMP},
        {"no-new-privs", 0, 0, OPT_NNP},
        {"runs", 1, 0, OPT_RUNS},
        {0, 0, 0, 0},
    };
    *o = (struct opts){.len = 32768, .signal = 15, .ns = "pid,mount,ipc,uts"};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+ti", lo, NULL)) != -1) {
        switch (c) {
        case OPT_ID:
            o->id = optarg;
            break;
        case OPT_EXEC:
            o->exec_id = optarg;
            break;
        case OPT_ROOTFS:
            o->rootfs = optarg;
            break;
        case 't':
            o->terminal = true;
            break;
        case 'i':
            o->interactive = true;
            break;
        case OPT_ENV:
            o->env = push(o->env, &o->n_env, optarg);
            break;
        case OPT_CWD:
            o->cwd = optarg;
            break;
        case OPT_USER:
            o->user = optarg;
            break;
        case OPT_NS:
            o->ns = optarg;
            break;
        case OPT_HOST:
            o->hostname = optarg;
            break;
        case OPT_SPIDNS:
            o->sandbox_pidns = true;
            break;
        case OPT_LEN:
            o->len = atol(optarg);
            break;
        case OPT_ALL:
            o->all = true;
            break;
        case OPT_DATA:
            o->data = optarg;
            break;
        case OPT_TIMEOUT:
            o->timeout = atol(optarg);
            break;
        case OPT_SIGNAL:
            o->signal = atol(optarg);
            break;
        case OPT_ROWS:
            o->rows = atol(optarg);
            break;
        case OPT_COLS:
            o->cols = atol(optarg);
            break;
        case OPT_DNS:
            o->dns = push(o->dns, &o->n_dns, optarg);
            break;
        case OPT_STORAGE:
            o->storages = push(o->storages, &o->n_storages, optarg);
            break;
        case OPT_DEVICE:
            o->devices = push(o->devices, &o->n_devices, optarg);
            break;
        case OPT_KEEP:
            o->keep = true;
            break;
        case OPT_CGP:
            o->cgroups_path = optarg;
            break;
        case OPT_CAPS:
            o->caps = optarg;
            break;
        case OPT_RO:
            o->readonly = true;
            break;
        case OPT_MEM:
            o->memory = atol(optarg);
            break;
        case OPT_SECCOMP:
            o->seccomp = optarg;
            break;
        case OPT_NNP:
            o->no_new_privs = true;
            break;
        case OPT_RUNS:
            o->runs = atol(optarg);
            break;
        default:
            usage();
        }
    }
    for (int i = optind; i < argc; i++)
        o->args = push(o->args, &o->n_args, argv[i]);
}

static const char *need_id(const struct opts *o)
{
    if (!o->id) {
        fputs("agentctl: --id is required\n", stderr);
        exit(64);
    }
    return o->id;
}

/* ---------------------------------------------------------------- spec */

static const char *default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static Grpc__LinuxCapabilities *make_caps(const char *list)
{
    Grpc__LinuxCapabilities *c = xmalloc(sizeof(*c));
    grpc__linux_capabilities__init(c);
    char **v = NULL;
    size_t n = 0;
    if (list && strcmp(list, "none") != 0) {
        char *s = xstrdup(list);
        for (char *t = strtok(s, ","); t; t = strtok(NULL, ","))
            v = push(v, &n, t);
    } else if (!list) {
        for (size_t i = 0; default_caps[i]; i++)
            v = push(v, &n, default_caps[i]);
    }
    c->n_bounding = c->n_effective = c->n_permitted = n;
    c->bounding = c->effective = c->permitted = v;
    return c;
}

static Grpc__Process *make_process(const struct opts *o)
{
    Grpc__Process *p = xmalloc(sizeof(*p));
    grpc__process__init(p);
    p->terminal = o->terminal;
    p->nonewprivileges = o->no_new_privs;
    p->n_args = o->n_args;
    p->args = o->args;
    char **env = NULL;
    size_t n_env = 0;
    env = push(env, &n_env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (o->terminal)
        env = push(env, &n_env, "TERM=xterm");
    for (size_t i = 0; i < o->n_env; i++)
        env = push(env, &n_env, o->env[i]);
    p->n_env = n_env;
    p->env = env;
    p->cwd = (char *)(o->cwd ? o->cwd : "/");
    Grpc__User *u = xmalloc(sizeof(*u));
    grpc__user__init(u);
    if (o->user) {
        unsigned uid = 0, gid = 0;
        int n = sscanf(o->user, "%u:%u", &uid, &gid);
        u->uid = uid;
        u->gid = n == 2 ? gid : uid;
    }
    p->user = u;
    if (o->terminal && (o->rows || o->cols)) {
        Grpc__Box *b = xmalloc(sizeof(*b));
        grpc__box__init(b);
        b->height = (uint32_t)o->rows;
        b->width = (uint32_t)o->cols;
        p->consolesize = b;
    }
    return p;
}

static Grpc__Mount *mnt(const char *dst, const char *type, const char *src, const char *opts)
{
    Grpc__Mount *m = xmalloc(sizeof(*m));
    grpc__mount__init(m);
    m->destination = (char *)dst;
    m->type = (char *)type;
    m->source = (char *)src;
    char **v = NULL;
    size_t n = 0;
    char *s = xstrdup(opts);
    for (char *t = strtok(s, ","); t; t = strtok(NULL, ","))
        v = push(v, &n, t);
    m->n_options = n;
    m->options = v;
    return m;
}

static Grpc__Spec *make_spec(const struct opts *o)
{
    Grpc__Spec *s = xmalloc(sizeof(*s));
    grpc__spec__init(s);
    s->version = "1.0.2";
    s->process = make_process(o);
    s->process->capabilities = make_caps(o->caps);
    Grpc__Root *root = xmalloc(sizeof(*root));
    grpc__root__init(root);
    root->path = (char *)(o->rootfs ? o->rootfs : "");
    root->readonly = o->readonly;
    s->root = root;
    s->hostname = (char *)(o->hostname ? o->hostname : "");
    Grpc__Mount **m = xcalloc(8, sizeof(*m));
    size_t nm = 0;
    m[nm++] = mnt("/proc", "proc", "proc", "nosuid,noexec,nodev");
    m[nm++] = mnt("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
    m[nm++] =
        mnt("/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
    m[nm++] = mnt("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
    m[nm++] = mnt("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
    s->n_mounts = nm;
    s->mounts = m;
    Grpc__Linux *l = xmalloc(sizeof(*l));
    grpc__linux__init(l);
    l->cgroupspath = (char *)(o->cgroups_path ? o->cgroups_path : "");
    Grpc__LinuxNamespace **ns = xcalloc(8, sizeof(*ns));
    size_t nn = 0;
    char *list = xstrdup(o->ns);
    for (char *t = strtok(list, ","); t && nn < 8; t = strtok(NULL, ",")) {
        Grpc__LinuxNamespace *n = xmalloc(sizeof(*n));
        grpc__linux_namespace__init(n);
        char *eq = strchr(t, '=');
        if (eq) {
            *eq = '\0';
            n->path = eq + 1;
        }
        n->type = t;
        ns[nn++] = n;
    }
    l->n_namespaces = nn;
    l->namespaces = ns;
    if (o->memory > 0) {
        Grpc__LinuxResources *res = xmalloc(sizeof(*res));
        grpc__linux_resources__init(res);
        Grpc__LinuxMemory *mem = xmalloc(sizeof(*mem));
        grpc__linux_memory__init(mem);
        mem->limit = o->memory;
        mem->swap = o->memory; /* memory+swap: no swap */
        res->memory = mem;
        l->resources = res;
    }
    if (o->seccomp)
        l->seccomp = agentctl_seccomp(o->seccomp);
    s->linux = l;
    return s;
}

/* ---------------------------------------------------------------- commands */

static void cmd_create_container(const struct opts *o)
{
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)need_id(o);
    req.exec_id = (char *)(o->exec_id ? o->exec_id : o->id);
    req.oci = make_spec(o);
    req.sandbox_pidns = o->sandbox_pidns;
    req.n_storages = o->n_storages;
    req.storages = agentctl_storages(o->storages, o->n_storages);
    req.n_devices = o->n_devices;
    req.devices = agentctl_devices(o->devices, o->n_devices);
    agentctl_spec_devices(req.oci->linux, o->devices, o->n_devices);
    call_empty("CreateContainer", &req.base);
}

static void cmd_start(const char *id)
{
    Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    call_empty("StartContainer", &req.base);
}

static int cmd_wait(const char *id, const char *eid)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    Grpc__WaitProcessResponse *resp = (Grpc__WaitProcessResponse *)call(
        AGENT_SVC, "WaitProcess", &req.base, &grpc__wait_process_response__descriptor, timeout_ns);
    int st = resp->status;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return st;
}

static void cmd_remove(const char *id, long tmo)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    req.timeout = (uint32_t)tmo;
    call_empty("RemoveContainer", &req.base);
}

/* Reads one chunk; returns its length (0 = EOF) and writes it to out_fd. */
static size_t read_chunk(const char *method, const char *id, const char *eid, long len, int out_fd)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    req.len = (uint32_t)len;
    Grpc__ReadStreamResponse *resp = (Grpc__ReadStreamResponse *)call(
        AGENT_SVC, method, &req.base, &grpc__read_stream_response__descriptor, timeout_ns);
    size_t n = resp->data.len;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(out_fd, resp->data.data + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return n;
}

static size_t write_stdin(const char *id, const char *eid, const void *data, size_t len)
{
    Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    req.data.data = (uint8_t *)data;
    req.data.len = len;
    Grpc__WriteStreamResponse *resp = (Grpc__WriteStreamResponse *)call(
        AGENT_SVC, "WriteStdin", &req.base, &grpc__write_stream_response__descriptor, timeout_ns);
    size_t n = resp->len;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return n;
}

static void close_stdin(const char *id, const char *eid)
{
    Grpc__CloseStdinRequest req = GRPC__CLOSE_STDIN_REQUEST__INIT;
    req.container_id = (char *)id;
    req.exec_id = (char *)eid;
    call_empty("CloseStdin", &req.base);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t *unhex(const char *s, size_t *ret_len)
{
    size_t n = 0;
    uint8_t *b = xmalloc(strlen(s) / 2 + 1);
    for (const char *p = s; *p;) {
        if (*p == ' ' || *p == ':') {
            p++;
            continue;
        }
        int h = hexval(p[0]), l = p[1] ? hexval(p[1]) : -1;
        if (h < 0 || l < 0) {
            fprintf(stderr, "agentctl: bad hex near \"%s\"\n", p);
            exit(64);
        }
        b[n++] = (uint8_t)(h << 4 | l);
        p += 2;
    }
    *ret_len = n;
    return b;
}

/* raw-hex: writes bytes as they are and prints every Response frame that comes back within
 * the timeout (default 1 s): "stream=ID type=T code=NAME message=..." */
static int cmd_raw_hex(const char *hex)
{
    size_t len;
    uint8_t *buf = unhex(hex, &len);
    int fd = dial(addr);
    if (fd < 0) {
        fprintf(stderr, "agentctl: connect %s: %s\n", addr, strerror(errno));
        return 1;
    }
    if (write(fd, buf, len) != (ssize_t)len) {
        perror("agentctl: write");
        return 1;
    }
    free(buf);
    int ms = timeout_ns > 0 ? (int)(timeout_ns / 1000000) : 1000;
    int frames = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) <= 0)
            break;
        uint8_t hdr[TTRPC_HEADER_LEN];
        size_t got = 0;
        while (got < sizeof(hdr)) {
            ssize_t r = read(fd, hdr + got, sizeof(hdr) - got);
            if (r <= 0)
                goto closed;
            got += (size_t)r;
        }
        struct ttrpc_header h;
        ttrpc_header_decode(hdr, &h);
        uint8_t *body = xmalloc(h.length + 1);
        for (got = 0; got < h.length;) {
            ssize_t r = read(fd, body + got, h.length - got);
            if (r <= 0) {
                free(body);
                goto closed;
            }
            got += (size_t)r;
        }
        Ttrpc__Response *resp = ttrpc__response__unpack(NULL, h.length, body);
        int code = resp && resp->status ? resp->status->code : 0;
        printf("stream=%u type=%u code=%s message=%s payload=%zu\n", h.stream_id, h.type,
               rpc_code_name(code), resp && resp->status ? resp->status->message : "",
               resp ? resp->payload.len : 0);
        fflush(stdout);
        if (resp)
            ttrpc__response__free_unpacked(resp, NULL);
        free(body);
        frames++;
    }
    close(fd);
    return frames ? 0 : 3;
closed:
    printf("closed\n");
    close(fd);
    return frames ? 0 : 3;
}

/* call SERVICE METHOD HEX: a request with an arbitrary payload; prints the reply in hex. */
static int cmd_call(const char *svc, const char *method, const char *hex)
{
    size_t len;
    uint8_t *payload = unhex(hex, &len);
    uint8_t *out = NULL;
    size_t out_len = 0;
    struct kerr *err = NULL;
    int r =
        ttrpc_client_call_raw(client, svc, method, payload, len, &out, &out_len, timeout_ns, &err);
    free(payload);
    if (r == -EPROTO && err) {
        fprintf(stderr, "%s: %s\n", rpc_code_name(err->status), err->msg ? err->msg : "");
        error_free(err);
        return 2;
    }
    if (r < 0) {
        fprintf(stderr, "agentctl: %s: %s\n", method, strerror(-r));
        return 1;
    }
    for (size_t i = 0; i < out_len; i++)
        printf("%02x", out[i]);
    printf("\n");
    free(out);
    return 0;
}

/* blocked-read-check: on ONE connection, parks a ReadStdout on a silent process, then checks
 * that other calls on that connection are still answered promptly. */
struct bg_read {
    const char *id;
    volatile int done;
};

static void *bg_read_fn(void *arg)
{
    struct bg_read *b = arg;
    read_chunk("ReadStdout", b->id, b->id, 32768, 1);
    b->done = 1;
    return NULL;
}

static int cmd_blocked_read_check(const char *id)
{
    struct bg_read b = {id, 0};
    pthread_t t;
    pthread_create(&t, NULL, bg_read_fn, &b);
    usleep(200000);
    for (int i = 0; i < 5; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
        ProtobufCMessage *r =
            call(HEALTH_SVC, "Check", &req.base, &grpc__health_check_response__descriptor, 0);
        protobuf_c_message_free_unpacked(r, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > 1000) {
            fprintf(stderr, "Check took %.0f ms while a read was parked\n", ms);
            return 1;
        }
    }
    if (b.done) {
        fprintf(stderr, "the read was not parked\n");
        return 1;
    }
    printf("checks answered while the read was parked\n");
    fflush(stdout);
    /* the caller makes the process print; the parked read then completes */
    pthread_join(t, NULL);
    return 0;
}

/* ---------------------------------------------------------------- run */

struct relay {
    const char *id, *method;
    int fd;
};

static void *relay_out(void *arg)
{
    struct relay *r = arg;
    while (read_chunk(r->method, r->id, r->id, 32768, r->fd) > 0)
        ;
    return NULL;
}

static void *relay_in(void *arg)
{
    struct relay *r = arg;
    char buf[32768];
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        write_stdin(r->id, r->id, buf, (size_t)n);
    }
    close_stdin(r->id, r->id);
    return NULL;
}

/* --runs: time spent in each phase of `run`, summed over the runs (ns). */
static int64_t phase_ns[4];
static int64_t phase_mark;

static void phase_end(int i)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (i >= 0)
        phase_ns[i] += now - phase_mark;
    phase_mark = now;
}

static int cmd_run(struct opts *o)
{
    char idbuf[64];
    if (!o->id) {
        snprintf(idbuf, sizeof(idbuf), "run-%d", (int)getpid());
        o->id = idbuf;
    }
    phase_end(-1);
    cmd_create_container(o);
    phase_end(0);
    cmd_start(o->id);
    phase_end(1);
    struct relay out = {o->id, "ReadStdout", 1}, err = {o->id, "ReadStderr", 2},
                 in = {o->id, NULL, 0};
    pthread_t tout, terr, tin;
    pthread_create(&tout, NULL, relay_out, &out);
    if (!o->terminal)
        pthread_create(&terr, NULL, relay_out, &err);
    if (o->interactive) {
        pthread_create(&tin, NULL, relay_in, &in);
        pthread_detach(tin);
    }
    pthread_join(tout, NULL);
    if (!o->terminal)
        pthread_join(terr, NULL);
    int st = cmd_wait(o->id, o->id);
    phase_end(2);
    if (!o->keep)
        cmd_remove(o->id, 0);
    phase_end(3);
    return st;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "+a:T:hV")) != -1) {
        switch (c) {
        case 'V':
            printf("agentctl %s (commit %s)\n", KATA_VERSION, KATA_COMMIT);
            return 0;
        case 'a':
            addr = optarg;
            break;
        case 'T':
            timeout_ns = (int64_t)(atof(optarg) * 1e9);
            break;
        default:
            usage();
        }
    }
    if (!addr)
        addr = getenv("AGENT_ADDR");
    if (!addr || optind >= argc)
        usage();
    const char *cmd = argv[optind];
    argc -= optind;
    argv += optind;

    if (strcmp(cmd, "raw-hex") == 0) {
        if (argc < 2)
            usage();
        return cmd_raw_hex(argv[1]);
    }
    connect_client();
    int ret = 0;
    struct opts o;
    if (strcmp(cmd, "call") == 0) {
        if (argc < 4)
            usage();
        ret = cmd_call(argv[1], argv[2], argv[3]);
        ttrpc_client_free(client);
        return ret;
    }
    ret = agentctl_net(client, timeout_ns, argc, argv);
    if (ret < 0)
        ret = agentctl_hotplug(client, timeout_ns, argc, argv);
    if (ret < 0)
        ret = agentctl_files(client, timeout_ns, argc, argv);
    if (ret < 0)
        ret = agentctl_soak(addr, &client, timeout_ns, argc, argv);
    if (ret >= 0) {
        ttrpc_client_free(client);
        return ret;
    }
    ret = 0;
    parse_opts(argc, argv, &o);
    const char *eid = o.exec_id ? o.exec_id : (o.id ? o.id : "");

    if (strcmp(cmd, "check") == 0) {
        Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
        Grpc__HealthCheckResponse *r = (Grpc__HealthCheckResponse *)call(
            HEALTH_SVC, "Check", &req.base, &grpc__health_check_response__descriptor, timeout_ns);
        printf("%s\n", r->status == GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                           ? "SERVING"
                           : "NOT_SERVING");
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "version") == 0) {
        Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
        Grpc__VersionCheckResponse *r = (Grpc__VersionCheckResponse *)call(
            HEALTH_SVC, "Version", &req.base, &grpc__version_check_response__descriptor,
            timeout_ns);
        printf("grpc_version=%s agent_version=%s\n", r->grpc_version, r->agent_version);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "create-sandbox") == 0) {
        Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
        req.hostname = (char *)(o.hostname ? o.hostname : "");
        req.sandbox_id = (char *)(o.id ? o.id : "");
        req.n_dns = o.n_dns;
        req.dns = o.dns;
        req.sandbox_pidns = o.sandbox_pidns;
        req.n_storages = o.n_storages;
        req.storages = agentctl_storages(o.storages, o.n_storages);
        call_empty("CreateSandbox", &req.base);
    } else if (strcmp(cmd, "destroy-sandbox") == 0) {
        Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
        call_empty("DestroySandbox", &req.base);
    } else if (strcmp(cmd, "create-container") == 0) {
        cmd_create_container(&o);
    } else if (strcmp(cmd, "start-container") == 0) {
        cmd_start(need_id(&o));
    } else if (strcmp(cmd, "exec") == 0) {
        Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        req.exec_id = (char *)(o.exec_id ? o.exec_id : "");
        req.process = make_process(&o);
        if (o.caps)
            req.process->capabilities = make_caps(o.caps);
        call_empty("ExecProcess", &req.base);
    } else if (strcmp(cmd, "read-stdout") == 0 || strcmp(cmd, "read-stderr") == 0) {
        const char *m = strcmp(cmd, "read-stdout") == 0 ? "ReadStdout" : "ReadStderr";
        size_t n;
        do
            n = read_chunk(m, need_id(&o), eid, o.len, 1);
        while (o.all && n > 0);
        if (!o.all && n == 0)
            ret = 3; /* EOF */
    } else if (strcmp(cmd, "write-stdin") == 0) {
        if (o.data) {
            printf("%zu\n", write_stdin(need_id(&o), eid, o.data, strlen(o.data)));
        } else { /* stdin of agentctl, in chunks, then close */
            char buf[65536];
            size_t total = 0;
            ssize_t n;
            while ((n = read(0, buf, sizeof(buf))) > 0)
                total += write_stdin(need_id(&o), eid, buf, (size_t)n);
            if (!o.keep)
                write_stdin(need_id(&o), eid, NULL, 0);
            printf("%zu\n", total);
        }
    } else if (strcmp(cmd, "close-stdin") == 0) {
        close_stdin(need_id(&o), eid);
    } else if (strcmp(cmd, "wait") == 0) {
        printf("%d\n", cmd_wait(need_id(&o), o.exec_id ? o.exec_id : ""));
    } else if (strcmp(cmd, "signal") == 0) {
        Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        req.exec_id = (char *)(o.exec_id ? o.exec_id : "");
        req.signal = (uint32_t)o.signal;
        call_empty("SignalProcess", &req.base);
    } else if (strcmp(cmd, "remove") == 0) {
        cmd_remove(need_id(&o), o.timeout);
    } else if (strcmp(cmd, "resize") == 0) {
        Grpc__TtyWinResizeRequest req = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        req.exec_id = (char *)eid;
        req.row = (uint32_t)o.rows;
        req.column = (uint32_t)o.cols;
        call_empty("TtyWinResize", &req.base);
    } else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
        Grpc__PauseContainerRequest req = GRPC__PAUSE_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        call_empty(cmd[0] == 'p' ? "PauseContainer" : "ResumeContainer", &req.base);
    } else if (strcmp(cmd, "guest-details") == 0) {
        Grpc__GuestDetailsRequest req = GRPC__GUEST_DETAILS_REQUEST__INIT;
        req.mem_block_size = true;
        req.mem_hotplug_probe = true;
        Grpc__GuestDetailsResponse *r = (Grpc__GuestDetailsResponse *)call(
            AGENT_SVC, "GetGuestDetails", &req.base, &grpc__guest_details_response__descriptor,
            timeout_ns);
        printf("version=%s init_daemon=%d mem_block_size=%llu support_mem_hotplug_probe=%d "
               "supports_seccomp=%d\n",
               r->agent_details ? r->agent_details->version : "",
               r->agent_details ? r->agent_details->init_daemon : 0,
               (unsigned long long)r->mem_block_size_bytes, r->support_mem_hotplug_probe,
               r->agent_details ? r->agent_details->supports_seccomp : 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "oom-event") == 0) {
        Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;
        Grpc__OOMEvent *r = (Grpc__OOMEvent *)call(AGENT_SVC, "GetOOMEvent", &req.base,
                                                   &grpc__oomevent__descriptor, timeout_ns);
        printf("%s\n", r->container_id);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "update") == 0) {
        Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
        Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
        mem.limit = o.memory;
        res.memory = &mem;
        req.resources = &res;
        call_empty("UpdateContainer", &req.base);
    } else if (strcmp(cmd, "stats") == 0) {
        Grpc__StatsContainerRequest req = GRPC__STATS_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)need_id(&o);
        Grpc__StatsContainerResponse *r = (Grpc__StatsContainerResponse *)call(
            AGENT_SVC, "StatsContainer", &req.base, &grpc__stats_container_response__descriptor,
            timeout_ns);
        Grpc__CgroupStats *cs = r->cgroup_stats;
        printf("memory_usage=%llu memory_limit=%llu pids=%llu cpu_total=%llu\n",
               cs && cs->memory_stats && cs->memory_stats->usage
                   ? (unsigned long long)cs->memory_stats->usage->usage
                   : 0,
               cs && cs->memory_stats && cs->memory_stats->usage
                   ? (unsigned long long)cs->memory_stats->usage->limit
                   : 0,
               cs && cs->pids_stats ? (unsigned long long)cs->pids_stats->current : 0,
               cs && cs->cpu_stats && cs->cpu_stats->cpu_usage
                   ? (unsigned long long)cs->cpu_stats->cpu_usage->total_usage
                   : 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "blocked-read-check") == 0) {
        ret = cmd_blocked_read_check(need_id(&o));
    } else if (strcmp(cmd, "run") == 0 && o.runs > 0) {
        /* The benchmark's loop: the agent's cost per container without a client process and
         * connection per container. The first non-zero status ends it. */
        const char *base = need_id(&o);
        for (long i = 1; i <= o.runs && ret == 0; i++) {
            char id[128];
            snprintf(id, sizeof(id), "%s-%ld", base, i);
            o.id = id;
            ret = cmd_run(&o);
        }
        fprintf(stderr,
                "agentctl: ms per container: create %.2f start %.2f output+wait %.2f remove %.2f\n",
                phase_ns[0] / 1e6 / o.runs, phase_ns[1] / 1e6 / o.runs, phase_ns[2] / 1e6 / o.runs,
                phase_ns[3] / 1e6 / o.runs);
    } else if (strcmp(cmd, "run") == 0) {
        ret = cmd_run(&o);
    } else {
        fprintf(stderr, "agentctl: unknown command %s\n", cmd);
        ret = 64;
    }
    fflush(stdout);
    ttrpc_client_free(client);
    return ret;
}
