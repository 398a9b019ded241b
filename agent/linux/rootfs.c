#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices.h"
#include "fsutil.h"
#include "mounts.h"
#include "ttrpc.h"
#include "xalloc.h"

int sysctls_apply(const Grpc__Spec *spec, struct kerr **err)
{
    size_t n = spec->linux ? spec->linux->n_sysctl : 0;
    for (size_t i = 0; i < n; i++) {
        const Grpc__Linux__SysctlEntry *e = spec->linux->sysctl[i];
        if (str_empty(e->key) || strchr(e->key, '/') || strstr(e->key, ".."))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid sysctl '%s'",
                               e->key ? e->key : "");
        cleanup_free char *path = xasprintf("/proc/sys/%s", e->key);
        for (char *p = path + 10; *p; p++)
            if (*p == '.')
                *p = '/';
        int r = write_file(path, e->value ? e->value : "", err);
        if (r < 0)
            return error_wrap(err, r, "sysctl %s", e->key);
    }
    return 0;
}

static int mask_paths(const Grpc__Linux *lx, struct kerr **err)
{
    for (size_t i = 0; i < lx->n_maskedpaths; i++) {
        const char *p = lx->maskedpaths[i];
        struct stat st;
        if (stat(p, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return make_error(err, errno, "masked path %s", p);
        }
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k")
                                    : mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0)
            return make_error(err, errno, "mask %s", p);
    }
    return 0;
}

static int readonly_paths(const Grpc__Linux *lx, struct kerr **err)
{
    for (size_t i = 0; i < lx->n_readonlypaths; i++) {
        const char *p = lx->readonlypaths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return make_error(err, errno, "bind read-only path %s", p);
        }
        cleanup_close int fd = open(p, O_PATH | O_CLOEXEC);
        unsigned long locked = fd >= 0 ? mount_locked_flags(fd) : 0;
        if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked, NULL) < 0)
            return make_error(err, errno, "remount %s read-only", p);
    }
    return 0;
}

/* Detaches every mount but the root, the container's and the ones it sits on (detaching those
 * would take the container's along), so that nothing of the agent's view stays reachable
 * under the chroot. */
static void detach_other_mounts(const char *keep)
{
    cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return;
    cleanup_free char *line = NULL;
    size_t cap = 0, n = strlen(keep);
    while (getline(&line, &cap, f) > 0) {
        char mp[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || strcmp(mp, "/") == 0)
            continue;
        size_t m = strlen(mp);
        if (strncmp(mp, keep, n) == 0 && (mp[n] == '/' || mp[n] == '\0'))
            continue;
        if (m < n && strncmp(keep, mp, m) == 0 && keep[m] == '/')
            continue;
        (void)umount2(mp, MNT_DETACH);
    }
}

/* The initial ramfs (a guest booted from an initrd) cannot be pivoted away from: move the
 * rootfs over / and chroot into it instead, like runc's no-pivot mode. */
static int move_root(struct kerr **err)
{
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return make_error(err, errno, "getcwd");
    detach_other_mounts(cwd);
    if (mount(cwd, "/", NULL, MS_MOVE, NULL) < 0)
        return make_error(err, errno, "move the rootfs %s to /", cwd);
    if (chroot(".") < 0)
        return make_error(err, errno, "chroot into the rootfs");
    if (chdir("/") < 0)
        return make_error(err, errno, "chdir /");
    return 0;
}

static int pivot(int root_fd, struct kerr **err)
{
    /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
     * the new root alone, with no directory needed for the old one. */
    if (fchdir(root_fd) < 0)
        return make_error(err, errno, "chdir to the rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        if (errno == EINVAL)
            return move_root(err);
        return make_error(err, errno, "pivot_root");
    }
    if (umount2(".", MNT_DETACH) < 0)
        return make_error(err, errno, "detach the old root");
    if (chdir("/") < 0)
        return make_error(err, errno, "chdir /");
    return 0;
}

int rootfs_setup(const Grpc__Spec *spec, struct cgroup *cg, rootfs_hook_fn before_pivot, void *data,
                 struct kerr **err)
{
    if (spec->root == NULL || str_empty(spec->root->path) || spec->root->path[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "spec root path must be absolute");
    const char *root = spec->root->path;
    unsigned long prop;
    int r = mount_propagation_from_name(spec->linux ? spec->linux->rootfspropagation : NULL, &prop,
                                        err);
    if (r < 0)
        return r;
    /* Nothing mounted from now on may propagate back to the agent's namespace: the whole
     * tree becomes a slave (or private) first; the requested propagation of the container's
     * root is set once it is the root. */
    unsigned long first = prop == (MS_REC | MS_PRIVATE) ? prop : (MS_REC | MS_SLAVE);
    /* EINVAL: the caller is chrooted into a directory that is not a mount point, so there is
     * no mount at "/" to change (tests emulate an initrd guest that way). */
    if (mount(NULL, "/", NULL, first, NULL) < 0 && errno != EINVAL)
        return make_error(err, errno, "set propagation of /");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
        return make_error(err, errno, "bind the rootfs %s", root);
    cleanup_close int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return make_error(err, errno, "open rootfs %s", root);
    bool dev_tmpfs = false;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        r = mount_one(root_fd, spec->mounts[i], cg, &dev_tmpfs, err);
        if (r < 0)
            return r;
    }
    r = devices_setup(root_fd, spec, dev_tmpfs, err);
    if (r == 0 && before_pivot)
        r = before_pivot(data, err);
    if (r < 0)
        return r;
    r = pivot(root_fd, err);
    if (r < 0)
        return r;
    if (prop != first && mount(NULL, "/", NULL, prop, NULL) < 0)
        return make_error(err, errno, "set rootfs propagation");
    r = sysctls_apply(spec, err);
    if (r == 0 && spec->linux)
        r = mask_paths(spec->linux, err);
    if (r == 0 && spec->linux)
        r = readonly_paths(spec->linux, err);
    if (r < 0)
        return r;
    if (spec->root->readonly) {
        cleanup_close int fd = open("/", O_PATH | O_CLOEXEC);
        unsigned long locked = fd >= 0 ? mount_locked_flags(fd) : 0;
        if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, NULL) < 0)
            return make_error(err, errno, "remount the root read-only");
    }
    return 0;
}
