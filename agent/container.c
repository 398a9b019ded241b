/* Containers: CreateContainer (bundle, rootfs bind, cgroup, held init), StartContainer,
 * ExecProcess and RemoveContainer. The spec received in CreateContainer is kept for the
 * container's lifetime (execs inherit capabilities from it); the few fields the agent
 * rewrites (root path, shared namespaces) live in a shallow "view" owned by the container;
 * only OCI devices (device.c) change the message itself: their guest major/minor and the
 * device cgroup rules that go with them. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "fsutil.h"
#include "validate.h"
#include "cleanup.h"
#include "linux/cgroup.h"
#include "linux/hooks.h"
#include "log.h"
#include "xalloc.h"

#define SANDBOX_NS_DIR "/run/sandbox-ns"

/* The container's rewritten spec: shallow copies pointing into the original message. */
struct spec_view {
    Grpc__Spec spec;
    Grpc__Process process;
    char **args; /* NULL-terminated copy of process.args, as execve wants */
    Grpc__Root root;
    Grpc__Linux linux_;
    Grpc__LinuxNamespace **ns; /* array owned here */
    Grpc__LinuxNamespace *own_ns[8];
    size_t n_own;
    char *paths[8];
    size_t n_paths;
    Grpc__Hooks *hooks; /* the spec's and the guest hooks (oci-hooks.c), or NULL */
    struct hook_state hook_state;
};

static void spec_view_free(struct spec_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_own; i++)
        free(v->own_ns[i]);
    for (size_t i = 0; i < v->n_paths; i++)
        free(v->paths[i]);
    free(v->ns);
    free(v->args);
    oci_hooks_free(v->hooks);
    free(v);
}

struct container *container_find(struct sandbox *sb, const char *id)
{
    for (struct container *c = sb->containers; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

/* protobuf-c string arrays carry a count, not a NULL terminator. */
static char **argv_copy(char **v, size_t n)
{
    char **r = xcalloc(n + 1, sizeof(char *));
    memcpy(r, v, n * sizeof(char *));
    return r;
}

static const char *view_keep(struct spec_view *v, char *s)
{
    v->paths[v->n_paths++] = s;
    return s;
}

/* Points the pid/ipc/uts namespaces at the sandbox's shared ones, as upstream does. */
static struct spec_view *spec_view_new(struct sandbox *sb, const Grpc__Spec *spec,
                                       const char *rootfs, bool sandbox_pidns)
{
    struct spec_view *v = xcalloc(1, sizeof(*v));
    v->spec = *spec;
    v->process = *spec->process;
    v->args = argv_copy(spec->process->args, spec->process->n_args);
    v->process.args = v->args;
    v->spec.process = &v->process;
    v->root = *spec->root;
    v->root.path = (char *)rootfs;
    v->spec.root = &v->root;
    if (spec->linux)
        v->linux_ = *spec->linux;
    else
        grpc__linux__init(&v->linux_);
    v->spec.linux = &v->linux_;

    size_t n = v->linux_.n_namespaces;
    v->ns = xcalloc(n + 1, sizeof(*v->ns));
    bool have_pid = false;
    for (size_t i = 0; i < n; i++) {
        Grpc__LinuxNamespace *orig = v->linux_.namespaces[i];
        const char *path = NULL;
        if (strcmp(orig->type, "pid") == 0) {
            have_pid = true;
            if (sandbox_pidns && sb->pidns_pid > 0 && !orig->path[0])
                path = view_keep(v, xasprintf("/proc/%d/ns/pid", (int)sb->pidns_pid));
        } else if (sb->shared_ns && !orig->path[0] &&
                   (strcmp(orig->type, "ipc") == 0 || strcmp(orig->type, "uts") == 0)) {
            path = view_keep(v, xasprintf(SANDBOX_NS_DIR "/%s", orig->type));
        }
        if (path && v->n_own < 8) {
            Grpc__LinuxNamespace *ns = xmalloc(sizeof(*ns));
            *ns = *orig;
            ns->path = (char *)path;
            v->own_ns[v->n_own++] = ns;
            v->ns[i] = ns;
        } else {
            v->ns[i] = orig;
        }
    }
    /* The Go runtime strips the pid namespace and says sandbox_pidns instead. */
    if (!have_pid && sandbox_pidns && v->n_own < 8) {
        Grpc__LinuxNamespace *ns = xmalloc(sizeof(*ns));
        grpc__linux_namespace__init(ns);
        ns->type = "pid";
        if (sb->pidns_pid > 0)
            ns->path = (char *)view_keep(v, xasprintf("/proc/%d/ns/pid", (int)sb->pidns_pid));
        v->own_ns[v->n_own++] = ns;
        v->ns[n++] = ns;
    }
    v->linux_.namespaces = v->ns;
    v->linux_.n_namespaces = n;
    v->hooks = oci_hooks_merge(spec->hooks, sb->guest_hooks);
    v->spec.hooks = v->hooks;
    return v;
}

static bool spec_has_new_pidns(const Grpc__Spec *spec)
{
    for (size_t i = 0; spec->linux && i < spec->linux->n_namespaces; i++)
        if (strcmp(spec->linux->namespaces[i]->type, "pid") == 0 &&
            !spec->linux->namespaces[i]->path[0])
            return true;
    return false;
}

static void container_free(struct container *c)
{
    spec_view_free((struct spec_view *)c->view);
    if (c->spec)
        protobuf_c_message_free_unpacked(&c->spec->base, NULL);
    for (size_t i = 0; i < c->n_storages; i++)
        free(c->storages[i]);
    free(c->storages);
    free(c->id);
    free(c->bundle);
    free(c->rootfs);
    free(c);
}

/* Undoes what CreateContainer set up, in reverse order; processes must be gone. */
static void container_teardown(struct container *c)
{
    struct kerr *err = NULL;
    oom_unwatch(c->oom);
    c->oom = NULL;
    if (c->release_fd >= 0)
        close(c->release_fd);
    c->release_fd = -1;
    if (c->cg) {
        if (cgroup_destroy(c->cg, &err) < 0) {
            log_warn("container", "container %s: remove cgroup: %s", c->id, err->msg);
            error_freep(&err);
        }
        cgroup_free(c->cg);
        c->cg = NULL;
    }
    if (c->rootfs_mounted && umount2(c->rootfs, MNT_DETACH) < 0)
        log_warn("container", "container %s: unmount %s: %m", c->id, c->rootfs);
    c->rootfs_mounted = false;
    if (c->rootfs)
        (void)rmdir(c->rootfs);
    if (c->bundle) {
        cleanup_free char *config = xasprintf("%s/config.json", c->bundle);
        (void)unlink(config);
    }
    if (c->bundle)
        (void)rmdir(c->bundle);
    sandbox_put_storages(c->sb, c->storages, c->n_storages);
    c->n_storages = 0;
}

/* Storages, bundle, rootfs bind, cgroup and the held init: everything CreateContainer sets
 * up. On failure the caller tears down whatever was done (container_teardown is idempotent). */
static int container_setup(struct container *c, Grpc__CreateContainerRequest *req,
                           struct kerr **err)
{
    struct sandbox *sb = c->sb;
    Grpc__Spec *spec = req->oci;
    int r = container_devices_apply(sb, req->devices, req->n_devices, req->oci, err);
    if (r < 0)
        return r;
    r = sandbox_add_storages(sb, req->storages, req->n_storages, c->id, &c->storages,
                             &c->n_storages, err);
    if (r < 0)
        return r;
    r = mkdir_p(c->rootfs, 0755, NULL);
    if (r < 0)
        return make_error(err, -r, "create bundle %s", c->rootfs);
    if (mount(spec->root->path, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return make_status(err, errno == ENOENT ? RPC_INVALID_ARGUMENT : RPC_INTERNAL, errno,
                           "bind rootfs %s to %s: %s", spec->root->path, c->rootfs,
                           strerror(errno));
    c->rootfs_mounted = true;

    cleanup_free char *cgpath = NULL;
    r = cgroup_path_from_spec(spec->linux ? spec->linux->cgroupspath : "", c->id, &cgpath, err);
    if (r < 0)
        return r;
    r = cgroup_create(NULL, cgpath, spec->linux ? spec->linux->resources : NULL, &c->cg, err);
    if (r < 0)
        return error_wrap(err, r, "cgroup %s", cgpath);

    struct spec_view *view = spec_view_new(sb, spec, c->rootfs, req->sandbox_pidns);
    c->view = view;
    view->hook_state = (struct hook_state){.oci_version = spec->version,
                                           .id = c->id,
                                           .bundle = c->bundle,
                                           .annotations = spec->annotations,
                                           .n_annotations = spec->n_annotations};
    /* as upstream: the spec as the container runs it, saved for hooks; failures ignored */
    cleanup_free char *config = xasprintf("%s/config.json", c->bundle);
    struct kerr *jerr = NULL;
    if (spec_json_save(&view->spec, config, &jerr) < 0) {
        log_warn("container", "container %s: %s", c->id, jerr->msg);
        error_free(jerr);
    }
    struct spawn_config cfg = {
        .spec = &view->spec,
        .process = view->spec.process,
        .container_id = c->id,
        .cgroup = c->cg,
        .hold = true,
        .pipe_size = sb->config->container_pipe_size,
        .hook_state = view->hooks ? &view->hook_state : NULL,
    };
    struct spawn_result res;
    r = spawn_process(&cfg, &res, err);
    if (r < 0)
        return r;
    c->init_pid = res.pid;
    c->release_fd = res.release_fd;
    c->state = CONTAINER_CREATED;
    proc_new(c, req->exec_id[0] ? req->exec_id : c->id, &res, true);
    /* The first container with a pid namespace of its own holds the sandbox's. */
    if (sb->pidns_pid <= 0 && spec_has_new_pidns(&view->spec))
        sb->pidns_pid = res.pid;
    return 0;
}

/* poststart and poststop, in the agent's namespaces, before the call returns; a failure is
 * logged only. The bundle (config.json) is still there for poststop. */
static void container_hooks_after(struct container *c, const char *kind, const char *status,
                                  pid_t pid)
{
    const struct spec_view *v = c->view;
    const Grpc__Hooks *h = v ? v->hooks : NULL;
    if (!h)
        return;
    bool post_start = strcmp(kind, "poststart") == 0;
    size_t n = post_start ? h->n_poststart : h->n_poststop;
    if (n == 0)
        return;
    cleanup_free char *state = hook_state_json(&v->hook_state, status, pid);
    oci_hooks_run_logged(post_start ? h->poststart : h->poststop, n, kind, c->id, state);
}

void container_create(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__CreateContainerRequest *req = (Grpc__CreateContainerRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    const char *cid = req->container_id;

    if (!agent_valid_id(cid)) {
        ttrpc_reply_error(call, RPC_INTERNAL, "invalid container ID %s", cid);
        return;
    }
    if (req->exec_id[0] && !agent_valid_exec_id(req->exec_id)) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "invalid exec ID %s", req->exec_id);
        return;
    }
    if (container_find(sb, cid)) {
        ttrpc_reply_error(call, RPC_ALREADY_EXISTS, "container %s already exists", cid);
        return;
    }
    if (agent_validate_spec(req->oci, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    /* every device first: a call that has to wait for one has changed nothing yet */
    struct blk_matcher need;
    int r = container_devices_ready(sb, req->devices, req->n_devices, &need, &err);
    if (r == 0)
        r = sandbox_storages_ready(sb, req->storages, req->n_storages, &need, &err);
    if (!hotplug_check(sb, call, r, &need, err, container_create))
        return;

    struct container *c = xcalloc(1, sizeof(*c));
    c->sb = sb;
    c->id = xstrdup(cid);
    c->release_fd = -1;
    c->bundle = xasprintf(AGENT_CONTAINER_BASE "/%s", cid);
    c->rootfs = xasprintf("%s/rootfs", c->bundle);
    if (container_setup(c, req, &err) < 0) {
        log_warn("container", "create container %s: %s", cid, err->msg);
        ttrpc_reply_kerr(call, err);
        container_teardown(c);
        container_free(c);
        return;
    }
    /* Keep the spec: execs inherit from it. The request no longer owns it. */
    c->spec = req->oci;
    req->oci = NULL;
    c->next = sb->containers;
    sb->containers = c;
    log_info("container", "created container %s, init pid %d", cid, (int)c->init_pid);
    ttrpc_reply(call, NULL);
}

void container_start(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__StartContainerRequest *req = (Grpc__StartContainerRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    struct container *c = container_find(sb, req->container_id);
    if (!c) {
        ttrpc_reply_error(call, RPC_INTERNAL, AGENT_ERR_NO_CONTAINER);
        return;
    }
    if (c->state != CONTAINER_CREATED || c->release_fd < 0) {
        ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "container %s is %s, not created", c->id,
                          c->state == CONTAINER_RUNNING ? "running" : "stopped");
        return;
    }
    struct spawn_result res = {.pid = c->init_pid,
                               .stdin_fd = -1,
                               .stdout_fd = -1,
                               .stderr_fd = -1,
                               .pty_master = -1,
                               .release_fd = c->release_fd};
    c->release_fd = -1;
    int r = spawn_release(&res, &err);
    if (r < 0) {
        log_warn("container", "start container %s: %s", c->id, err->msg);
        ttrpc_reply_kerr(call, err);
        return;
    }
    if (c->state == CONTAINER_CREATED)
        c->state = CONTAINER_RUNNING;
    container_hooks_after(c, "poststart", "running", c->init_pid);
    /* as upstream, OOM monitoring starts with the container */
    if (!c->oom && oom_watch(c, &c->oom, &err) < 0) {
        log_warn("container", "container %s: no OOM events: %s", c->id, err->msg);
        error_freep(&err);
    }
    ttrpc_reply(call, NULL);
}

void container_exec(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__ExecProcessRequest *req = (Grpc__ExecProcessRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    struct container *c = container_find(sb, req->container_id);
    if (!c) {
        ttrpc_reply_error(call, RPC_INTERNAL, AGENT_ERR_NO_CONTAINER);
        return;
    }
    if (!req->exec_id[0]) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "exec id is empty");
        return;
    }
    /* upstream takes any exec id; ours keeps "/" and ".." out of anything that might name a
     * file after it */
    if (!agent_valid_exec_id(req->exec_id)) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "invalid exec ID %s", req->exec_id);
        return;
    }
    for (struct proc *p = c->procs; p; p = p->next)
        if (strcmp(p->exec_id, req->exec_id) == 0) {
            ttrpc_reply_error(call, RPC_ALREADY_EXISTS, "exec id %s already exists in container %s",
                              req->exec_id, c->id);
            return;
        }
    if (!req->process || req->process->n_args == 0 || !req->process->args[0][0]) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "exec process has no args");
        return;
    }
    if (req->process->cwd[0] && req->process->cwd[0] != '/') {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "cwd %s is not absolute", req->process->cwd);
        return;
    }
    if (c->state != CONTAINER_RUNNING) {
        ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "container %s is not running", c->id);
        return;
    }
    struct spec_view *view = c->view;
    Grpc__Process process = *req->process;
    cleanup_free char **args = argv_copy(req->process->args, req->process->n_args);
    process.args = args;
    struct spawn_config cfg = {
        .spec = &view->spec,
        .process = &process,
        .container_id = c->id,
        .exec = true,
        .init_pid = c->init_pid,
        .cgroup = c->cg,
        .pipe_size = sb->config->container_pipe_size,
    };
    struct spawn_result res;
    if (spawn_process(&cfg, &res, &err) < 0) {
        log_warn("container", "exec %s in %s: %s", req->exec_id, c->id, err->msg);
        ttrpc_reply_kerr(call, err);
        return;
    }
    if (res.release_fd >= 0)
        close(res.release_fd);
    proc_new(c, req->exec_id, &res, false);
    ttrpc_reply(call, NULL);
}

void container_kill_all(struct container *c)
{
    if (c->cg) {
        struct kerr *err = NULL;
        if (cgroup_kill_all(c->cg, SIGKILL, &err) < 0) {
            log_warn("container", "container %s: kill cgroup: %s", c->id, err->msg);
            error_free(err);
        }
    }
    for (struct proc *p = c->procs; p; p = p->next)
        if (!p->exited && kill(p->pid, SIGKILL) < 0 && errno != ESRCH)
            log_warn("container", "container %s: kill %d: %m", c->id, (int)p->pid);
}

bool container_all_exited(const struct container *c)
{
    for (const struct proc *p = c->procs; p; p = p->next)
        if (!p->exited)
            return false;
    return true;
}

void container_destroy(struct container *c)
{
    struct sandbox *sb = c->sb;
    for (struct container **pp = &sb->containers; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    loop_cancel_timer(c->remove_timer);
    c->remove_timer = NULL;
    while (c->procs)
        proc_free(c->procs);
    container_hooks_after(c, "poststop", "stopped", 0);
    if (sb->pidns_pid == c->init_pid)
        sb->pidns_pid = 0;
    container_teardown(c);
    struct ttrpc_call *call;
    while ((call = park_pop(&c->removers, NULL)))
        ttrpc_reply(call, NULL);
    log_info("container", "removed container %s", c->id);
    container_free(c);
    sandbox_check_destroyed(sb);
}

static void remove_timeout(struct loop_timer *t, void *data)
{
    struct container *c = data;
    c->remove_timer = NULL;
    struct ttrpc_call *call;
    /* upstream answers ETIME; the container stays and can be removed again */
    while ((call = park_pop(&c->removers, NULL)))
        ttrpc_reply_error(call, RPC_INTERNAL, "remove container %s: %s", c->id, strerror(ETIME));
}

void container_remove(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__RemoveContainerRequest *req = (Grpc__RemoveContainerRequest *)call->request;
    struct container *c = container_find(sb, req->container_id);
    if (!c) {
        ttrpc_reply_error(call, RPC_INTERNAL, AGENT_ERR_NO_CONTAINER);
        return;
    }
    container_kill_all(c);
    if (container_all_exited(c)) {
        /* the poststop hooks run before the call returns */
        container_destroy(c);
        ttrpc_reply(call, NULL);
        return;
    }
    park(&c->removers, call, 0);
    if (req->timeout > 0 && !c->remove_timer)
        c->remove_timer =
            loop_add_timer(sb->loop, (int64_t)req->timeout * 1000000000LL, remove_timeout, c);
}

void container_proc_exited(struct container *c, bool init, int status)
{
    if (init) {
        c->state = CONTAINER_STOPPED;
        c->init_status = status;
        if (c->release_fd >= 0) {
            close(c->release_fd);
            c->release_fd = -1;
        }
    }
    if ((!park_empty(&c->removers) || c->sb->destroying) && container_all_exited(c))
        container_destroy(c);
}
