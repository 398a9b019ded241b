/* The sandbox: CreateSandbox/DestroySandbox, shared ipc/uts namespaces, and the reaper that
 * routes child exits to container processes. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "fsutil.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define SANDBOX_DIR AGENT_CONTAINER_BASE "/sandbox"
#define SANDBOX_NS_DIR "/run/sandbox-ns"
/* DestroySandbox gives the containers this long to die before it tears down anyway. */
#define DESTROY_TIMEOUT_NS (10 * 1000000000LL)

void sandbox_init(struct sandbox *sb, struct loop *loop, struct agent_config *config)
{
    *sb = (struct sandbox){.loop = loop, .config = config};
}

/* ---------------------------------------------------------------- shared namespaces */

static void shared_ns_remove(void)
{
    (void)umount2(SANDBOX_NS_DIR "/ipc", MNT_DETACH);
    (void)umount2(SANDBOX_NS_DIR "/uts", MNT_DETACH);
}

/* Persistent ipc and uts namespaces, kept alive by bind mounts of their nsfs files, so
 * containers of the sandbox can join them by path. */
static int shared_ns_create(const char *hostname, struct kerr **err)
{
    int r = mkdir_p(SANDBOX_NS_DIR, 0755, NULL);
    if (r < 0)
        return make_error(err, -r, "create %s", SANDBOX_NS_DIR);
    shared_ns_remove();
    for (const char *const *f =
             (const char *const[]){SANDBOX_NS_DIR "/ipc", SANDBOX_NS_DIR "/uts", NULL};
         *f; f++) {
        int fd = open(*f, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
        if (fd < 0)
            return make_error(err, errno, "create %s", *f);
        close(fd);
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return make_error(err, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return make_error(err, errno, "fork");
    }
    if (pid == 0) {
        int e = 0;
        if (unshare(CLONE_NEWIPC | CLONE_NEWUTS) < 0)
            e = errno;
        else if (hostname[0] && sethostname(hostname, strlen(hostname)) < 0)
            e = errno;
        else if (mount("/proc/self/ns/ipc", SANDBOX_NS_DIR "/ipc", NULL, MS_BIND, NULL) < 0 ||
                 mount("/proc/self/ns/uts", SANDBOX_NS_DIR "/uts", NULL, MS_BIND, NULL) < 0)
            e = errno;
        (void)!write(pipefd[1], &e, sizeof(e));
        _exit(e ? 1 : 0);
    }
    close(pipefd[1]);
    int e = EPROTO;
    ssize_t n = read(pipefd[0], &e, sizeof(e));
    close(pipefd[0]);
    (void)waitpid(pid, NULL, __WALL);
    if (n != sizeof(e))
        e = EPROTO;
    if (e)
        return make_error(err, e, "create shared ipc/uts namespaces: %s", strerror(e));
    return 0;
}

static int write_resolv_conf(char **dns, size_t n, struct kerr **err)
{
    int r = mkdir_p(SANDBOX_DIR, 0755, NULL);
    if (r < 0)
        return make_error(err, -r, "create %s", SANDBOX_DIR);
    const char *path = SANDBOX_DIR "/resolv.conf";
    cleanup_file FILE *f = fopen(path, "we");
    if (!f)
        return make_error(err, errno, "create %s", path);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", dns[i]);
    if (fflush(f) != 0)
        return make_error(err, errno, "write %s", path);
    if (access("/etc/resolv.conf", F_OK) == 0 &&
        mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
        return make_error(err, errno, "bind %s over /etc/resolv.conf", path);
    return 0;
}

void sandbox_create(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__CreateSandboxRequest *req = (Grpc__CreateSandboxRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    if (sb->created) {
        ttrpc_reply_error(call, RPC_ALREADY_EXISTS, "sandbox %s already created",
                          sb->id ? sb->id : "");
        return;
    }
    if (req->hostname[0] && strlen(req->hostname) > 64) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "hostname \"%s\" is too long", req->hostname);
        return;
    }
    int r = mkdir_p(AGENT_CONTAINER_BASE, 0755, NULL);
    if (r < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "create %s: %s", AGENT_CONTAINER_BASE, strerror(-r));
        return;
    }
    if (modules_load(req->kernel_modules, req->n_kernel_modules, &err) < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "%s", err->msg);
        return;
    }
    if (req->n_dns && write_resolv_conf(req->dns, req->n_dns, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    struct blk_matcher need;
    r = sandbox_storages_ready(sb, req->storages, req->n_storages, &need, &err);
    if (!hotplug_check(sb, call, r, &need, err, sandbox_create))
        return;
    if (shared_ns_create(req->hostname, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    sb->shared_ns = true;
    char **mps = NULL;
    size_t n_mps = 0;
    if (sandbox_add_storages(sb, req->storages, req->n_storages, NULL, &mps, &n_mps, &err) < 0) {
        sandbox_put_storages(sb, mps, n_mps);
        for (size_t i = 0; i < n_mps; i++)
            free(mps[i]);
        free(mps);
        shared_ns_remove();
        sb->shared_ns = false;
        ttrpc_reply_kerr(call, err);
        return;
    }
    guest_hooks_free(sb->guest_hooks);
    sb->guest_hooks = req->guest_hook_path[0] ? guest_hooks_scan(req->guest_hook_path) : NULL;
    /* the sandbox's own references are dropped at DestroySandbox: keep them as refs only */
    for (size_t i = 0; i < n_mps; i++)
        free(mps[i]);
    free(mps);
    free(sb->id);
    free(sb->hostname);
    sb->id = xstrdup(req->sandbox_id);
    sb->hostname = xstrdup(req->hostname);
    sb->created = true;
    log_info("sandbox", "created sandbox %s hostname=%s", sb->id, sb->hostname);
    ttrpc_reply(call, NULL);
}

static void destroy_finish(struct sandbox *sb)
{
    struct ttrpc_call *keep = sb->destroying;
    sb->destroying = NULL; /* container_destroy must not re-enter here */
    while (sb->containers)
        container_destroy(sb->containers); /* those that did not die in time go anyway */
    sb->destroying = keep;
    sandbox_drop_storages(sb);
    if (sb->shared_ns)
        shared_ns_remove();
    sb->shared_ns = false;
    sb->created = false;
    oom_cancel_waiters(sb);
    struct ttrpc_call *call = sb->destroying;
    sb->destroying = NULL;
    if (call) {
        call->on_cancel = NULL;
        ttrpc_reply(call, NULL);
    }
    log_info("sandbox", "sandbox destroyed");
    if (sb->on_destroyed)
        sb->on_destroyed(sb->on_destroyed_data);
}

static void destroy_cancelled(struct ttrpc_call *call, void *data)
{
    struct sandbox *sb = data;
    sb->destroying = NULL;
    /* the teardown goes on: the caller asked for it */
    destroy_finish(sb);
}

static void destroy_timeout(struct loop_timer *t, void *data)
{
    struct sandbox *sb = data;
    if (sb->destroying)
        destroy_finish(sb);
}

void sandbox_check_destroyed(struct sandbox *sb)
{
    if (sb->destroying && !sb->containers)
        destroy_finish(sb);
}

void sandbox_destroy(struct sandbox *sb, struct ttrpc_call *call)
{
    if (sb->destroying) {
        ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "sandbox is already being destroyed");
        return;
    }
    sb->destroying = call;
    call->on_cancel = destroy_cancelled;
    call->cancel_data = sb;
    for (struct container *c = sb->containers; c; c = c->next)
        container_kill_all(c);
    /* containers whose processes are all gone go at once; the others when reaped */
    struct container *c = sb->containers;
    while (c) {
        struct container *next = c->next;
        if (container_all_exited(c)) {
            container_destroy(c);
            if (!sb->destroying)
                return; /* finished */
        }
        c = next;
    }
    if (!sb->destroying)
        return;
    if (!sb->containers) {
        destroy_finish(sb); /* nothing left to wait for (the runtime removed them all) */
        return;
    }
    loop_add_timer(sb->loop, DESTROY_TIMEOUT_NS, destroy_timeout, sb);
}

void sandbox_shutdown(struct sandbox *sb)
{
    for (struct container *c = sb->containers; c; c = c->next)
        container_kill_all(c);
    /* bounded: reap for up to 2 s so the cgroups can be removed */
    for (int i = 0; i < 200 && sb->containers; i++) {
        sandbox_reap(sb);
        struct container *c = sb->containers;
        bool all = true;
        for (; c; c = c->next)
            all = all && container_all_exited(c);
        if (all)
            break;
        usleep(10000);
    }
    while (sb->containers)
        container_destroy(sb->containers);
    oom_cancel_waiters(sb);
    sandbox_drop_storages(sb);
    if (sb->shared_ns)
        shared_ns_remove();
}

/* ---------------------------------------------------------------- reaper */

void sandbox_reap(struct sandbox *sb)
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG | __WALL);
        if (pid <= 0)
            return;
        struct proc *found = NULL;
        for (struct container *c = sb->containers; c && !found; c = c->next)
            for (struct proc *p = c->procs; p; p = p->next)
                if (p->pid == pid && !p->exited) {
                    found = p;
                    break;
                }
        if (found) {
            log_debug("reaper", "pid %d of container %s (%s) exited, status 0x%x", (int)pid,
                      found->ctr->id, found->exec_id, st);
            proc_exited(found, st);
        } else {
            (void)command_reaped(sb, pid, st);
        }
    }
}

struct proc *sandbox_find_proc(struct sandbox *sb, const char *cid, const char *eid, bool waitable,
                               bool internal, struct ttrpc_call *call)
{
    struct container *c = container_find(sb, cid);
    if (!c) {
        if (internal)
            ttrpc_reply_error(call, RPC_INTERNAL, AGENT_ERR_NO_CONTAINER);
        else
            ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "InvalidContainerId");
        return NULL;
    }
    for (struct proc *p = c->procs; p; p = p->next) {
        if (waitable && p->waited)
            continue;
        if (eid[0] ? strcmp(p->exec_id, eid) == 0 : p->init)
            return p;
    }
    if (internal)
        ttrpc_reply_error(call, RPC_INTERNAL, "Process not found: %s",
                          eid[0] ? "invalid exec id" : "init process missing");
    else
        ttrpc_reply_error(call, RPC_NOT_FOUND, "%s",
                          eid[0] ? "InvalidExecId" : "InitProcessNotFound");
    return NULL;
}
