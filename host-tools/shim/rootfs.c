/* The container's root on the host: containerd hands the shim the snapshotter's mounts and
 * leaves bundle/rootfs empty; the shim mounts them there and binds the result (and every bind
 * volume of the spec) under the sandbox's shared directory, which virtio-fs exports to the
 * guest. The shim runs in a mount namespace of its own (main.c), so none of this is visible
 * on the host and nothing outlives the shim. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount-options.h"
#include "shim.h"
#include "xalloc.h"

int rootfs_mount(const Containerd__Types__Mount *const *mounts, size_t n, const char *target,
                 struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        const Containerd__Types__Mount *m = mounts[i];
        struct mount_opts o;
        mount_parse_options(m->options, m->n_options, &o);
        const char *type = m->type && *m->type ? m->type : "bind";
        o.bind |= strcmp(type, "bind") == 0 || strcmp(type, "rbind") == 0;
        o.recursive |= strcmp(type, "rbind") == 0;
        int r = 0;
        if (o.bind) {
            /* A bind takes its flags only from a remount. */
            if (mount(m->source, target, NULL, MS_BIND | (o.recursive ? MS_REC : 0), NULL) < 0)
                r = make_status(err, RPC_INTERNAL, errno, "mount %s on %s: %s", m->source, target,
                                strerror(errno));
            else if (o.flags && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | o.flags, NULL) < 0)
                r = make_status(err, RPC_INTERNAL, errno, "remount %s: %s", target,
                                strerror(errno));
        } else if (mount(m->source, target, type, o.flags, o.data) < 0) {
            r = make_status(err, RPC_INTERNAL, errno, "mount %s (%s) on %s: %s", m->source, type,
                            target, strerror(errno));
        }
        if (r == 0 && o.propagation && mount(NULL, target, NULL, o.propagation, NULL) < 0)
            r = make_status(err, RPC_INTERNAL, errno, "set the propagation of %s: %s", target,
                            strerror(errno));
        mount_opts_free(&o);
        if (r < 0)
            return r;
    }
    return 0;
}

static int make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

int rootfs_share(const char *src, const char *dst, bool read_only, struct kerr **err)
{
    struct stat st;
    if (stat(src, &st) < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, errno, "share %s: %s", src, strerror(errno));
    cleanup_free char *d = xstrdup(dst);
    if (make_parents(d) < 0)
        return make_error(err, errno, "create the parents of %s", dst);
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
            return make_error(err, errno, "create %s", dst);
    } else {
        int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return make_error(err, errno, "create %s", dst);
        close(fd);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return make_status(err, RPC_INTERNAL, errno, "bind %s on %s: %s", src, dst,
                           strerror(errno));
    if (read_only && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
        int e = errno;
        umount2(dst, MNT_DETACH);
        return make_error(err, e, "remount %s read-only", dst);
    }
    return 0;
}

void rootfs_unshare(const char *path)
{
    if (!path)
        return;
    umount2(path, MNT_DETACH);
    if (rmdir(path) < 0 && errno == ENOTDIR)
        unlink(path);
}
