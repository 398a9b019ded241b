#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

int mount_open_in_root(int root_fd, const char *path, int flags, struct kerr **err)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
    if (fd < 0)
        return make_error(err, errno, "open %s in the container root", path);
    return fd;
}

int mount_make_target(int root_fd, const char *path, bool file, struct kerr **err)
{
    /* Each component is created inside its parent as resolved in the root, so a symlink in
     * the image cannot redirect the creation outside of it. */
    cleanup_free char *parent = xstrdup("");
    cleanup_free char *rest = xstrdup(path);
    char *save = NULL;
    char *comp = strtok_r(rest, "/", &save);
    while (comp) {
        char *next = strtok_r(NULL, "/", &save);
        cleanup_close int pfd = mount_open_in_root(root_fd, parent, O_PATH | O_DIRECTORY, err);
        if (pfd < 0)
            return pfd;
        int r =
            next == NULL && file ? mknodat(pfd, comp, S_IFREG | 0644, 0) : mkdirat(pfd, comp, 0755);
        if (r < 0 && errno != EEXIST)
            return make_error(err, errno, "create mount point %s", path);
        char *np = xasprintf("%s/%s", parent, comp);
        free(parent);
        parent = np;
        comp = next;
    }
    return 0;
}

static int mount_at_fd(const char *src, int fd, const char *type, unsigned long flags,
                       const char *data, const char *dest, struct kerr **err)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (mount(src, proc, type, flags, data) < 0)
        return make_error(err, errno, "mount %s (%s) on %s", src ? src : "none",
                          type ? type : "bind", dest);
    return 0;
}

unsigned long mount_locked_flags(int fd)
{
    /* In a user namespace a bind remount must keep nosuid/nodev/noexec of the source mount or
     * the kernel refuses it; outside one keeping them is what the source asked for anyway. */
    struct statvfs sv;
    unsigned long f = 0;
    if (fstatvfs(fd, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    return f;
}

/* Changes flags of what is now mounted at dest: the fd opened before the mount points below
 * it, so the path is opened again. */
static int remount(int root_fd, const char *dest, unsigned long flags, struct kerr **err)
{
    cleanup_close int fd = mount_open_in_root(root_fd, dest, O_PATH, err);
    if (fd < 0)
        return fd;
    if (flags & MS_REMOUNT)
        flags |= mount_locked_flags(fd);
    return mount_at_fd(NULL, fd, NULL, flags, NULL, dest, err);
}

static int mount_cgroup_v1(int root_fd, const Grpc__Mount *m, unsigned long flags,
                           struct cgroup *cg, struct kerr **err)
{
    cleanup_close int fd = mount_open_in_root(root_fd, m->destination, O_PATH, err);
    if (fd < 0)
        return fd;
    int r = mount_at_fd("tmpfs", fd, "tmpfs", flags & ~MS_RDONLY, "mode=755", m->destination, err);
    if (r < 0 || cg == NULL)
        return r;
    static const char *const ctls[] = {"cpu",     "cpuacct", "cpuset",  "memory", "pids",
                                       "freezer", "hugetlb", "devices", "blkio",  "systemd"};
    for (size_t i = 0; i < N(ctls); i++) {
        const char *dir = cgroup_dir(cg, ctls[i]);
        if (dir == NULL)
            continue;
        cleanup_free char *dest = xasprintf("%s/%s", m->destination, ctls[i]);
        r = mount_make_target(root_fd, dest, false, err);
        if (r < 0)
            return r;
        cleanup_close int dfd = mount_open_in_root(root_fd, dest, O_PATH, err);
        if (dfd < 0)
            return dfd;
        r = mount_at_fd(dir, dfd, NULL, MS_BIND | MS_REC, NULL, dest, err);
        if (r == 0)
            r = remount(root_fd, dest, MS_BIND | MS_REMOUNT | flags, err);
        if (r < 0)
            return r;
    }
    if (flags & MS_RDONLY)
        return remount(root_fd, m->destination, MS_REMOUNT | flags, err);
    return 0;
}

/* Opens the mount point. Images often ship /etc/resolv.conf and friends as symlinks to files
 * that only exist at run time: a dangling symlink gets its target created (inside the root),
 * like runc does. */
static int open_target(int root_fd, const char *dest, bool file, struct kerr **err)
{
    cleanup_error struct kerr *first = NULL;
    int fd = mount_open_in_root(root_fd, dest, O_PATH, &first);
    if (fd >= 0 || first->errnum != ENOENT)
        return fd >= 0 ? fd : make_error(err, first->errnum, "%s", first->msg);
    cleanup_free char *parent = xstrdup(dest);
    char *slash = strrchr(parent, '/');
    *slash = '\0';
    cleanup_close int pfd =
        mount_open_in_root(root_fd, *parent ? parent : "/", O_PATH | O_DIRECTORY, err);
    if (pfd < 0)
        return pfd;
    char link[4096];
    ssize_t n = readlinkat(pfd, slash + 1, link, sizeof(link) - 1);
    if (n <= 0)
        return make_error(err, ENOENT, "mount point %s", dest);
    link[n] = '\0';
    cleanup_free char *target = link[0] == '/' ? xstrdup(link) : xasprintf("%s/%s", parent, link);
    int r = mount_make_target(root_fd, target, file, err);
    if (r < 0)
        return r;
    return mount_open_in_root(root_fd, dest, O_PATH, err);
}

int mount_one(int root_fd, const Grpc__Mount *m, struct cgroup *cg, bool *ret_dev_tmpfs,
              struct kerr **err)
{
    if (str_empty(m->destination) || m->destination[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "mount destination '%s' is not absolute",
                           m->destination ? m->destination : "");
    struct mount_opts o;
    mount_parse_options(m->options, m->n_options, &o);
    const char *type = str_empty(m->type) ? NULL : m->type;
    if (type && strcmp(type, "bind") == 0) {
        o.bind = true;
        type = NULL;
    }
    bool file = false;
    if (o.bind && str_empty(m->source)) {
        mount_opts_free(&o);
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "bind mount on %s has no source",
                           m->destination);
    }
    if (o.bind) {
        struct stat st;
        if (stat(m->source, &st) < 0) {
            int e = errno;
            mount_opts_free(&o);
            return make_error(err, e, "bind mount source %s", m->source);
        }
        file = !S_ISDIR(st.st_mode);
    }
    int r = mount_make_target(root_fd, m->destination, file, err);
    if (r < 0) {
        mount_opts_free(&o);
        return r;
    }
    cleanup_close int fd = open_target(root_fd, m->destination, file, err);
    if (fd < 0) {
        mount_opts_free(&o);
        return fd;
    }
    if (o.bind) {
        r = mount_at_fd(m->source, fd, NULL, MS_BIND | (o.recursive ? MS_REC : 0), NULL,
                        m->destination, err);
        if (r == 0 && (o.flags & ~MS_REMOUNT))
            r = remount(root_fd, m->destination, MS_BIND | MS_REMOUNT | o.flags, err);
    } else if (type && strcmp(type, "cgroup") == 0 &&
               !(cg ? cgroup_is_v2(cg) : access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)) {
        r = mount_cgroup_v1(root_fd, m, o.flags, cg, err);
    } else {
        if (type && (strcmp(type, "cgroup") == 0))
            type = "cgroup2";
        const char *src = str_empty(m->source) ? type : m->source;
        r = mount_at_fd(src, fd, type, o.flags, o.data, m->destination, err);
        /* sysfs cannot be mounted from a user namespace that does not own the network
         * namespace: bind the host's instead, read-only. */
        if (r < 0 && type && strcmp(type, "sysfs") == 0 && (*err)->errnum == EPERM) {
            error_freep(err);
            r = mount_at_fd("/sys", fd, NULL, MS_BIND | MS_REC, NULL, m->destination, err);
            if (r == 0)
                r = remount(root_fd, m->destination,
                            MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                            err);
        }
        if (r == 0 && type && strcmp(type, "tmpfs") == 0 && strcmp(m->destination, "/dev") == 0)
            *ret_dev_tmpfs = true;
    }
    if (r == 0 && o.propagation)
        r = remount(root_fd, m->destination, o.propagation, err);
    mount_opts_free(&o);
    return r;
}
