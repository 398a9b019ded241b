/* The task API on the sandbox: containers and their processes, mapped onto the agent's calls in
 * the order Kata's Go shim makes them (Create: boot + CreateSandbox once per pod, then
 * CreateContainer; Start: StartContainer or ExecProcess, then the stdio streams and
 * WaitProcess; Kill with `all`: SignalProcess(SIGKILL, exec_id ""); Delete: RemoveContainer,
 * and DestroySandbox with the pod's last container). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_api.h"
#include "cleanup.h"
#include "containerd/task-events.pb-c.h"
#include "fsutil.h"
#include "metrics.h"
#include "oci-json.h"
#include "shim.h"
#include "xalloc.h"

/* musl's stdio.h makes stdin/stdout/stderr macros; the task API has fields of those names and
 * this file never uses the streams. */
#undef stdin
#undef stdout
#undef stderr

/* What a process reports when the VM or the agent went away under it: its real status is
 * unknowable, and 255 is what Kata's shim reports then. */
#define EXIT_STATUS_LOST 255

static void now_realtime(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

static Google__Protobuf__Timestamp *timestamp_new(const struct timespec *ts)
{
    Google__Protobuf__Timestamp *t = xmalloc(sizeof(*t));
    google__protobuf__timestamp__init(t);
    t->seconds = ts->tv_sec;
    t->nanos = (int32_t)ts->tv_nsec;
    return t;
}

/* ------------------------------------------------------------------ lookup (lock held) */

static struct shim_container *find_container(struct shim *s, const char *id)
{
    for (struct shim_container *c = s->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static int find_process(struct shim *s, const char *id, const char *exec_id,
                        struct shim_process **ret, struct kerr **err)
{
    struct shim_container *c = find_container(s, id);
    if (!c)
        return make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", id);
    if (!exec_id || !*exec_id) {
        *ret = &c->init;
        return 0;
    }
    for (struct shim_process *p = c->execs; p; p = p->next)
        if (strcmp(p->exec_id, exec_id) == 0) {
            *ret = p;
            return 0;
        }
    return make_status(err, RPC_NOT_FOUND, ENOENT, "process %s in container %s: not found",
                       exec_id, id);
}

/* The agent's exec id: the container id for the init process (what CreateContainer got). */
static const char *agent_eid(const struct shim_process *p)
{
    return *p->exec_id ? p->exec_id : p->ctr->id;
}

uint32_t task_vmm_pid(struct shim *s)
{
    return s->booted && s->sb.vm.pid > 0 ? (uint32_t)s->sb.vm.pid : (uint32_t)getpid();
}

bool task_none_left(struct shim *s)
{
    pthread_mutex_lock(&s->lock);
    bool none = s->containers == NULL;
    pthread_mutex_unlock(&s->lock);
    return none;
}

static int need_agent(struct shim *s, struct kerr **err)
{
    if (!s->booted || !s->sb.client)
        return make_status(err, RPC_FAILED_PRECONDITION, ENOTCONN, "the sandbox is not running");
    if (s->vm_lost || sandbox_vm_lost(&s->sb)) {
        cleanup_free char *why = sandbox_vm_lost_text(&s->sb);
        return make_status(err, RPC_UNAVAILABLE, ECONNRESET, "%s", why);
    }
    return 0;
}

/* ------------------------------------------------------------------ events */

/* /tasks/exit and /tasks/delete carry the same facts about a process that has ended. */
static void publish_ended(struct shim *s, const struct shim_process *p, bool deleted)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = p->exited_at.tv_sec;
    ts.nanos = (int32_t)p->exited_at.tv_nsec;
    char *id = *p->exec_id ? p->exec_id : p->ctr->id;
    if (deleted) {
        Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
        ev.container_id = p->ctr->id;
        ev.id = id;
        ev.pid = task_vmm_pid(s);
        ev.exit_status = p->exit_status;
        ev.exited_at = &ts;
        shim_events_publish(s->events, "/tasks/delete", &ev.base);
        return;
    }
    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    ev.container_id = p->ctr->id;
    ev.id = id;
    ev.pid = task_vmm_pid(s);
    ev.exit_status = p->exit_status;
    ev.exited_at = &ts;
    shim_events_publish(s->events, "/tasks/exit", &ev.base);
}

static void publish_exit(struct shim *s, struct shim_process *p)
{
    publish_ended(s, p, false);
}

/* ------------------------------------------------------------------ process waiter */

struct waiter_args {
    struct shim *s;
    struct shim_process *p;
};

/* WaitProcess while the relays run (Kata's shim's order), then the exit once the output has
 * reached EOF: containerd sees every byte before the exit. */
static void *waiter_thread(void *arg)
{
    struct waiter_args *a = arg;
    struct shim *s = a->s;
    struct shim_process *p = a->p;
    free(a);
    int status = EXIT_STATUS_LOST;
    struct kerr *e = NULL;
    if (agent_wait(s->sb.client, p->ctr->id, agent_eid(p), &status, &e) < 0) {
        status = EXIT_STATUS_LOST;
        if (sandbox_vm_lost(&s->sb))
            s->vm_lost = true;
    }
    error_free(e);
    /* The exit is reported once every byte of output has been relayed. */
    fifo_io_process_exited(&p->io);
    fifo_io_wait_output(&p->io);
    fifo_io_finish(&p->io);
    pthread_mutex_lock(&s->lock);
    if (p->status != PROC_STOPPED) { /* else the VM's loss was reported already */
        p->status = PROC_STOPPED;
        p->exit_status = (uint32_t)status;
        now_realtime(&p->exited_at);
        publish_exit(s, p);
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------ losing the VM */

struct lost_args {
    struct shim *s;
    unsigned generation;
};

static void mark_stopped_lost(struct shim *s, struct shim_process *p)
{
    if (p->status == PROC_STOPPED)
        return;
    p->status = PROC_STOPPED;
    p->exit_status = EXIT_STATUS_LOST;
    now_realtime(&p->exited_at);
    publish_exit(s, p);
}

/* The VMM died (killed, crashed): every process of the pod is over. Those with a waiter learn
 * it from their failing calls; the others (created, never started) would otherwise stay
 * "created" forever and containerd could neither kill nor delete them. */
static void *vm_lost_thread(void *arg)
{
    struct lost_args *a = arg;
    struct shim *s = a->s;
    pthread_mutex_lock(&s->lock);
    if (s->booted && s->vm_generation == a->generation && !s->tearing_down) {
        s->vm_lost = true;
        fprintf(stderr, "kata-guest shim: the VM of sandbox %s is gone\n", s->sandbox_id);
        for (struct shim_container *c = s->containers; c; c = c->next) {
            mark_stopped_lost(s, &c->init);
            for (struct shim_process *p = c->execs; p; p = p->next)
                mark_stopped_lost(s, p);
        }
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    free(a);
    return NULL;
}

/* On the VM's waiter thread, which teardown joins while holding the shim's lock: hand over. */
static void on_vm_lost(void *data)
{
    struct shim *s = data;
    struct lost_args *a = xmalloc(sizeof(*a));
    *a = (struct lost_args){s, s->vm_generation};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, vm_lost_thread, a) != 0)
        free(a);
    pthread_attr_destroy(&attr);
}

static int start_waiter(struct shim *s, struct shim_process *p, struct kerr **err)
{
    p->io.stdin_path = p->stdin_path;
    p->io.stdout_path = p->stdout_path;
    p->io.stderr_path = p->stderr_path;
    p->io.terminal = p->terminal;
    int r = fifo_io_start(&p->io, s->sb.client, p->ctr->id, agent_eid(p), err);
    if (r < 0)
        return r;
    struct waiter_args *a = xmalloc(sizeof(*a));
    *a = (struct waiter_args){s, p};
    if (pthread_create(&p->waiter, NULL, waiter_thread, a) != 0) {
        free(a);
        return make_error(err, EAGAIN, "start the process waiter");
    }
    p->waiter_started = true;
    return 0;
}

/* ------------------------------------------------------------------ OOM events */

static void *oom_thread(void *arg)
{
    struct shim *s = arg;
    for (;;) {
        char *cid = NULL;
        struct kerr *e = NULL;
        int r = agent_get_oom_event(s->sb.client, &cid, &e);
        error_free(e);
        if (r < 0)
            break; /* the agent is gone or the sandbox destroyed: no more events */
        Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
        ev.container_id = cid;
        shim_events_publish(s->events, "/tasks/oom", &ev.base);
        free(cid);
    }
    return NULL;
}

/* ------------------------------------------------------------------ the sandbox */

static int boot_sandbox_here(struct shim *s, const char *hostname, struct kerr **err)
{
    shim_config_sandbox(&s->opts, s->sandbox_id, s->run_dir, hostname);
    int r = sandbox_prepare(&s->sb, &s->opts, err);
    if (r < 0)
        return r;
    s->vm_generation++;
    s->sb.on_vm_lost = on_vm_lost;
    s->sb.on_vm_lost_data = s;
    /* Containers are mounted under the shared directory after virtiofsd started in a mount
     * namespace of its own: a shared mount is what carries them over (Kata's runtime does the
     * same with its sandbox's mounts/ directory). */
    if ((mkdir(s->sb.share_dir, 0700) < 0 && errno != EEXIST) ||
        mount(s->sb.share_dir, s->sb.share_dir, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, s->sb.share_dir, NULL, MS_SHARED, NULL) < 0) {
        r = make_error(err, errno, "make %s a shared mount", s->sb.share_dir);
        sandbox_teardown(&s->sb);
        return r;
    }
    r = sandbox_boot(&s->sb, err);
    if (r < 0) {
        /* A guest that died during boot: say so (the waiter may take a moment to notice). */
        if (s->sb.vm_started)
            vm_wait(&s->sb.vm, 500);
        if (sandbox_vm_lost(&s->sb)) {
            cleanup_free char *why = sandbox_vm_lost_text(&s->sb);
            error_wrap(err, r, "%s", why);
        }
        sandbox_teardown(&s->sb);
        return r;
    }
    s->booted = true;
    if (pthread_create(&s->oom_thread, NULL, oom_thread, s) == 0)
        s->oom_started = true;
    return 0;
}

/* The VMM and virtiofsd die with the thread that forked them (PR_SET_PDEATHSIG follows the
 * parent thread, not the process), and a call's worker thread ends with the call: the boot runs
 * on a thread that lives as long as the VM. */
struct vm_owner {
    struct shim *s;
    const char *hostname;
    struct kerr *err;
    int result;
    bool booted, released;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void *vm_owner_thread(void *arg)
{
    struct vm_owner *o = arg;
    int r = boot_sandbox_here(o->s, o->hostname, &o->err);
    pthread_mutex_lock(&o->lock);
    o->result = r;
    o->booted = true;
    pthread_cond_broadcast(&o->cond);
    while (!o->released)
        pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

static void release_vm_owner(struct shim *s)
{
    struct vm_owner *o = s->vm_owner;
    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    o->released = true;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    pthread_join(s->vm_owner_thread, NULL);
    error_free(o->err);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
    free(o);
    s->vm_owner = NULL;
}

static int boot_sandbox(struct shim *s, const char *hostname, struct kerr **err)
{
    struct vm_owner *o = xcalloc(1, sizeof(*o));
    o->s = s;
    o->hostname = hostname;
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    if (pthread_create(&s->vm_owner_thread, NULL, vm_owner_thread, o) != 0) {
        free(o);
        return make_error(err, EAGAIN, "start the VM's thread");
    }
    s->vm_owner = o;
    pthread_mutex_lock(&o->lock);
    while (!o->booted)
        pthread_cond_wait(&o->cond, &o->lock);
    int r = o->result;
    if (r < 0 && err && !*err) {
        *err = o->err;
        o->err = NULL;
    }
    pthread_mutex_unlock(&o->lock);
    if (r < 0)
        release_vm_owner(s);
    return r;
}

static void teardown_sandbox(struct shim *s)
{
    if (!s->booted)
        return;
    /* DestroySandbox makes a pending GetOOMEvent fail; the teardown then closes the client. */
    cleanup_free char *share = s->sb.share_dir ? xstrdup(s->sb.share_dir) : NULL;
    s->tearing_down = true;
    sandbox_teardown(&s->sb);
    s->tearing_down = false;
    release_vm_owner(s);
    /* A pooled VM's share is a second mount, on top of the shared directory's own. */
    for (int i = 0; share && i < 2 && umount2(share, MNT_DETACH) == 0; i++)
        ;
    if (s->oom_started) {
        pthread_join(s->oom_thread, NULL);
        s->oom_started = false;
    }
    s->booted = false;
}

/* ------------------------------------------------------------------ the spec */

static void replace_string(char **field, char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = value;
}

static bool is_bind(const Grpc__Mount *m)
{
    if (strcmp(m->type, "bind") == 0 || strcmp(m->type, "rbind") == 0)
        return true;
    for (size_t i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
            return true;
    return false;
}

static bool has_option(const Grpc__Mount *m, const char *opt)
{
    for (size_t i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i], opt) == 0)
            return true;
    return false;
}

/* As Kata's runtime does before CreateContainer: host bind volumes are shared into the guest
 * and their sources rewritten; hooks and namespace paths name host things and are dropped;
 * the network namespace is the VM's own. */
static int adapt_spec(struct shim *s, struct shim_container *c, Grpc__Spec *spec, bool terminal,
                      struct kerr **err)
{
    if (!spec->root)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "config.json: no root");
    replace_string(&spec->root->path, xasprintf(GUEST_SHARED_DIR "/%s/rootfs", c->id));
    if (spec->hooks) {
        protobuf_c_message_free_unpacked(&spec->hooks->base, NULL);
        spec->hooks = NULL;
    }
    if (spec->process)
        spec->process->terminal = terminal;
    if (spec->linux) {
        size_t kept = 0;
        for (size_t i = 0; i < spec->linux->n_namespaces; i++) {
            Grpc__LinuxNamespace *ns = spec->linux->namespaces[i];
            if (strcmp(ns->type, "network") == 0) {
                protobuf_c_message_free_unpacked(&ns->base, NULL);
                continue;
            }
            replace_string(&ns->path, xstrdup(""));
            spec->linux->namespaces[kept++] = ns;
        }
        spec->linux->n_namespaces = kept;
    }
    size_t n_shared = 0;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        Grpc__Mount *m = spec->mounts[i];
        if (!is_bind(m) || m->source[0] != '/')
            continue;
        const char *base = strrchr(m->source, '/') + 1;
        cleanup_free char *name = xasprintf("%s-%zu-%s", c->id, i, *base ? base : "root");
        cleanup_free char *host = xasprintf("%s/%s", s->sb.share_dir, name);
        int r = rootfs_share(m->source, host, has_option(m, "ro"), err);
        if (r < 0)
            return error_wrap(err, r, "volume %s", m->destination);
        c->shared_volumes = xrealloc(c->shared_volumes, (n_shared + 2) * sizeof(char *));
        c->shared_volumes[n_shared++] = xstrdup(host);
        c->shared_volumes[n_shared] = NULL;
        replace_string(&m->source, xasprintf(GUEST_SHARED_DIR "/%s", name));
    }
    return 0;
}

/* ------------------------------------------------------------------ containers */

static void free_process_fields(struct shim_process *p)
{
    free(p->exec_id);
    free(p->stdin_path);
    free(p->stdout_path);
    free(p->stderr_path);
    if (p->exec_spec)
        protobuf_c_message_free_unpacked(&p->exec_spec->base, NULL);
    p->exec_spec = NULL;
}

static void join_process(struct shim_process *p)
{
    if (p->waiter_started) {
        pthread_join(p->waiter, NULL);
        p->waiter_started = false;
    }
}

static void release_rootfs(struct shim_container *c)
{
    for (char **v = c->shared_volumes; v && *v; v++) {
        rootfs_unshare(*v);
        free(*v);
    }
    free(c->shared_volumes);
    c->shared_volumes = NULL;
    if (c->shared_rootfs) {
        rootfs_unshare(c->shared_rootfs);
        char *slash = strrchr(c->shared_rootfs, '/');
        *slash = '\0';
        rmdir(c->shared_rootfs); /* <share>/<id> */
        free(c->shared_rootfs);
        c->shared_rootfs = NULL;
    }
    if (c->rootfs_target) {
        umount2(c->rootfs_target, MNT_DETACH);
        free(c->rootfs_target);
        c->rootfs_target = NULL;
    }
}

static void free_container(struct shim_container *c)
{
    release_rootfs(c);
    free_process_fields(&c->init);
    free(c->id);
    free(c->bundle);
    free(c);
}

static void unlink_container(struct shim *s, struct shim_container *c)
{
    for (struct shim_container **pp = &s->containers; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

static int prepare_rootfs(struct shim *s, struct shim_container *c,
                          const Containerd__Task__V2__CreateTaskRequest *req,
                          const Grpc__Spec *spec, struct kerr **err)
{
    cleanup_free char *source = NULL;
    if (req->n_rootfs > 0) {
        c->rootfs_target = xasprintf("%s/rootfs", c->bundle);
        if (mkdir(c->rootfs_target, 0711) < 0 && errno != EEXIST)
            return make_error(err, errno, "create %s", c->rootfs_target);
        int r = rootfs_mount((const Containerd__Types__Mount *const *)req->rootfs, req->n_rootfs,
                             c->rootfs_target, err);
        if (r < 0) {
            umount2(c->rootfs_target, MNT_DETACH);
            free(c->rootfs_target);
            c->rootfs_target = NULL;
            return r;
        }
        source = xstrdup(c->rootfs_target);
    } else {
        /* ctr run --rootfs DIR: no mounts, root.path names the directory itself. */
        const char *path = spec->root && *spec->root->path ? spec->root->path : "rootfs";
        source = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", c->bundle, path);
    }
    char *dst = xasprintf("%s/%s/rootfs", s->sb.share_dir, c->id);
    int r = rootfs_share(source, dst, false, err);
    if (r < 0) {
        free(dst);
        return r;
    }
    c->shared_rootfs = dst;
    return 0;
}

static bool annotation(const Grpc__Spec *spec, const char *key, const char **ret)
{
    for (size_t i = 0; i < spec->n_annotations; i++)
        if (strcmp(spec->annotations[i]->key, key) == 0) {
            *ret = spec->annotations[i]->value;
            return true;
        }
    return false;
}

int task_create(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                uint32_t *ret_pid, struct kerr **err)
{
    if (req->checkpoint && *req->checkpoint)
        return make_status(err, RPC_UNIMPLEMENTED, ENOTSUP,
                           "restoring from a checkpoint is not supported by kata-guest");
    cleanup_free char *cfg_path = xasprintf("%s/config.json", req->bundle);
    cleanup_free char *json = NULL;
    int r = read_file(cfg_path, &json, err);
    if (r < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, -r, "%s", (*err)->msg);
    Grpc__Spec *spec = NULL;
    r = oci_json_parse_spec(json, strlen(json), &spec, err);
    if (r < 0)
        return error_wrap(err, r, "%s", cfg_path);

    pthread_mutex_lock(&s->lock);
    struct shim_container *c = NULL;
    if (find_container(s, req->id)) {
        r = make_status(err, RPC_ALREADY_EXISTS, EEXIST, "container %s: already exists",
                        req->id);
        goto out;
    }
    const char *type = NULL;
    annotation(spec, CRI_CONTAINER_TYPE, &type);
    if (type && strcmp(type, "container") == 0 && !s->booted) {
        r = make_status(err, RPC_FAILED_PRECONDITION, ENOENT,
                        "container %s: its pod's sandbox is not running in this shim", req->id);
        goto out;
    }
    if (!s->booted) {
        if (s->shutting_down) {
            r = make_status(err, RPC_FAILED_PRECONDITION, ESHUTDOWN, "the shim is shutting down");
            goto out;
        }
        r = boot_sandbox(s, spec->hostname, err);
        if (r < 0)
            goto out;
    } else if ((r = need_agent(s, err)) < 0) {
        goto out;
    }
    c = xcalloc(1, sizeof(*c));
    c->id = xstrdup(req->id);
    c->bundle = xstrdup(req->bundle);
    c->init.ctr = c;
    c->init.exec_id = xstrdup("");
    c->init.stdin_path = xstrdup(req->stdin);
    c->init.stdout_path = xstrdup(req->stdout);
    c->init.stderr_path = xstrdup(req->stderr);
    c->init.terminal = req->terminal;
    c->init.status = PROC_CREATED;
    r = prepare_rootfs(s, c, req, spec, err);
    if (r == 0)
        r = adapt_spec(s, c, spec, req->terminal, err);
    if (r == 0) {
        Grpc__CreateContainerRequest creq = GRPC__CREATE_CONTAINER_REQUEST__INIT;
        creq.container_id = c->id;
        creq.exec_id = c->id;
        creq.oci = spec;
        r = agent_create_container(s->sb.client, &creq, err);
        if (r < 0)
            error_wrap(err, r, "CreateContainer");
    }
    if (r < 0) {
        free_container(c);
        c = NULL;
        /* A pod whose first container failed has nothing left to run. */
        if (!s->containers)
            teardown_sandbox(s);
        goto out;
    }
    c->next = s->containers;
    s->containers = c;
    *ret_pid = task_vmm_pid(s);

    Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
    io.stdin = req->stdin;
    io.stdout = req->stdout;
    io.stderr = req->stderr;
    io.terminal = req->terminal;
    Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    ev.container_id = req->id;
    ev.bundle = req->bundle;
    ev.n_rootfs = req->n_rootfs;
    ev.rootfs = req->rootfs;
    ev.io = &io;
    ev.pid = *ret_pid;
    shim_events_publish(s->events, "/tasks/create", &ev.base);
out:
    pthread_mutex_unlock(&s->lock);
    protobuf_c_message_free_unpacked(&spec->base, NULL);
    return r;
}

int task_start(struct shim *s, const char *id, const char *exec_id, uint32_t *ret_pid,
               struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r == 0)
        r = need_agent(s, err);
    if (r == 0 && p->status != PROC_CREATED)
        r = make_status(err, RPC_FAILED_PRECONDITION, EBUSY, "process %s%s%s: already started",
                        id, *p->exec_id ? "/" : "", p->exec_id);
    if (r < 0)
        goto out;
    if (!*p->exec_id) {
        r = agent_start_container(s->sb.client, id, err);
    } else {
        Grpc__ExecProcessRequest ereq = GRPC__EXEC_PROCESS_REQUEST__INIT;
        ereq.container_id = (char *)id;
        ereq.exec_id = p->exec_id;
        ereq.process = p->exec_spec;
        r = agent_exec_process(s->sb.client, &ereq, err);
    }
    if (r < 0) {
        error_wrap(err, r, "%s", *p->exec_id ? "ExecProcess" : "StartContainer");
        goto out;
    }
    p->status = PROC_RUNNING;
    r = start_waiter(s, p, err);
    if (r < 0)
        goto out;
    *ret_pid = task_vmm_pid(s);
    if (!*p->exec_id) {
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        ev.container_id = (char *)id;
        ev.pid = *ret_pid;
        shim_events_publish(s->events, "/tasks/start", &ev.base);
    } else {
        Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        ev.container_id = (char *)id;
        ev.exec_id = p->exec_id;
        ev.pid = *ret_pid;
        shim_events_publish(s->events, "/tasks/exec-started", &ev.base);
    }
out:
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_exec(struct shim *s, const Containerd__Task__V2__ExecProcessRequest *req,
              struct kerr **err)
{
    if (!req->exec_id || !*req->exec_id)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "exec: an exec id is required");
    if (!req->spec || !req->spec->value.data)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "exec %s: no process spec",
                           req->exec_id);
    Grpc__Process *proc = NULL;
    int r = oci_json_parse_process((const char *)req->spec->value.data, req->spec->value.len,
                                   &proc, err);
    if (r < 0)
        return error_wrap(err, r, "exec %s: process spec", req->exec_id);
    proc->terminal = req->terminal;
    pthread_mutex_lock(&s->lock);
    struct shim_container *c = find_container(s, req->id);
    struct shim_process *existing = NULL;
    struct kerr *e2 = NULL;
    if (!c)
        r = make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", req->id);
    else if (find_process(s, req->id, req->exec_id, &existing, &e2) == 0)
        r = make_status(err, RPC_ALREADY_EXISTS, EEXIST, "process %s: already exists",
                        req->exec_id);
    else if (c->init.status == PROC_STOPPED)
        r = make_status(err, RPC_FAILED_PRECONDITION, ESRCH, "container %s: not running",
                        req->id);
    error_free(e2);
    if (r < 0) {
        pthread_mutex_unlock(&s->lock);
        protobuf_c_message_free_unpacked(&proc->base, NULL);
        return r;
    }
    struct shim_process *p = xcalloc(1, sizeof(*p));
    p->ctr = c;
    p->exec_id = xstrdup(req->exec_id);
    p->stdin_path = xstrdup(req->stdin);
    p->stdout_path = xstrdup(req->stdout);
    p->stderr_path = xstrdup(req->stderr);
    p->terminal = req->terminal;
    p->exec_spec = proc;
    p->status = PROC_CREATED;
    p->next = c->execs;
    c->execs = p;
    Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
    ev.container_id = req->id;
    ev.exec_id = req->exec_id;
    shim_events_publish(s->events, "/tasks/exec-added", &ev.base);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int task_kill(struct shim *s, const char *id, const char *exec_id, uint32_t sig, bool all,
              struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r < 0)
        goto out;
    if (p->status == PROC_STOPPED) {
        r = make_status(err, RPC_NOT_FOUND, ESRCH, "process already finished");
        goto out;
    }
    if ((r = need_agent(s, err)) < 0)
        goto out;
    /* "all" is SignalProcess with no exec id: the agent signals every process of the
     * container (as Kata's runtime encodes it). */
    const char *eid = all && !*p->exec_id ? "" : agent_eid(p);
    r = agent_signal(s->sb.client, id, eid, (int)sig, err);
    if (r < 0)
        error_wrap(err, r, "SignalProcess");
out:
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_wait(struct shim *s, const char *id, const char *exec_id, uint32_t *ret_status,
              struct timespec *ret_exited_at, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r == 0) {
        /* The process record lives until Delete, which waits for the waiter thread, and a
         * deleted container's Wait must not be left hanging: re-check after every change. */
        while (p->status != PROC_STOPPED) {
            pthread_cond_wait(&s->changed, &s->lock);
            struct kerr *e2 = NULL;
            struct shim_process *again = NULL;
            if (find_process(s, id, exec_id, &again, &e2) < 0 || again != p) {
                error_free(e2);
                r = make_status(err, RPC_NOT_FOUND, ENOENT, "process %s: deleted while waited for",
                                *exec_id ? exec_id : id);
                break;
            }
        }
        if (r == 0) {
            *ret_status = p->exit_status;
            *ret_exited_at = p->exited_at;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

static void fill_delete_response(struct shim *s, const struct shim_process *p,
                                 Containerd__Task__V2__DeleteResponse *ret)
{
    ret->pid = task_vmm_pid(s);
    ret->exit_status = p->exit_status;
    ret->exited_at = timestamp_new(&p->exited_at);
}

static int delete_exec(struct shim *s, struct shim_container *c, const char *exec_id,
                       Containerd__Task__V2__DeleteResponse *ret, struct kerr **err)
{
    for (struct shim_process **pp = &c->execs; *pp; pp = &(*pp)->next) {
        struct shim_process *p = *pp;
        if (strcmp(p->exec_id, exec_id) != 0)
            continue;
        if (p->status == PROC_RUNNING)
            return make_status(err, RPC_FAILED_PRECONDITION, EBUSY,
                               "process %s: still running (kill it first)", exec_id);
        *pp = p->next;
        pthread_mutex_unlock(&s->lock);
        join_process(p);
        pthread_mutex_lock(&s->lock);
        fill_delete_response(s, p, ret);
        free_process_fields(p);
        free(p);
        pthread_cond_broadcast(&s->changed);
        return 0;
    }
    return make_status(err, RPC_NOT_FOUND, ENOENT, "process %s in container %s: not found",
                       exec_id, c->id);
}

int task_delete(struct shim *s, const char *id, const char *exec_id,
                Containerd__Task__V2__DeleteResponse *ret, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_container *c = find_container(s, id);
    int r = 0;
    if (!c) {
        r = make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", id);
        goto out;
    }
    if (exec_id && *exec_id) {
        r = delete_exec(s, c, exec_id, ret, err);
        goto out;
    }
    if (c->init.status == PROC_RUNNING) {
        r = make_status(err, RPC_FAILED_PRECONDITION, EBUSY,
                        "container %s: still running (kill it first)", id);
        goto out;
    }
    if (c->init.status == PROC_CREATED) {
        /* Deleted before it ran: the exit status containerd expects is that of a kill. */
        c->init.status = PROC_STOPPED;
        c->init.exit_status = 128 + SIGKILL;
        now_realtime(&c->init.exited_at);
    }
    if (s->booted && !s->vm_lost && !sandbox_vm_lost(&s->sb)) {
        struct kerr *e = NULL;
        agent_remove_container(s->sb.client, id, 10, &e);
        error_free(e);
    }
    unlink_container(s, c);
    pthread_cond_broadcast(&s->changed);
    /* Exec waiters end on their own now that the container is gone. */
    while (c->execs) {
        struct shim_process *p = c->execs;
        c->execs = p->next;
        pthread_mutex_unlock(&s->lock);
        join_process(p);
        pthread_mutex_lock(&s->lock);
        free_process_fields(p);
        free(p);
    }
    pthread_mutex_unlock(&s->lock);
    join_process(&c->init);
    pthread_mutex_lock(&s->lock);
    fill_delete_response(s, &c->init, ret);
    publish_ended(s, &c->init, true);
    free_container(c);
    if (!s->containers)
        teardown_sandbox(s);
out:
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_state(struct shim *s, const char *id, const char *exec_id,
               Containerd__Task__V2__StateResponse *ret, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r == 0) {
        ret->id = xstrdup(id);
        ret->exec_id = xstrdup(exec_id ? exec_id : "");
        ret->bundle = xstrdup(p->ctr->bundle);
        ret->pid = task_vmm_pid(s);
        ret->stdin = xstrdup(p->stdin_path);
        ret->stdout = xstrdup(p->stdout_path);
        ret->stderr = xstrdup(p->stderr_path);
        ret->terminal = p->terminal;
        switch (p->status) {
        case PROC_CREATED:
            ret->status = CONTAINERD__V1__TYPES__STATUS__CREATED;
            break;
        case PROC_RUNNING:
            ret->status = p->ctr->paused ? CONTAINERD__V1__TYPES__STATUS__PAUSED
                                         : CONTAINERD__V1__TYPES__STATUS__RUNNING;
            break;
        case PROC_STOPPED:
            ret->status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
            ret->exit_status = p->exit_status;
            ret->exited_at = timestamp_new(&p->exited_at);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_pause(struct shim *s, const char *id, bool pause, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_container *c = find_container(s, id);
    int r = 0;
    if (!c)
        r = make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", id);
    else if (c->init.status != PROC_RUNNING)
        r = make_status(err, RPC_FAILED_PRECONDITION, ESRCH, "container %s: not running", id);
    else if ((r = need_agent(s, err)) == 0)
        r = pause ? agent_pause_container(s->sb.client, id, err)
                  : agent_resume_container(s->sb.client, id, err);
    if (r == 0) {
        c->paused = pause;
        if (pause) {
            Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
            ev.container_id = (char *)id;
            shim_events_publish(s->events, "/tasks/paused", &ev.base);
        } else {
            Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
            ev.container_id = (char *)id;
            shim_events_publish(s->events, "/tasks/resumed", &ev.base);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_resize(struct shim *s, const char *id, const char *exec_id, uint32_t width,
                uint32_t height, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r == 0 && p->status == PROC_RUNNING && p->terminal && (r = need_agent(s, err)) == 0)
        r = agent_tty_resize(s->sb.client, id, agent_eid(p), height, width, err);
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_close_io(struct shim *s, const char *id, const char *exec_id, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    struct shim_process *p = NULL;
    int r = find_process(s, id, exec_id, &p, err);
    if (r == 0 && p->status == PROC_RUNNING)
        fifo_io_close_stdin(&p->io);
    pthread_mutex_unlock(&s->lock);
    return r;
}

int task_update(struct shim *s, const Containerd__Task__V2__UpdateTaskRequest *req,
                struct kerr **err)
{
    if (!req->resources || !req->resources->value.data)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "update %s: no resources",
                           req->id);
    Grpc__LinuxResources *res = NULL;
    int r = oci_json_parse_resources((const char *)req->resources->value.data,
                                     req->resources->value.len, &res, err);
    if (r < 0)
        return error_wrap(err, r, "update %s: resources", req->id);
    pthread_mutex_lock(&s->lock);
    if (!find_container(s, req->id))
        r = make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", req->id);
    else if ((r = need_agent(s, err)) == 0)
        r = agent_update_container(s->sb.client, req->id, res, err);
    pthread_mutex_unlock(&s->lock);
    protobuf_c_message_free_unpacked(&res->base, NULL);
    return r;
}

int task_stats(struct shim *s, const char *id, Google__Protobuf__Any *ret, struct kerr **err)
{
    pthread_mutex_lock(&s->lock);
    int r = 0;
    if (!find_container(s, id))
        r = make_status(err, RPC_NOT_FOUND, ENOENT, "container %s: not found", id);
    else
        r = need_agent(s, err);
    pthread_mutex_unlock(&s->lock);
    if (r < 0)
        return r;
    Grpc__StatsContainerResponse *stats = NULL;
    r = agent_stats_container(s->sb.client, id, &stats, err);
    if (r < 0)
        return error_wrap(err, r, "StatsContainer");
    r = shim_metrics_any(stats, ret, err);
    protobuf_c_message_free_unpacked(&stats->base, NULL);
    return r;
}

void task_shutdown(struct shim *s)
{
    pthread_mutex_lock(&s->lock);
    s->shutting_down = true;
    /* Containers still here when the shim must go (Shutdown with now, a signal): the
     * sandbox's teardown ends their processes, which lets every waiter finish. */
    if (s->booted) {
        pthread_mutex_unlock(&s->lock);
        if (s->sb.client)
            for (struct shim_container *c = s->containers; c; c = c->next) {
                struct kerr *e = NULL;
                agent_signal(s->sb.client, c->id, "", SIGKILL, &e);
                error_free(e);
            }
        pthread_mutex_lock(&s->lock);
    }
    while (s->containers) {
        struct shim_container *c = s->containers;
        s->containers = c->next;
        if (s->booted && s->sb.chan_fd >= 0 && (c->init.waiter_started || c->execs))
            shutdown(s->sb.chan_fd, SHUT_RDWR); /* every pending agent call fails now */
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        for (struct shim_process *p = c->execs; p; p = p->next)
            join_process(p);
        join_process(&c->init);
        pthread_mutex_lock(&s->lock);
        while (c->execs) {
            struct shim_process *p = c->execs;
            c->execs = p->next;
            free_process_fields(p);
            free(p);
        }
        free_container(c);
    }
    teardown_sandbox(s);
    pthread_mutex_unlock(&s->lock);
}
