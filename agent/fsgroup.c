/* A storage's fs_group (the pod's fsGroup): the volume's tree is handed to the group, with
 * group read (and write unless mounted ro) on everything and search plus setgid on
 * directories, as upstream's set_ownership. Symlinks are left alone, so nothing outside the
 * volume is touched through them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define FSGROUP_RW 0660
#define FSGROUP_RO 0440
#define FSGROUP_DIR (0110 | S_ISGID)

static int chgrp_tree(int at, const char *name, const char *path, gid_t gid, mode_t mask,
                      struct kerr **err)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return make_status(err, RPC_INTERNAL, errno, "stat %s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return 0;
    mode_t want = mask;
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return make_status(err, RPC_INTERNAL, errno, "open %s: %s", path, strerror(errno));
        cleanup_dir DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return make_status(err, RPC_INTERNAL, errno, "read %s: %s", path, strerror(errno));
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            cleanup_free char *child = xasprintf("%s/%s", path, e->d_name);
            int r = chgrp_tree(dirfd(d), e->d_name, child, gid, mask, err);
            if (r < 0)
                return r;
        }
        want |= FSGROUP_DIR;
    }
    if (fchownat(at, name, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(at, name, (st.st_mode & 07777) | want, 0) < 0)
        return make_status(err, RPC_INTERNAL, errno, "set group %u on %s: %s", (unsigned)gid, path,
                           strerror(errno));
    return 0;
}

int storage_set_ownership(const Grpc__Storage *s, struct kerr **err)
{
    const Grpc__FSGroup *g = s->fs_group;
    if (!g)
        return 0;
    bool ro = false;
    for (size_t i = 0; i < s->n_options; i++)
        ro = ro || strcmp(s->options[i], "ro") == 0;
    mode_t mask = ro ? FSGROUP_RO : FSGROUP_RW;
    struct stat st;
    if (stat(s->mount_point, &st) < 0)
        return make_status(err, RPC_INTERNAL, errno, "stat %s: %s", s->mount_point,
                           strerror(errno));
    /* OnRootMismatch: a root that already has the group and the bits means the tree has */
    mode_t root = mask | FSGROUP_DIR;
    if (g->group_change_policy == TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch &&
        st.st_gid == g->group_id && (st.st_mode & root) == root) {
        log_info("storage", "%s already belongs to group %u", s->mount_point, g->group_id);
        return 0;
    }
    return chgrp_tree(AT_FDCWD, s->mount_point, s->mount_point, g->group_id, mask, err);
}
