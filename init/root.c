#include "root.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define RAMFS_MAGIC_NUMBER 0x858458f6
#define TMPFS_MAGIC_NUMBER 0x01021994
#define ROOT_BIND_DIR "/.kata-root"

int root_leave_initramfs(bool *ret_moved, struct kerr **err)
{
    *ret_moved = false;
    /* The initial ramfs is ramfs or tmpfs; a disk root (the image) never is, and /proc is
     * not mounted yet to ask mountinfo. */
    struct statfs sfs;
    if (statfs("/", &sfs) < 0)
        return make_error(err, errno, "statfs /");
    if (sfs.f_type != RAMFS_MAGIC_NUMBER && sfs.f_type != TMPFS_MAGIC_NUMBER)
        return 0;
    if (mkdir(ROOT_BIND_DIR, 0700) < 0 && errno != EEXIST)
        return make_error(err, errno, "mkdir %s", ROOT_BIND_DIR);
    if (mount("/", ROOT_BIND_DIR, NULL, MS_BIND, NULL) < 0)
        return make_error(err, errno, "bind / on %s", ROOT_BIND_DIR);
    if (chdir(ROOT_BIND_DIR) < 0)
        return make_error(err, errno, "chdir %s", ROOT_BIND_DIR);
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
        return make_error(err, errno, "move %s onto /", ROOT_BIND_DIR);
    if (chroot(".") < 0 || chdir("/") < 0)
        return make_error(err, errno, "chroot into the bind mount of /");
    *ret_moved = true;
    return 0;
}
