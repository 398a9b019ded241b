/* pivot_root(2) fails with EINVAL when the caller's root is the initial ramfs ("rootfs"),
 * which has no parent mount: exactly the situation of an agent started from an initrd. So at
 * start-up the agent moves itself, in a mount namespace of its own, onto a bind mount of that
 * root (the switch_root recipe: rbind, move onto "/", chroot). The files are the same; the
 * root is now an ordinary mount, and every container process cloned from the agent can
 * pivot_root away from it. kata-init's own view is untouched. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"

#define ROOT_BIND_DIR "/.kata-agent-root"

/* Whether the visible "/" (the last "/" entry of mountinfo) is the initial ramfs itself: of
 * type rootfs and its own parent. A bind mount of it (what kata-init moves onto "/") has the
 * ramfs as parent and can be pivoted away from. */
static bool root_is_initramfs(void)
{
    cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool rootfs = false;
    while (f && fgets(line, sizeof(line), f)) {
        char mp[4096];
        unsigned id, parent;
        if (sscanf(line, "%u %u %*s %*s %4095s", &id, &parent, mp) != 3 || strcmp(mp, "/") != 0)
            continue;
        const char *sep = strstr(line, " - ");
        char fstype[64] = "";
        if (sep && sscanf(sep + 3, "%63s", fstype) == 1)
            rootfs = strcmp(fstype, "rootfs") == 0 && id == parent;
    }
    return rootfs;
}

int agent_root_prepare(bool *ret_moved, struct kerr **err)
{
    *ret_moved = false;
    if (!root_is_initramfs())
        return 0;
    if (unshare(CLONE_NEWNS) < 0)
        return make_error(err, errno, "unshare mount namespace: %s", strerror(errno));
    /* MS_MOVE refuses shared parents; nothing here needs to propagate back to init. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return make_error(err, errno, "make / private: %s", strerror(errno));
    if (mkdir(ROOT_BIND_DIR, 0700) < 0 && errno != EEXIST)
        return make_error(err, errno, "mkdir %s: %s", ROOT_BIND_DIR, strerror(errno));
    if (mount("/", ROOT_BIND_DIR, NULL, MS_BIND | MS_REC, NULL) < 0)
        return make_error(err, errno, "bind / on %s: %s", ROOT_BIND_DIR, strerror(errno));
    if (chdir(ROOT_BIND_DIR) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
        chdir("/") < 0)
        return make_error(err, errno, "move the root onto its bind mount: %s", strerror(errno));
    *ret_moved = true;
    return 0;
}
