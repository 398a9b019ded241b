#include "spec.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *spec_new_message(const ProtobufCMessageDescriptor *desc)
{
    void *m = xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    return m;
}

char **spec_strv(const char *const *items, size_t n)
{
    char **v = xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = xstrdup(items[i]);
    return v;
}

/* The capabilities `runc spec` grants by default. */
static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

static const char *const masked_paths[] = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",       "/proc/scsi",
};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

/* Namespaces: as `runc spec` minus "network": the guest VM is the isolation boundary and owns
 * the sandbox's network (as with Kata's runtime, which also drops the network namespace);
 * a private one would leave the container with nothing but a loopback device. */
static const char *const namespaces[] = {"pid", "ipc", "uts", "mount", "cgroup"};

struct mount_def {
    const char *dest, *type, *source;
    const char *opts[8];
};
static const struct mount_def default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

static size_t count_strs(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static Grpc__LinuxCapabilities *default_capabilities(void)
{
    Grpc__LinuxCapabilities *c = spec_new_message(&grpc__linux_capabilities__descriptor);
    size_t n = ARRAY_SIZE(default_caps);
    c->n_bounding = c->n_effective = c->n_permitted = n;
    c->bounding = spec_strv(default_caps, n);
    c->effective = spec_strv(default_caps, n);
    c->permitted = spec_strv(default_caps, n);
    return c;
}

static bool env_has(const struct strv *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < env->n; i++)
        if (strncmp(env->v[i], name, len) == 0 && (env->v[i][len] == '=' || env->v[i][len] == '\0'))
            return true;
    return false;
}

static void env_add(Grpc__Process *p, char *kv)
{
    p->env = xrealloc(p->env, (p->n_env + 1) * sizeof(*p->env));
    p->env[p->n_env++] = kv;
}

Grpc__Process *spec_process(const struct process_opts *proc, const char *hostname,
                            unsigned tty_rows, unsigned tty_cols)
{
    Grpc__Process *p = spec_new_message(&grpc__process__descriptor);
    p->terminal = proc->tty;
    if (proc->tty && tty_rows && tty_cols) {
        p->consolesize = spec_new_message(&grpc__box__descriptor);
        p->consolesize->height = tty_rows;
        p->consolesize->width = tty_cols;
    }
    p->user = spec_new_message(&grpc__user__descriptor);
    if (proc->user.set) {
        if (proc->user.numeric_uid)
            p->user->uid = proc->user.uid;
        else
            p->user->username = xstrdup(proc->user.name);
        if (proc->user.has_gid && proc->user.numeric_gid)
            p->user->gid = proc->user.gid;
        else if (!proc->user.has_gid && proc->user.numeric_uid)
            p->user->gid = 0;
    }
    p->n_args = proc->argc;
    p->args = spec_strv(proc->argv, proc->argc);

    /* Defaults first, then the user's -e entries in order. */
    if (!env_has(&proc->env, "PATH"))
        env_add(p, xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    if (hostname && !env_has(&proc->env, "HOSTNAME"))
        env_add(p, xasprintf("HOSTNAME=%s", hostname));
    if (proc->tty && !env_has(&proc->env, "TERM"))
        env_add(p, xstrdup("TERM=xterm"));
    for (size_t i = 0; i < proc->env.n; i++) {
        const char *e = proc->env.v[i];
        if (strchr(e, '=')) {
            env_add(p, xstrdup(e));
            continue;
        }
        /* "-e NAME" without '=' passes the host's value, like docker; unset means nothing. */
        const char *v = getenv(e);
        if (v)
            env_add(p, xasprintf("%s=%s", e, v));
    }
    p->cwd = xstrdup(proc->workdir ? proc->workdir : "/");
    p->capabilities = default_capabilities();
    Grpc__POSIXRlimit *nofile = spec_new_message(&grpc__posixrlimit__descriptor);
    nofile->type = xstrdup("RLIMIT_NOFILE");
    nofile->hard = nofile->soft = 1024;
    p->n_rlimits = 1;
    p->rlimits = xmalloc(sizeof(*p->rlimits));
    p->rlimits[0] = nofile;
    p->nonewprivileges = true;
    return p;
}

Grpc__StringUser *spec_string_user(const struct user_spec *u)
{
    if (!u->set || (u->numeric_uid && (!u->has_gid || u->numeric_gid)))
        return NULL;
    Grpc__StringUser *s = spec_new_message(&grpc__string_user__descriptor);
    s->uid = u->numeric_uid ? xasprintf("%u", u->uid) : xstrdup(u->name);
    if (u->has_gid)
        s->gid = u->numeric_gid ? xasprintf("%u", u->gid) : xstrdup(u->group);
    return s;
}

static Grpc__Mount **default_mount_list(size_t *ret_n)
{
    size_t n = ARRAY_SIZE(default_mounts);
    Grpc__Mount **v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const struct mount_def *d = &default_mounts[i];
        Grpc__Mount *m = spec_new_message(&grpc__mount__descriptor);
        m->destination = xstrdup(d->dest);
        m->type = xstrdup(d->type);
        m->source = xstrdup(d->source);
        m->n_options = count_strs(d->opts);
        m->options = spec_strv(d->opts, m->n_options);
        v[i] = m;
    }
    *ret_n = n;
    return v;
}

static Grpc__LinuxResources *resources(const struct spec_input *in)
{
    Grpc__LinuxResources *r = spec_new_message(&grpc__linux_resources__descriptor);
    /* runc's default device rule: deny everything, the runtime adds the standard devices. */
    Grpc__LinuxDeviceCgroup *deny = spec_new_message(&grpc__linux_device_cgroup__descriptor);
    deny->allow = false;
    deny->access = xstrdup("rwm");
    r->n_devices = 1;
    r->devices = xmalloc(sizeof(*r->devices));
    r->devices[0] = deny;
    if (in->memory_limit > 0) {
        r->memory = spec_new_message(&grpc__linux_memory__descriptor);
        r->memory->limit = in->memory_limit;
    }
    if (in->cpu_quota > 0) {
        r->cpu = spec_new_message(&grpc__linux_cpu__descriptor);
        r->cpu->quota = in->cpu_quota;
        r->cpu->period = RUN_CPU_PERIOD;
    }
    return r;
}

Grpc__Spec *spec_default(const struct spec_input *in)
{
    Grpc__Spec *s = spec_new_message(&grpc__spec__descriptor);
    s->version = xstrdup("1.0.2");
    s->process = spec_process(in->proc, in->hostname, in->tty_rows, in->tty_cols);
    s->root = spec_new_message(&grpc__root__descriptor);
    s->root->path = xstrdup(in->root_path);
    s->root->readonly = in->read_only;
    if (in->hostname)
        s->hostname = xstrdup(in->hostname);
    s->mounts = default_mount_list(&s->n_mounts);

    Grpc__Linux *l = spec_new_message(&grpc__linux__descriptor);
    l->resources = resources(in);
    if (in->cgroups_path)
        l->cgroupspath = xstrdup(in->cgroups_path);
    l->n_namespaces = ARRAY_SIZE(namespaces);
    l->namespaces = xcalloc(l->n_namespaces, sizeof(*l->namespaces));
    for (size_t i = 0; i < l->n_namespaces; i++) {
        Grpc__LinuxNamespace *ns = spec_new_message(&grpc__linux_namespace__descriptor);
        ns->type = xstrdup(namespaces[i]);
        l->namespaces[i] = ns;
    }
    l->n_maskedpaths = ARRAY_SIZE(masked_paths);
    l->maskedpaths = spec_strv(masked_paths, l->n_maskedpaths);
    l->n_readonlypaths = ARRAY_SIZE(readonly_paths);
    l->readonlypaths = spec_strv(readonly_paths, l->n_readonlypaths);
    s->linux = l;
    return s;
}
