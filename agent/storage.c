/* Storages: the mounts CreateSandbox/CreateContainer ask for, by driver, ref-counted by mount
 * point across containers as upstream does. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_flags[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"defaults", 0, 0},
};

/* Splits mount options into flags and the data string; fsgid=/mode= are returned apart
 * because they are not mount options (upstream applies them itself). */
static char *parse_options(char **opts, size_t n, unsigned long *ret_flags, long *ret_fsgid,
                           long *ret_mode)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(opts[i]) + 1;
    char *data = xcalloc(1, cap);
    unsigned long flags = 0;
    for (size_t i = 0; i < n; i++) {
        const char *o = opts[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++)
            if (strcmp(o, mount_flags[k].name) == 0) {
                flags = (flags & ~mount_flags[k].clear) | mount_flags[k].set;
                known = true;
            }
        if (known || !o[0])
            continue;
        if (strncmp(o, "fsgid=", 6) == 0 && ret_fsgid) {
            *ret_fsgid = strtol(o + 6, NULL, 10);
            continue;
        }
        if (strncmp(o, "mode=", 5) == 0 && ret_mode && *ret_mode == -2) {
            *ret_mode = strtol(o + 5, NULL, 8);
            continue;
        }
        if (data[0])
            strcat(data, ",");
        strcat(data, o);
    }
    *ret_flags = flags;
    return data;
}

static int apply_fsgid(const char *path, long gid, struct kerr **err)
{
    if (gid < 0)
        return 0;
    struct stat st;
    if (chown(path, (uid_t)-1, (gid_t)gid) < 0 || stat(path, &st) < 0 ||
        chmod(path, (st.st_mode & 07777) | S_ISGID) < 0)
        return make_error(err, errno, "set fsgid %ld on %s", gid, path);
    return 0;
}

static int mount_storage(const Grpc__Storage *s, bool *ret_mounted, struct kerr **err)
{
    const char *mp = s->mount_point;
    const char *d = s->driver;
    long fsgid = -1, mode = -1;
    if (!mp[0] || mp[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL,
                           "storage mount point \"%s\" is not absolute", mp);
    int r = agent_mkdir_p(mp, 0755);
    if (r < 0)
        return make_error(err, -r, "create mount point %s", mp);
    /* as upstream: the shared directory already mounted (a restarted agent, or a host test
     * that binds the share there) is used as it is, and not ours to unmount */
    if (strcmp(s->source, "kataShared") == 0 && is_mountpoint(mp)) {
        log_info("storage", "%s is already mounted: kataShared not mounted again", mp);
        *ret_mounted = false;
        return 0;
    }

    if (strcmp(d, "local") == 0) {
        mode = -2; /* take mode= */
        unsigned long flags;
        cleanup_free char *data = parse_options(s->options, s->n_options, &flags, &fsgid, &mode);
        if (mode >= 0 && chmod(mp, (mode_t)mode) < 0)
            return make_error(err, errno, "chmod %s", mp);
        *ret_mounted = false;
        return apply_fsgid(mp, fsgid, err);
    }

    const char *fstype = s->fstype;
    if (strcmp(d, "virtio-fs") == 0)
        fstype = "virtiofs";
    else if (strcmp(d, "9p") == 0)
        fstype = "9p";
    else if (strcmp(d, "ephemeral") == 0)
        fstype = fstype[0] ? fstype : "tmpfs";
    else
        return make_status(err, RPC_UNIMPLEMENTED, ENOTSUP,
                           "storage driver \"%s\" is not supported yet", d);

    unsigned long flags;
    cleanup_free char *data = parse_options(s->options, s->n_options, &flags, &fsgid, NULL);
    const char *source = s->source[0] ? s->source : fstype;
    if (mount(source, mp, fstype, flags, data[0] ? data : NULL) < 0)
        return make_error(err, errno, "mount %s (%s) on %s: %s", source, fstype, mp,
                          strerror(errno));
    *ret_mounted = true;
    return apply_fsgid(mp, fsgid, err);
}

int sandbox_add_storages(struct sandbox *sb, Grpc__Storage **st, size_t n, char ***mps,
                         size_t *n_mps, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        const char *mp = st[i]->mount_point;
        struct storage_ref *ref = NULL;
        for (ref = sb->storages; ref; ref = ref->next)
            if (strcmp(ref->mount_point, mp) == 0)
                break;
        if (!ref) {
            bool mounted = false;
            int r = mount_storage(st[i], &mounted, err);
            if (r < 0) {
                error_wrap(err, r, "storage %s", st[i]->driver);
                return r;
            }
            ref = xcalloc(1, sizeof(*ref));
            ref->mount_point = xstrdup(mp);
            ref->mounted = mounted;
            ref->next = sb->storages;
            sb->storages = ref;
        }
        ref->refs++;
        *mps = xrealloc(*mps, (*n_mps + 1) * sizeof(char *));
        (*mps)[(*n_mps)++] = xstrdup(mp);
    }
    return 0;
}

void sandbox_put_storages(struct sandbox *sb, char **mps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (struct storage_ref **pp = &sb->storages; *pp; pp = &(*pp)->next) {
            struct storage_ref *ref = *pp;
            if (strcmp(ref->mount_point, mps[i]) != 0)
                continue;
            if (--ref->refs == 0) {
                if (ref->mounted && umount2(ref->mount_point, MNT_DETACH) < 0)
                    log_warn("storage", "unmount %s: %m", ref->mount_point);
                *pp = ref->next;
                free(ref->mount_point);
                free(ref);
            }
            break;
        }
    }
}

void sandbox_drop_storages(struct sandbox *sb)
{
    while (sb->storages) {
        struct storage_ref *ref = sb->storages;
        sb->storages = ref->next;
        if (ref->mounted)
            (void)umount2(ref->mount_point, MNT_DETACH);
        free(ref->mount_point);
        free(ref);
    }
}
