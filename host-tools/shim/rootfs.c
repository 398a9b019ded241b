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
#include "shim.h"
#include "xalloc.h"

struct flag_option {
    const char *name;
    unsigned long set, clear;
};

/* The options mount(8) turns into flags; everything else is file-system data (overlay's
 * lowerdir=, upperdir=, workdir=, index=off, ...). */
static const struct flag_option flag_options[] = {
    {"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},        {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},       {"nodev", MS_NODEV, 0},      {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},      {"noatime", MS_NOATIME, 0},
    {"relatime", MS_RELATIME, 0}, {"sync", MS_SYNCHRONOUS, 0}, {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
};

static void parse_options(char *const *options, size_t n, unsigned long *ret_flags,
                          char **ret_data)
{
    unsigned long flags = 0;
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(options[i]) + 1;
    char *data = xmalloc(cap);
    data[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        bool is_flag = false;
        for (size_t f = 0; f < sizeof(flag_options) / sizeof(*flag_options); f++)
            if (strcmp(options[i], flag_options[f].name) == 0) {
                flags = (flags | flag_options[f].set) & ~flag_options[f].clear;
                is_flag = true;
                break;
            }
        if (is_flag)
            continue;
        if (data[0])
            strcat(data, ",");
        strcat(data, options[i]);
    }
    *ret_flags = flags;
    *ret_data = data;
}

int rootfs_mount(const Containerd__Types__Mount *const *mounts, size_t n, const char *target,
                 struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        const Containerd__Types__Mount *m = mounts[i];
        unsigned long flags;
        cleanup_free char *data = NULL;
        parse_options(m->options, m->n_options, &flags, &data);
        const char *type = m->type && *m->type ? m->type : "bind";
        if (strcmp(type, "bind") == 0 || strcmp(type, "rbind") == 0)
            flags |= MS_BIND | (strcmp(type, "rbind") == 0 ? MS_REC : 0);
        if (flags & MS_BIND) {
            if (mount(m->source, target, NULL, flags & (MS_BIND | MS_REC), NULL) < 0)
                return make_status(err, RPC_INTERNAL, errno, "mount %s on %s: %s", m->source,
                                   target, strerror(errno));
            /* A bind takes its flags only from a remount. */
            if ((flags & ~(MS_BIND | MS_REC)) &&
                mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & ~(MS_BIND | MS_REC)),
                      NULL) < 0)
                return make_status(err, RPC_INTERNAL, errno, "remount %s: %s", target,
                                   strerror(errno));
            continue;
        }
        if (mount(m->source, target, type, flags, data) < 0)
            return make_status(err, RPC_INTERNAL, errno, "mount %s (%s) on %s: %s", m->source,
                               type, target, strerror(errno));
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
        return make_status(err, RPC_INVALID_ARGUMENT, errno, "share %s: %s", src,
                           strerror(errno));
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
