#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "mounts.h"
#include "ttrpc.h"
#include "xalloc.h"

static const struct {
    const char *path;
    unsigned major, minor;
} default_devices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
    const char *target, *link;
} dev_links[] = {
    {"/proc/self/fd", "fd"},
    {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"},
};

static int make_node(int root_fd, const char *path, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
                     struct kerr **err)
{
    cleanup_free char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash[1] == '\0')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid device path '%s'", path);
    *slash = '\0';
    const char *name = slash + 1;
    int r = mount_make_target(root_fd, *parent ? parent : "/", false, err);
    if (r < 0)
        return r;
    cleanup_close int dfd =
        mount_open_in_root(root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY, err);
    if (dfd < 0)
        return dfd;
    (void)unlinkat(dfd, name, 0);
    if (mknodat(dfd, name, mode, dev) == 0) {
        if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return make_error(err, errno, "chown %s", path);
        /* mknod applies the umask: set the exact mode. */
        if (fchmodat(dfd, name, mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
            return make_error(err, errno, "chmod %s", path);
        return 0;
    }
    if (errno != EPERM || !(S_ISCHR(mode) || S_ISBLK(mode)))
        return make_error(err, errno, "mknod %s", path);
    /* Not allowed to create device nodes (user namespace): bind the host's node. */
    int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return make_error(err, errno, "create %s", path);
    close(fd);
    cleanup_close int target = mount_open_in_root(root_fd, path, O_PATH, err);
    if (target < 0)
        return target;
    char host[64], proc[64];
    snprintf(host, sizeof(host), "/dev/%s", name);
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", target);
    if (mount(host, proc, NULL, MS_BIND, NULL) < 0)
        return make_error(err, errno, "bind %s onto %s", host, path);
    return 0;
}

static int spec_device(int root_fd, const Grpc__LinuxDevice *d, struct kerr **err)
{
    if (str_empty(d->path) || d->path[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "device path '%s' is not absolute",
                           d->path ? d->path : "");
    mode_t type;
    if (str_empty(d->type) || strcmp(d->type, "c") == 0 || strcmp(d->type, "u") == 0)
        type = S_IFCHR;
    else if (strcmp(d->type, "b") == 0)
        type = S_IFBLK;
    else if (strcmp(d->type, "p") == 0)
        type = S_IFIFO;
    else
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid device type '%s' for %s", d->type,
                           d->path);
    mode_t perm = d->filemode ? (d->filemode & 07777) : 0666;
    return make_node(root_fd, d->path, type | perm, makedev(d->major, d->minor), d->uid, d->gid,
                     err);
}

int devices_setup(int root_fd, const Grpc__Spec *spec, bool dev_tmpfs, struct kerr **err)
{
    int r;
    if (dev_tmpfs) {
        for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
            r = make_node(root_fd, default_devices[i].path, S_IFCHR | 0666,
                          makedev(default_devices[i].major, default_devices[i].minor), 0, 0, err);
            if (r < 0)
                return r;
        }
        cleanup_close int dfd = mount_open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY, err);
        if (dfd < 0)
            return dfd;
        for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
            if (symlinkat(dev_links[i].target, dfd, dev_links[i].link) < 0 && errno != EEXIST)
                return make_error(err, errno, "symlink /dev/%s", dev_links[i].link);
        /* The container's ptys come from its own devpts instance. */
        (void)unlinkat(dfd, "ptmx", 0);
        if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
            return make_error(err, errno, "symlink /dev/ptmx");
    }
    size_t n = spec->linux ? spec->linux->n_devices : 0;
    for (size_t i = 0; i < n; i++) {
        r = spec_device(root_fd, spec->linux->devices[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}
