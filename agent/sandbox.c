/* The sandbox: CreateSandbox/DestroySandbox, shared ipc/uts namespaces, ref-counted storages,
 * and the reaper that routes child exits to container processes. */
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

/* ---------------------------------------------------------------- storages */

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_flags[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"defaults", 0, 0},
};

/* Splits mount options into flags and the data string; fsgid=/mode= are returned apart
 * because they are not mount options (upstream applies them itself). */
static char *parse_options(char **opts, size_t n, unsigned long *ret_flags, long *ret_fsgid,
                           long *ret_mode)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(opts[i]) + 1;
    char *data = xcalloc(1, cap);
    unsigned long flags = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o = opts[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++)
            if (strcmp(o, mount_flags[k].name) == 0) {
                flags = (flags & ~mount_flags[k].clear) | mount_flags[k].set;
                known = true;
            }
        if (known || !o[0])
            continue;
        if (strncmp(o, "fsgid=", 6) == 0 && ret_fsgid) {
            *ret_fsgid = strtol(o + 6, NULL, 10);
            continue;
        }
        if (strncmp(o, "mode=", 5) == 0 && ret_mode && *ret_mode == -2) {
            *ret_mode = strtol(o + 5, NULL, 8);
            continue;
        }
        if (data[0])
            strcat(data, ",");
        strcat(data, o);
    }
    *ret_flags = flags;
    return data;
}

static int apply_fsgid(const char *path, long gid, struct kerr **err)
{
    if (gid < 0)
        return 0;
    struct stat st;
    if (chown(path, (uid_t)-1, (gid_t)gid) < 0 || stat(path, &st) < 0 ||
        chmod(path, (st.st_mode & 07777) | S_ISGID) < 0)
        return make_error(err, errno, "set fsgid %ld on %s", gid, path);
    return 0;
}

static int mount_storage(const Grpc__Storage *s, bool *ret_mounted, struct kerr **err)
{
    const char *mp = s->mount_point;
    const char *d = s->driver;
    long fsgid = -1, mode = -1;
    if (!mp[0] || mp[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL,
                           "storage mount point \"%s\" is not absolute", mp);
    int r = agent_mkdir_p(mp, 0755);
    if (r < 0)
        return make_error(err, -r, "create mount point %s", mp);

    if (strcmp(d, "local") == 0) {
        mode = -2; /* take mode= */
        unsigned long flags;
        cleanup_free char *data = parse_options(s->options, s->n_options, &flags, &fsgid, &mode);
        if (mode >= 0 && chmod(mp, (mode_t)mode) < 0)
            return make_error(err, errno, "chmod %s", mp);
        *ret_mounted = false;
        return apply_fsgid(mp, fsgid, err);
    }

    const char *fstype = s->fstype;
    if (strcmp(d, "virtio-fs") == 0)
        fstype = "virtiofs";
    else if (strcmp(d, "9p") == 0)
        fstype = "9p";
    else if (strcmp(d, "ephemeral") == 0)
        fstype = fstype[0] ? fstype : "tmpfs";
    else
        return make_status(err, RPC_UNIMPLEMENTED, ENOTSUP,
                           "storage driver \"%s\" is not supported yet", d);

    unsigned long flags;
    cleanup_free char *data = parse_options(s->options, s->n_options, &flags, &fsgid, NULL);
    const char *source = s->source[0] ? s->source : fstype;
    if (mount(source, mp, fstype, flags, data[0] ? data : NULL) < 0)
        return make_error(err, errno, "mount %s (%s) on %s: %s", source, fstype, mp,
                          strerror(errno));
    *ret_mounted = true;
    return apply_fsgid(mp, fsgid, err);
}

int sandbox_add_storages(struct sandbox *sb, Grpc__Storage **st, size_t n, char ***mps,
                         size_t *n_mps, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        const char *mp = st[i]->mount_point;
        struct storage_ref *ref = NULL;
        for (ref = sb->storages; ref; ref = ref->next)
            if (strcmp(ref->mount_point, mp) == 0)
                break;
        if (!ref) {
            bool mounted = false;
            int r = mount_storage(st[i], &mounted, err);
            if (r < 0) {
                error_wrap(err, r, "storage %s", st[i]->driver);
                return r;
            }
            ref = xcalloc(1, sizeof(*ref));
            ref->mount_point = xstrdup(mp);
            ref->mounted = mounted;
            ref->next = sb->storages;
            sb->storages = ref;
        }
        ref->refs++;
        *mps = xrealloc(*mps, (*n_mps + 1) * sizeof(char *));
        (*mps)[(*n_mps)++] = xstrdup(mp);
    }
    return 0;
}

void sandbox_put_storages(struct sandbox *sb, char **mps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (struct storage_ref **pp = &sb->storages; *pp; pp = &(*pp)->next) {
            struct storage_ref *ref = *pp;
            if (strcmp(ref->mount_point, mps[i]) != 0)
                continue;
            if (--ref->refs == 0) {
                if (ref->mounted && umount2(ref->mount_point, MNT_DETACH) < 0)
                    log_warn("storage", "unmount %s: %m", ref->mount_point);
                *pp = ref->next;
                free(ref->mount_point);
                free(ref);
            }
            break;
        }
    }
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
    int r = agent_mkdir_p(SANDBOX_NS_DIR, 0755);
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
    int r = agent_mkdir_p(SANDBOX_DIR, 0755);
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
    int r = agent_mkdir_p(AGENT_CONTAINER_BASE, 0755);
    if (r < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "create %s: %s", AGENT_CONTAINER_BASE, strerror(-r));
        return;
    }
    if (req->n_dns && write_resolv_conf(req->dns, req->n_dns, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    if (shared_ns_create(req->hostname, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    sb->shared_ns = true;
    char **mps = NULL;
    size_t n_mps = 0;
    if (sandbox_add_storages(sb, req->storages, req->n_storages, &mps, &n_mps, &err) < 0) {
        sandbox_put_storages(sb, mps, n_mps);
        for (size_t i = 0; i < n_mps; i++)
            free(mps[i]);
        free(mps);
        shared_ns_remove();
        sb->shared_ns = false;
        ttrpc_reply_kerr(call, err);
        return;
    }
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
    while (sb->storages) {
        struct storage_ref *ref = sb->storages;
        sb->storages = ref->next;
        if (ref->mounted)
            (void)umount2(ref->mount_point, MNT_DETACH);
        free(ref->mount_point);
        free(ref);
    }
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
    if (sb->destroying && sb->containers)
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
    while (sb->storages) {
        struct storage_ref *r = sb->storages;
        sb->storages = r->next;
        if (r->mounted)
            (void)umount2(r->mount_point, MNT_DETACH);
        free(r->mount_point);
        free(r);
    }
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
                               struct ttrpc_call *call)
{
    struct container *c = container_find(sb, cid);
    if (!c) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "Invalid container id %s", cid);
        return NULL;
    }
    for (struct proc *p = c->procs; p; p = p->next) {
        if (waitable && p->waited)
            continue;
        if (eid[0] ? strcmp(p->exec_id, eid) == 0 : p->init)
            return p;
    }
    if (!eid[0])
        ttrpc_reply_error(call, RPC_NOT_FOUND,
                          "Process not found: init process missing (container %s)", cid);
    else
        ttrpc_reply_error(call, RPC_NOT_FOUND,
                          "Process not found: invalid exec id %s (container %s)", eid, cid);
    return NULL;
}
