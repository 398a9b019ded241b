#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

static const struct {
    const char *oci, *proc;
    int flag;
} kinds[NS_COUNT] = {
    [NS_USER] = {"user", "user", CLONE_NEWUSER},
    [NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [NS_NET] = {"network", "net", CLONE_NEWNET},
    [NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
};

int ns_kind_from_name(const char *name)
{
    for (int i = 0; name && i < NS_COUNT; i++)
        if (strcmp(name, kinds[i].oci) == 0)
            return i;
    return -1;
}

static void plan_init(struct ns_plan *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < NS_COUNT; i++)
        p->join_fd[i] = -1;
}

void ns_plan_close(struct ns_plan *p)
{
    for (int i = 0; i < NS_COUNT; i++)
        if (p->join_fd[i] >= 0) {
            close(p->join_fd[i]);
            p->join_fd[i] = -1;
        }
}

int ns_plan_for_init(const Grpc__Spec *spec, struct ns_plan *ret, struct kerr **err)
{
    struct ns_plan p;
    plan_init(&p);
    bool seen[NS_COUNT] = {false};
    size_t n = spec->linux ? spec->linux->n_namespaces : 0;
    for (size_t i = 0; i < n; i++) {
        const Grpc__LinuxNamespace *ns = spec->linux->namespaces[i];
        int k = ns_kind_from_name(ns->type);
        if (k < 0) {
            ns_plan_close(&p);
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "unsupported namespace type '%s'",
                               ns->type ? ns->type : "");
        }
        if (seen[k]) {
            ns_plan_close(&p);
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "namespace '%s' given twice",
                               ns->type);
        }
        seen[k] = true;
        if (str_empty(ns->path)) {
            if (k == NS_CGROUP)
                p.new_cgroup = true;
            else
                p.clone_flags |= kinds[k].flag;
            continue;
        }
        p.join_fd[k] = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (p.join_fd[k] < 0) {
            int e = errno;
            ns_plan_close(&p);
            return make_error(err, e, "open %s namespace %s", ns->type, ns->path);
        }
    }
    p.new_user = p.clone_flags & CLONE_NEWUSER;
    p.new_uts = p.clone_flags & CLONE_NEWUTS;
    p.new_mnt = p.clone_flags & CLONE_NEWNS;
    *ret = p;
    return 0;
}

int ns_plan_for_exec(pid_t init_pid, struct ns_plan *ret, struct kerr **err)
{
    struct ns_plan p;
    plan_init(&p);
    for (int k = 0; k < NS_COUNT; k++) {
        char path[64], self[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)init_pid, kinds[k].proc);
        snprintf(self, sizeof(self), "/proc/self/ns/%s", kinds[k].proc);
        struct stat a, b;
        if (stat(path, &a) < 0) {
            if (errno == ENOENT && k == NS_CGROUP)
                continue;
            int e = errno;
            ns_plan_close(&p);
            return make_error(err, e, "container process %d", (int)init_pid);
        }
        /* Joining one's own user namespace is refused by the kernel; the others are
         * skipped too since there is nothing to do. */
        if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            continue;
        p.join_fd[k] = open(path, O_RDONLY | O_CLOEXEC);
        if (p.join_fd[k] < 0) {
            int e = errno;
            ns_plan_close(&p);
            return make_error(err, e, "open %s", path);
        }
    }
    *ret = p;
    return 0;
}

int ns_pid_enter(const struct ns_plan *p, int *ret_restore_fd, struct kerr **err)
{
    *ret_restore_fd = -1;
    if (p->join_fd[NS_PID] < 0)
        return 0;
    /* /proc/self/ns/pid is the namespace of the caller itself; pid_for_children may differ
     * but the agent never leaves it changed. */
    int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        return make_error(err, errno, "open /proc/self/ns/pid");
    if (setns(p->join_fd[NS_PID], CLONE_NEWPID) < 0) {
        int e = errno;
        close(own);
        return make_error(err, e, "join pid namespace");
    }
    *ret_restore_fd = own;
    return 0;
}

int ns_pid_restore(int *restore_fd, struct kerr **err)
{
    if (*restore_fd < 0)
        return 0;
    int r = setns(*restore_fd, CLONE_NEWPID);
    int e = errno;
    close(*restore_fd);
    *restore_fd = -1;
    return r < 0 ? make_error(err, e, "restore the agent's pid namespace") : 0;
}

int ns_join_child(struct ns_plan *p, struct kerr **err)
{
    for (int k = 0; k < NS_COUNT; k++) {
        if (k == NS_PID || p->join_fd[k] < 0)
            continue;
        if (setns(p->join_fd[k], kinds[k].flag) < 0)
            return make_error(err, errno, "join %s namespace", kinds[k].oci);
        close(p->join_fd[k]);
        p->join_fd[k] = -1;
    }
    if (p->new_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        return make_error(err, errno, "create cgroup namespace");
    return 0;
}
