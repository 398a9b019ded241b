#include "pool_share.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* musl, which the release binaries link, has no wrappers for the new mount API (5.2). */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int clone_tree(const char *path)
{
    return (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
}

static int attach_tree(int tree, const char *target)
{
    return (int)syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

struct peer_clone {
    pid_t vmm_pid;
    const char *export;
    int tree;   /* the detached clone, or -1 */
    int errnum; /* why not */
    const char *step;
};

/* Runs on a thread of its own: only a thread that does not share its filesystem context with
 * the others may enter another mount namespace, and this one ends right after. The clone's fd
 * is the process's, so the caller mounts it back in its own namespace. */
static void *clone_in_vmm_namespace(void *arg)
{
    struct peer_clone *pc = arg;
    char ns_path[64];
    snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/mnt", (int)pc->vmm_pid);
    cleanup_close int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        pc->step = "open the VMM's mount namespace";
    } else if (unshare(CLONE_FS) < 0) {
        pc->step = "unshare the filesystem context";
    } else if (setns(ns, CLONE_NEWNS) < 0) {
        pc->step = "enter the VMM's mount namespace";
    } else {
        /* A bind of a shared mount joins its peer group: what is mounted under either side
         * from now on shows on the other. */
        pc->tree = clone_tree(pc->export);
        pc->step = "clone the VMM's export";
    }
    if (pc->tree < 0)
        pc->errnum = errno;
    return NULL;
}

int pool_share_join(pid_t vmm_pid, const char *export, const char *target, struct kerr **err)
{
    struct peer_clone pc = {.vmm_pid = vmm_pid, .export = export, .tree = -1};
    pthread_t t;
    int r = pthread_create(&t, NULL, clone_in_vmm_namespace, &pc);
    if (r != 0)
        return make_error(err, r, "start a thread to join the pooled VM's share");
    pthread_join(t, NULL);
    if (pc.tree < 0)
        return make_error(err, pc.errnum, "%s (pid %d, %s)", pc.step, (int)vmm_pid, export);
    cleanup_close int tree = pc.tree;
    if (attach_tree(tree, target) < 0)
        return make_error(err, errno, "mount the pooled VM's share on %s", target);
    return 0;
}
