#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return xstrdup(buf);
}

char *paths_find_artifact(const char *file)
{
    cleanup_free char *dir = exe_dir();
    if (!dir)
        return NULL;
    /* build/bin or build/asan/bin in the tree; bin/ of an installation. */
    const char *rel[] = {"..", "../..", "../share/kata-containers"};
    for (size_t i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
        char *p = xasprintf("%s/%s/%s", dir, rel[i], file);
        char *real = realpath(p, NULL);
        free(p);
        if (real && access(real, R_OK) == 0)
            return real;
        free(real);
    }
    return NULL;
}

char *paths_qemu_data(const char *vmm_path, const char *file)
{
    cleanup_free char *real = vmm_path ? realpath(vmm_path, NULL) : NULL;
    char *slash = real ? strrchr(real, '/') : NULL;
    if (slash) {
        *slash = '\0';
        cleanup_free char *p = xasprintf("%s/../share/qemu/%s", real, file);
        char *found = realpath(p, NULL);
        if (found && access(found, R_OK) == 0)
            return found;
        free(found);
    }
    char *p = xasprintf("/usr/share/qemu/%s", file);
    if (access(p, R_OK) == 0)
        return p;
    free(p);
    return NULL;
}

char *paths_which(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    cleanup_free char *copy = xstrdup(path);
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", *d ? d : ".", prog);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* A bind mount of the same file system has the same st_dev: only the mount-root attribute
 * (5.8) tells it. Without it (older kernels) the device check is all there is. */
static bool is_mount_root(int parent, const char *name)
{
    /* The kernel's struct statx up to stx_attributes_mask (musl, which the release binaries
     * link, has neither the call nor the structure, and its headers clash with the kernel's). */
    struct {
        uint32_t mask, blksize;
        uint64_t attributes;
        uint32_t nlink, uid, gid;
        uint16_t mode, spare0;
        uint64_t ino, size, blocks, attributes_mask;
        uint64_t rest[24];
    } stx;
    _Static_assert(sizeof(stx) == 256, "struct statx is 256 bytes");
    const uint64_t mount_root = 0x2000; /* STATX_ATTR_MOUNT_ROOT */
    if (syscall(SYS_statx, parent, name, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
        return false;
    return (stx.attributes_mask & mount_root) && (stx.attributes & mount_root);
}

static int remove_at(int parent, const char *name, dev_t dev, bool top)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    /* Never descend into another mount (a still-mounted shared rootfs, a bind volume from the
     * same disk): what is mounted there is someone's data. */
    if (st.st_dev != dev || (!top && is_mount_root(parent, name)))
        return -EBUSY;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int r = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int rr = remove_at(dirfd(d), e->d_name, dev, false);
        if (rr < 0 && r == 0)
            r = rr;
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && r == 0 && errno != ENOENT)
        r = -errno;
    return r;
}

int paths_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    return remove_at(AT_FDCWD, path, st.st_dev, true);
}
