#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pbrt-samples.h"
#include "pbrt-test.pb-c.h"
#include "pbrt-test2.pb-c.h"
#ifdef PBRT_HAVE_AGENT_PROTO
#include "agent.pb-c.h"
#include "ttrpc.pb-c.h"
#endif

/* Everything lives in one static arena: the samples are built once and never freed. */
static _Alignas(16) unsigned char arena[1 << 20];
static size_t arena_used;

static void *take(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (arena_used + n > sizeof arena)
        abort();
    void *p = arena + arena_used;
    arena_used += n;
    memset(p, 0, n);
    return p;
}

static void *new_msg(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = take(d->sizeof_message);
    d->message_init(m);
    return m;
}

#define SET_ARRAY(msg, field, ...)                                                                 \
    do {                                                                                           \
        const __typeof__(*(msg)->field) v_[] = {__VA_ARGS__};                                      \
        (msg)->n_##field = sizeof v_ / sizeof v_[0];                                               \
        (msg)->field = take(sizeof v_);                                                            \
        memcpy((msg)->field, v_, sizeof v_);                                                       \
    } while (0)

static ProtobufCBinaryData bin(const void *data, size_t len)
{
    ProtobufCBinaryData b = {len, take(len ? len : 1)};
    memcpy(b.data, data, len);
    return b;
}

static float nanf_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static double nan_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static char *repeat_char(char c, size_t n)
{
    char *s = take(n + 1);
    memset(s, c, n);
    return s;
}

static Pbrt3__Leaf *leaf(const char *name, int64_t v)
{
    Pbrt3__Leaf *l = new_msg(&pbrt3__leaf__descriptor);
    l->name = (char *)name;
    l->v = v;
    return l;
}

static Pbrt2__Inner *inner(int32_t a, const char *s)
{
    Pbrt2__Inner *i = new_msg(&pbrt2__inner__descriptor);
    i->a = a;
    i->s = (char *)s;
    return i;
}

static const uint8_t all_bytes_data[] = {0, 1, 2, 0x7f, 0x80, 0xfe, 0xff};

static Pbrt3__Scalars *scalars_min(void)
{
    Pbrt3__Scalars *s = new_msg(&pbrt3__scalars__descriptor);
    s->f_int32 = INT32_MIN;
    s->f_sint32 = INT32_MIN;
    s->f_sfixed32 = INT32_MIN;
    s->f_int64 = INT64_MIN;
    s->f_sint64 = INT64_MIN;
    s->f_sfixed64 = INT64_MIN;
    s->f_uint32 = 1;
    s->f_fixed32 = 1;
    s->f_uint64 = 1;
    s->f_fixed64 = 1;
    s->f_float = -INFINITY;
    s->f_double = -DBL_MAX;
    s->f_bool = 1;
    s->f_enum = PBRT3__KIND__KIND_NEG;
    s->f_string = "";
    s->f_bytes = bin("", 0);
    s->f_leaf = leaf("", 0);
    return s;
}

static Pbrt3__Scalars *scalars_max(void)
{
    Pbrt3__Scalars *s = new_msg(&pbrt3__scalars__descriptor);
    s->f_int32 = INT32_MAX;
    s->f_sint32 = INT32_MAX;
    s->f_sfixed32 = INT32_MAX;
    s->f_int64 = INT64_MAX;
    s->f_sint64 = INT64_MAX;
    s->f_sfixed64 = INT64_MAX;
    s->f_uint32 = UINT32_MAX;
    s->f_fixed32 = UINT32_MAX;
    s->f_uint64 = UINT64_MAX;
    s->f_fixed64 = UINT64_MAX;
    s->f_float = nanf_bits(0x7fc00001);
    s->f_double = INFINITY;
    s->f_bool = 1;
    s->f_enum = PBRT3__KIND__KIND_BIG;
    s->f_string = "h\xc3\xa9llo w\xe2\x82\xacrld";
    s->f_bytes = bin(all_bytes_data, sizeof all_bytes_data);
    s->f_leaf = leaf("leaf", -1);
    return s;
}

static Pbrt3__Scalars *scalars_misc(void)
{
    Pbrt3__Scalars *s = new_msg(&pbrt3__scalars__descriptor);
    s->f_int32 = -1;
    s->f_sint32 = -1;
    s->f_sfixed32 = -1;
    s->f_int64 = -1;
    s->f_sint64 = 1;
    s->f_sfixed64 = -1;
    s->f_uint32 = 127;
    s->f_fixed32 = 0x80000000u;
    s->f_uint64 = 128;
    s->f_fixed64 = 0x8000000000000000ull;
    s->f_float = -0.0f; /* numerically zero: not sent by either runtime */
    s->f_double = nan_bits(0xfff8000000000123ull);
    s->f_bool = 0;
    s->f_enum = 12345; /* not a declared value: still carried */
    s->f_string = repeat_char('s', 300);
    s->f_bytes = bin("\0", 1);
    return s;
}

static Pbrt3__Repeats *repeats_edge(void)
{
    Pbrt3__Repeats *r = new_msg(&pbrt3__repeats__descriptor);
    SET_ARRAY(r, r_int32, 0, -1, INT32_MIN, INT32_MAX, 3, 270, 86942);
    SET_ARRAY(r, r_sint32, 0, -1, INT32_MIN, INT32_MAX);
    SET_ARRAY(r, r_sfixed32, 0, -1, INT32_MIN, INT32_MAX);
    SET_ARRAY(r, r_int64, 0, -1, INT64_MIN, INT64_MAX);
    SET_ARRAY(r, r_sint64, 0, -1, INT64_MIN, INT64_MAX);
    SET_ARRAY(r, r_sfixed64, 0, -1, INT64_MIN, INT64_MAX);
    SET_ARRAY(r, r_uint32, 0, 1, 127, 128, UINT32_MAX);
    SET_ARRAY(r, r_fixed32, 0, 1, UINT32_MAX);
    SET_ARRAY(r, r_uint64, 0, 1, UINT64_MAX);
    SET_ARRAY(r, r_fixed64, 0, 1, UINT64_MAX);
    SET_ARRAY(r, r_float, 0.0f, -0.0f, 1.5f, INFINITY, -INFINITY, nanf_bits(0x7fc00000),
              FLT_TRUE_MIN);
    SET_ARRAY(r, r_double, 0.0, -0.0, 1e300, -INFINITY, nan_bits(0x7ff8000000000001ull),
              4.9406564584124654e-324);
    SET_ARRAY(r, r_bool, 1, 0, 1);
    SET_ARRAY(r, r_enum, PBRT3__KIND__KIND_ZERO, PBRT3__KIND__KIND_NEG, PBRT3__KIND__KIND_BIG);
    SET_ARRAY(r, r_string, "", "a", "\xe2\x82\xac", "");
    SET_ARRAY(r, r_bytes, bin("", 0), bin(all_bytes_data, sizeof all_bytes_data));
    SET_ARRAY(r, r_leaf, leaf("", 0), leaf("x", INT64_MIN));
    SET_ARRAY(r, u_int32, -5, 0, 5);
    SET_ARRAY(r, u_double, -0.0, 2.5);
    SET_ARRAY(r, u_sint64, INT64_MIN, 0);
    return r;
}

static Pbrt3__Repeats *repeats_big(void)
{
    Pbrt3__Repeats *r = new_msg(&pbrt3__repeats__descriptor);
    r->n_r_int32 = 1000;
    r->r_int32 = take(1000 * sizeof *r->r_int32);
    for (int i = 0; i < 1000; i++)
        r->r_int32[i] = i * 7919 - 3000000;
    r->n_r_string = 200;
    r->r_string = take(200 * sizeof *r->r_string);
    for (size_t i = 0; i < 200; i++)
        r->r_string[i] = repeat_char((char)('a' + i % 26), i);
    r->n_u_sint64 = 300;
    r->u_sint64 = take(300 * sizeof *r->u_sint64);
    for (int i = 0; i < 300; i++)
        r->u_sint64[i] = (int64_t)i * -1234567891011LL;
    return r;
}

static Pbrt3__Maps *maps(void)
{
    Pbrt3__Maps *m = new_msg(&pbrt3__maps__descriptor);
    Pbrt3__Maps__SsEntry *ss[3];
    const char *kv[3][2] = {{"k", "v"}, {"", ""}, {"io.kubernetes.pod", "x\xc3\xa9"}};
    for (int i = 0; i < 3; i++) {
        ss[i] = new_msg(&pbrt3__maps__ss_entry__descriptor);
        ss[i]->key = (char *)kv[i][0];
        ss[i]->value = (char *)kv[i][1];
    }
    SET_ARRAY(m, ss, ss[0], ss[1], ss[2]);
    Pbrt3__Maps__IlEntry *il0 = new_msg(&pbrt3__maps__il_entry__descriptor);
    Pbrt3__Maps__IlEntry *il1 = new_msg(&pbrt3__maps__il_entry__descriptor);
    il0->key = -7;
    il0->value = leaf("seven", 7);
    il1->key = 0;
    SET_ARRAY(m, il, il0, il1);
    Pbrt3__Maps__SbEntry *sb = new_msg(&pbrt3__maps__sb_entry__descriptor);
    sb->key = "blob";
    sb->value = bin(all_bytes_data, sizeof all_bytes_data);
    SET_ARRAY(m, sb, sb);
    Pbrt3__Maps__UkEntry *uk = new_msg(&pbrt3__maps__uk_entry__descriptor);
    uk->key = UINT64_MAX;
    uk->value = PBRT3__KIND__KIND_NEG;
    SET_ARRAY(m, uk, uk);
    Pbrt3__Maps__BdEntry *bd0 = new_msg(&pbrt3__maps__bd_entry__descriptor);
    Pbrt3__Maps__BdEntry *bd1 = new_msg(&pbrt3__maps__bd_entry__descriptor);
    bd0->key = 1;
    bd0->value = 0.25;
    bd1->value = -1e-300;
    SET_ARRAY(m, bd, bd0, bd1);
    Pbrt3__Maps__SfEntry *sf = new_msg(&pbrt3__maps__sf_entry__descriptor);
    sf->key = INT64_MIN;
    sf->value = -1;
    SET_ARRAY(m, sf, sf);
    return m;
}

static Pbrt3__Choice *choice(int which)
{
    Pbrt3__Choice *c = new_msg(&pbrt3__choice__descriptor);
    switch (which) {
    case 0:
        c->v_case = PBRT3__CHOICE__V_I;
        c->i = 0;
        break;
    case 1:
        c->v_case = PBRT3__CHOICE__V_S;
        c->s = "oneof string";
        break;
    case 2:
        c->v_case = PBRT3__CHOICE__V_B;
        c->b = bin("", 0);
        break;
    case 3:
        c->v_case = PBRT3__CHOICE__V_L;
        c->l = leaf("", 0);
        break;
    case 4:
        c->v_case = PBRT3__CHOICE__V_D;
        c->d = -0.0;
        break;
    case 5:
        c->v_case = PBRT3__CHOICE__V_K;
        c->k = PBRT3__KIND__KIND_ZERO;
        c->w_case = PBRT3__CHOICE__W_WU;
        c->wu = UINT64_MAX;
        break;
    case 6:
        c->after = "after only";
        c->w_case = PBRT3__CHOICE__W_WS;
        c->ws = "w";
        break;
    default:
        /* An empty string that is not the shared empty string: sent as a zero-length value. */
        c->v_case = PBRT3__CHOICE__V_S;
        c->s = take(1);
        break;
    }
    return c;
}

static Pbrt3__Node *node_chain(int depth)
{
    Pbrt3__Node *top = NULL;
    for (int i = 0; i < depth; i++) {
        Pbrt3__Node *n = new_msg(&pbrt3__node__descriptor);
        n->next = top;
        if (i % 3 == 0)
            n->leaf = leaf("level", i);
        if (i % 4 == 1) {
            Pbrt3__Node__LabelsEntry *e = new_msg(&pbrt3__node__labels_entry__descriptor);
            e->key = "depth";
            e->value = repeat_char('d', (size_t)i);
            SET_ARRAY(n, labels, e);
            Pbrt3__Node *kid = new_msg(&pbrt3__node__descriptor);
            SET_ARRAY(n, children, kid, new_msg(&pbrt3__node__descriptor));
        }
        top = n;
    }
    return top;
}

static Pbrt2__All *all2_min(void)
{
    Pbrt2__All *a = new_msg(&pbrt2__all__descriptor);
    a->q_int32 = 1;
    a->q_string = "";
    a->q_inner = inner(0, NULL);
    return a;
}

static Pbrt2__All *all2_full(void)
{
    Pbrt2__All *a = new_msg(&pbrt2__all__descriptor);
    a->q_int32 = -300;
    a->q_string = "required";
    a->q_inner = inner(INT32_MIN, "in");
    a->q_bytes = bin(all_bytes_data, 3);
#define OPT(f, v) (a->has_##f = 1, a->f = (v))
    OPT(o_int32, -1);
    OPT(o_sint32, INT32_MIN);
    OPT(o_sfixed32, -2);
    OPT(o_int64, INT64_MIN);
    OPT(o_sint64, INT64_MAX);
    OPT(o_sfixed64, -3);
    OPT(o_uint32, 0); /* has_ set with a zero value: still sent */
    OPT(o_fixed32, 0xdeadbeef);
    OPT(o_uint64, UINT64_MAX);
    OPT(o_fixed64, 0x0102030405060708ull);
    OPT(o_float, -0.0f); /* presence is explicit, so -0.0 goes out with its sign */
    OPT(o_double, nan_bits(0x7ff0000000000001ull));
    OPT(o_bool, 0);
    OPT(o_enum, PBRT2__COLOR__DARK);
    OPT(o_bytes, bin("", 0));
    OPT(d_bytes, bin("xyz", 3));
    OPT(d_int32, -7);
    OPT(d_enum, PBRT2__COLOR__GREEN);
    OPT(d_double, 1.5);
    OPT(d_bool, 0);
#undef OPT
    a->o_string = "";
    a->o_inner = inner(5, "");
    a->d_string = "dflt"; /* equal text but not the default's storage: sent */
    SET_ARRAY(a, u_int32, -1, 0, 1);
    SET_ARRAY(a, u_sint32, -1, INT32_MAX);
    SET_ARRAY(a, u_sfixed32, INT32_MIN);
    SET_ARRAY(a, u_int64, INT64_MIN, -1);
    SET_ARRAY(a, u_sint64, INT64_MIN, INT64_MAX);
    SET_ARRAY(a, u_sfixed64, -1);
    SET_ARRAY(a, u_uint32, UINT32_MAX);
    SET_ARRAY(a, u_fixed32, 7, 8);
    SET_ARRAY(a, u_uint64, UINT64_MAX, 0);
    SET_ARRAY(a, u_fixed64, 9);
    SET_ARRAY(a, u_float, 1.0f, -INFINITY);
    SET_ARRAY(a, u_double, -1.0, DBL_MIN);
    SET_ARRAY(a, u_bool, 0, 1);
    SET_ARRAY(a, u_enum, PBRT2__COLOR__DARK, PBRT2__COLOR__BLUE);
    SET_ARRAY(a, p_int32, -1, 0, 1);
    SET_ARRAY(a, p_sint32, -1, INT32_MIN);
    SET_ARRAY(a, p_sfixed32, INT32_MIN, 5);
    SET_ARRAY(a, p_int64, INT64_MIN);
    SET_ARRAY(a, p_sint64, INT64_MIN, -2);
    SET_ARRAY(a, p_sfixed64, -1, 0);
    SET_ARRAY(a, p_uint32, 300, 0);
    SET_ARRAY(a, p_fixed32, UINT32_MAX);
    SET_ARRAY(a, p_uint64, UINT64_MAX);
    SET_ARRAY(a, p_fixed64, 1, 2, 3);
    SET_ARRAY(a, p_float, nanf_bits(0xffc00000), 2.0f);
    SET_ARRAY(a, p_double, -0.0, 1e-310);
    SET_ARRAY(a, p_bool, 1, 1, 0);
    SET_ARRAY(a, p_enum, PBRT2__COLOR__DARK, PBRT2__COLOR__RED);
    SET_ARRAY(a, r_string, "", "two", repeat_char('x', 130));
    SET_ARRAY(a, r_bytes, bin("", 0), bin("\xff", 1));
    SET_ARRAY(a, r_inner, inner(1, NULL), inner(-1, "neg"));
    a->choice_case = PBRT2__ALL__CHOICE_C_INNER;
    a->c_inner = inner(42, "chosen");
    a->has_max_tag = 1;
    a->max_tag = 1;
    return a;
}

static Pbrt2__All *all2_choice(int which)
{
    Pbrt2__All *a = all2_min();
    switch (which) {
    case 0:
        a->choice_case = PBRT2__ALL__CHOICE_C_INT;
        a->c_int = 0;
        break;
    case 1:
        a->choice_case = PBRT2__ALL__CHOICE_C_STR;
        a->c_str = "";
        break;
    default:
        a->choice_case = PBRT2__ALL__CHOICE_C_BYTES;
        a->c_bytes = bin("", 0);
        break;
    }
    /* The default's own storage is not sent. */
    a->d_string = pbrt2__all__d_string__default_value;
    return a;
}

#ifdef PBRT_HAVE_AGENT_PROTO
static Grpc__Spec__AnnotationsEntry *annotation(const char *k, const char *v)
{
    Grpc__Spec__AnnotationsEntry *e = new_msg(&grpc__spec__annotations_entry__descriptor);
    e->key = (char *)k;
    e->value = (char *)v;
    return e;
}

static Grpc__Mount *mount(const char *dst, const char *src, const char *type)
{
    Grpc__Mount *m = new_msg(&grpc__mount__descriptor);
    m->destination = (char *)dst;
    m->source = (char *)src;
    m->type = (char *)type;
    SET_ARRAY(m, options, "nosuid", "noexec", "nodev");
    return m;
}

static Grpc__LinuxNamespace *ns(const char *type, const char *path)
{
    Grpc__LinuxNamespace *n = new_msg(&grpc__linux_namespace__descriptor);
    n->type = (char *)type;
    n->path = (char *)path;
    return n;
}

static Grpc__CreateContainerRequest *create_container(void)
{
    Grpc__CreateContainerRequest *req = new_msg(&grpc__create_container_request__descriptor);
    req->container_id = "0f3c9a1e5b7d";
    req->exec_id = "0f3c9a1e5b7d";
    req->stdout_port = 1025;

    Grpc__Storage *st = new_msg(&grpc__storage__descriptor);
    st->driver = "virtio-fs";
    st->source = "kataShared";
    st->fstype = "virtiofs";
    st->mount_point = "/run/kata-containers/shared/containers/0f3c9a1e5b7d/rootfs";
    SET_ARRAY(st, options, "nodev");
    st->fs_group = new_msg(&grpc__fsgroup__descriptor);
    st->fs_group->group_id = 1000;
    SET_ARRAY(req, storages, st);

    Grpc__Device *dev = new_msg(&grpc__device__descriptor);
    dev->id = "vda";
    dev->type = "blk";
    dev->vm_path = "/dev/vda";
    dev->container_path = "/dev/xvda";
    SET_ARRAY(req, devices, dev);

    Grpc__Spec *spec = new_msg(&grpc__spec__descriptor);
    spec->version = "1.0.2-dev";
    spec->hostname = "sandbox";
    spec->root = new_msg(&grpc__root__descriptor);
    spec->root->path = "/run/kata-containers/shared/containers/0f3c9a1e5b7d/rootfs";
    spec->root->readonly = 1;
    SET_ARRAY(spec, annotations, annotation("io.kubernetes.cri.container-type", "container"),
              annotation("io.katacontainers.pkg.oci.bundle_path", "/run/containers/x"),
              annotation("empty", ""));
    SET_ARRAY(spec, mounts, mount("/proc", "proc", "proc"), mount("/dev", "tmpfs", "tmpfs"),
              mount("/etc/hostname", "/run/kata/hostname", "bind"));

    Grpc__Process *p = new_msg(&grpc__process__descriptor);
    SET_ARRAY(p, args, "/bin/sh", "-c", "echo hello; exit 3");
    SET_ARRAY(p, env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "TERM=xterm", "HOME=/root");
    p->cwd = "/";
    p->user = new_msg(&grpc__user__descriptor);
    p->user->uid = 0;
    p->user->gid = 0;
    SET_ARRAY(p->user, additionalgids, 10, 65534);
    p->capabilities = new_msg(&grpc__linux_capabilities__descriptor);
    SET_ARRAY(p->capabilities, bounding, "CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE");
    SET_ARRAY(p->capabilities, effective, "CAP_CHOWN", "CAP_KILL");
    Grpc__POSIXRlimit *rl = new_msg(&grpc__posixrlimit__descriptor);
    rl->type = "RLIMIT_NOFILE";
    rl->hard = 1048576;
    rl->soft = 1024;
    SET_ARRAY(p, rlimits, rl);
    p->nonewprivileges = 1;
    p->oomscoreadj = -998;
    spec->process = p;

    Grpc__Linux *lx = new_msg(&grpc__linux__descriptor);
    lx->cgroupspath = "/kubepods/besteffort/pod1/0f3c9a1e5b7d";
    SET_ARRAY(lx, namespaces, ns("pid", ""), ns("ipc", ""), ns("uts", ""), ns("mount", ""),
              ns("network", "/var/run/netns/cni-1"));
    SET_ARRAY(lx, maskedpaths, "/proc/acpi", "/proc/kcore", "/sys/firmware");
    SET_ARRAY(lx, readonlypaths, "/proc/bus", "/proc/sys");
    Grpc__Linux__SysctlEntry *sc = new_msg(&grpc__linux__sysctl_entry__descriptor);
    sc->key = "net.ipv4.ip_forward";
    sc->value = "1";
    SET_ARRAY(lx, sysctl, sc);
    lx->resources = new_msg(&grpc__linux_resources__descriptor);
    Grpc__LinuxDeviceCgroup *dc = new_msg(&grpc__linux_device_cgroup__descriptor);
    dc->allow = 0;
    dc->major = -1;
    dc->minor = -1;
    dc->access = "rwm";
    SET_ARRAY(lx->resources, devices, dc);
    lx->resources->memory = new_msg(&grpc__linux_memory__descriptor);
    lx->resources->memory->limit = 536870912;
    lx->resources->memory->swappiness = UINT64_MAX;
    lx->resources->cpu = new_msg(&grpc__linux_cpu__descriptor);
    lx->resources->cpu->shares = 1024;
    lx->resources->cpu->quota = -1;
    lx->resources->cpu->period = 100000;
    lx->resources->cpu->cpus = "0-1";
    lx->seccomp = new_msg(&grpc__linux_seccomp__descriptor);
    lx->seccomp->defaultaction = "SCMP_ACT_ERRNO";
    SET_ARRAY(lx->seccomp, architectures, "SCMP_ARCH_X86_64");
    Grpc__LinuxSyscall *sys0 = new_msg(&grpc__linux_syscall__descriptor);
    SET_ARRAY(sys0, names, "read", "write", "exit_group");
    sys0->action = "SCMP_ACT_ALLOW";
    Grpc__LinuxSyscall *sys1 = new_msg(&grpc__linux_syscall__descriptor);
    SET_ARRAY(sys1, names, "ptrace");
    sys1->action = "SCMP_ACT_ERRNO";
    sys1->errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
    sys1->errnoret = 0; /* errno 0, told apart from "not given" by the oneof */
    Grpc__LinuxSeccompArg *arg = new_msg(&grpc__linux_seccomp_arg__descriptor);
    arg->index = 1;
    arg->value = 0x7fffffffffffffffull;
    arg->op = "SCMP_CMP_MASKED_EQ";
    SET_ARRAY(sys1, args, arg);
    SET_ARRAY(lx->seccomp, syscalls, sys0, sys1);
    spec->linux = lx;
    req->oci = spec;
    return req;
}
#endif

#ifdef PBRT_HAVE_AGENT_PROTO
static Ttrpc__Request *ttrpc_request(void)
{
    Ttrpc__Request *r = new_msg(&ttrpc__request__descriptor);
    r->service = "grpc.AgentService";
    r->method = "CreateContainer";
    r->payload = bin(all_bytes_data, sizeof all_bytes_data);
    r->timeout_nano = 30000000000LL;
    Ttrpc__KeyValue *kv = new_msg(&ttrpc__key_value__descriptor);
    kv->key = "containerd-namespace";
    kv->value = "k8s.io";
    SET_ARRAY(r, metadata, kv, new_msg(&ttrpc__key_value__descriptor));
    return r;
}

static Ttrpc__Response *ttrpc_response(void)
{
    Ttrpc__Response *r = new_msg(&ttrpc__response__descriptor);
    r->status = new_msg(&google__rpc__status__descriptor);
    r->status->code = 5;
    r->status->message = "container 0f3c not found";
    Google__Protobuf__Any *any = new_msg(&google__protobuf__any__descriptor);
    any->type_url = "type.googleapis.com/google.rpc.DebugInfo";
    any->value = bin("\x0a\x01x", 3);
    SET_ARRAY(r->status, details, any);
    return r;
}
#endif

static struct pbrt_sample samples[40];
static size_t n_samples;

static void add(const char *name, const void *msg)
{
    samples[n_samples].name = name;
    samples[n_samples].msg = msg;
    n_samples++;
}

size_t pbrt_samples(const struct pbrt_sample **ret)
{
    if (!n_samples) {
        add("scalars_zero", new_msg(&pbrt3__scalars__descriptor));
        add("scalars_min", scalars_min());
        add("scalars_max", scalars_max());
        add("scalars_misc", scalars_misc());
        add("repeats_empty", new_msg(&pbrt3__repeats__descriptor));
        add("repeats_edge", repeats_edge());
        add("repeats_big", repeats_big());
        add("maps", maps());
        add("choice_int_zero", choice(0));
        add("choice_string", choice(1));
        add("choice_bytes_empty", choice(2));
        add("choice_leaf_empty", choice(3));
        add("choice_double_negzero", choice(4));
        add("choice_two_oneofs", choice(5));
        add("choice_unset", choice(6));
        add("choice_string_empty", choice(7));
        add("node_chain_40", node_chain(40));
        add("all2_required_only", all2_min());
        add("all2_full", all2_full());
        add("all2_choice_int_zero", all2_choice(0));
        add("all2_choice_str_empty", all2_choice(1));
        add("all2_choice_bytes_empty", all2_choice(2));
#ifdef PBRT_HAVE_AGENT_PROTO
        add("agent_create_container", create_container());
        add("ttrpc_request", ttrpc_request());
        add("ttrpc_response_error", ttrpc_response());
        add("ttrpc_response_ok", new_msg(&ttrpc__response__descriptor));
#endif
    }
    *ret = samples;
    return n_samples;
}
