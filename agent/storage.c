/* Storages: the mounts CreateSandbox/CreateContainer ask for, by driver as upstream's handlers
 * (blk, mmioblk, scsi, nvdimm, virtio-fs, ephemeral, local, overlayfs; 9p is ours), ref-counted
 * by mount point across containers. Block drivers find their device through hotplug.c;
 * callers check sandbox_storages_ready first, so the mounts run only once every device is
 * there. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "validate.h"
#include "cleanup.h"
#include "fsutil.h"
#include "linux/mounts.h"
#include "log.h"
#include "xalloc.h"

/* Options of this prefix steer the agent (overlay-rw) and are no mount options. */
#define KATA_OPTION_PREFIX "io.katacontainers."
#define OVERLAY_RW_OPTION "io.katacontainers.fs-opt.overlay-rw"
#define OVERLAY_CREATE_DIR "io.katacontainers.volume.overlayfs.create_directory="
#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages"

struct storage_opts {
    unsigned long flags;
    char *data;       /* comma-separated, owned */
    long fsgid, mode; /* -1: not given */
};

static void storage_opts_free(struct storage_opts *o)
{
    free(o->data);
}

static void data_append(char **data, const char *o)
{
    char *d = *data ? xasprintf("%s,%s", *data, o) : xstrdup(o);
    free(*data);
    *data = d;
}

/* Splits options into flags and data; fsgid=/mode= are kept apart (the agent applies them,
 * they are no mount options), and so are the agent's own io.katacontainers.* options.
 * take_mode: mode= is the local driver's; elsewhere it is a mount option (tmpfs). */
static void parse_options(char **opts, size_t n, bool take_mode, struct storage_opts *o)
{
    *o = (struct storage_opts){.fsgid = -1, .mode = -1};
    for (size_t i = 0; i < n; i++) {
        const char *s = opts[i];
        if (mount_flag_option(s, &o->flags))
            continue;
        if (strcmp(s, "bind") == 0 || strcmp(s, "rbind") == 0) {
            o->flags |= MS_BIND | (s[0] == 'r' ? MS_REC : 0);
            continue;
        }
        if (!s[0] || strncmp(s, KATA_OPTION_PREFIX, strlen(KATA_OPTION_PREFIX)) == 0)
            continue;
        if (strncmp(s, "fsgid=", 6) == 0)
            o->fsgid = strtol(s + 6, NULL, 10);
        else if (take_mode && strncmp(s, "mode=", 5) == 0)
            o->mode = strtol(s + 5, NULL, 8);
        else
            data_append(&o->data, s);
    }
}

static bool has_option(const Grpc__Storage *s, const char *opt)
{
    for (size_t i = 0; i < s->n_options; i++)
        if (strcmp(s->options[i], opt) == 0)
            return true;
    return false;
}

static int apply_fsgid(const char *path, long gid, struct kerr **err)
{
    if (gid < 0)
        return 0;
    struct stat st;
    if (chown(path, (uid_t)-1, (gid_t)gid) < 0 || stat(path, &st) < 0 ||
        chmod(path, (st.st_mode & 07777) | S_ISGID) < 0)
        return make_status(err, RPC_INTERNAL, errno, "set fsgid %ld on %s: %s", gid, path,
                           strerror(errno));
    return 0;
}

static int do_mount(const char *source, const char *mp, const char *fstype, unsigned long flags,
                    const char *data, struct kerr **err)
{
    if (mount(source, mp, fstype, flags, data && data[0] ? data : NULL) < 0)
        return make_status(err, RPC_INTERNAL, errno, "mount %s (%s) on %s with \"%s\": %s", source,
                           fstype, mp, data ? data : "", strerror(errno));
    return 0;
}

/* ---------------------------------------------------------------- devices of the drivers */

char *storage_drivers[] = {"blk",       "mmioblk", "scsi", "nvdimm",    "virtio-fs",
                           "ephemeral", "local",   "9p",   "overlayfs", NULL};

static bool known_driver(const char *d)
{
    for (char **p = storage_drivers; *p; p++)
        if (strcmp(*p, d) == 0)
            return true;
    return false;
}

/* The block device a storage mounts (dev empty for the others): 0, -EAGAIN with *need, or an
 * error. */
static int storage_device(struct sandbox *sb, const Grpc__Storage *s, char *dev, size_t len,
                          struct blk_matcher *need, struct kerr **err)
{
    const char *d = s->driver, *src = s->source;
    dev[0] = '\0';
    if (strcmp(d, "blk") == 0) {
        if (strncmp(src, "/dev", 4) != 0)
            return hotplug_blk_pci(sb, src, dev, len, need, err);
        struct stat st;
        if (stat(src, &st) < 0)
            return make_status(err, RPC_INTERNAL, errno, "get metadata on file \"%s\": %s", src,
                               strerror(errno));
        if (!S_ISBLK(st.st_mode))
            return make_status(err, RPC_INTERNAL, ENOTBLK, "Invalid device %s", src);
        snprintf(dev, len, "%s", src);
        return 0;
    }
    if (strcmp(d, "mmioblk") == 0)
        return hotplug_blk_mmio(sb, src, dev, len, need, err);
    if (strcmp(d, "scsi") == 0)
        return hotplug_scsi(sb, src, dev, len, need, err);
    if (strcmp(d, "nvdimm") == 0)
        return hotplug_pmem(sb, src, dev, len, need, err);
    return 0;
}

static struct storage_ref *ref_find(struct sandbox *sb, const char *mp)
{
    for (struct storage_ref *ref = sb->storages; ref; ref = ref->next)
        if (strcmp(ref->mount_point, mp) == 0)
            return ref;
    return NULL;
}

int sandbox_storages_ready(struct sandbox *sb, Grpc__Storage **st, size_t n,
                           struct blk_matcher *need, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        if (!known_driver(st[i]->driver))
            return make_status(err, RPC_INTERNAL, ENOTSUP, "Failed to find the storage handler %s",
                               st[i]->driver);
        if (ref_find(sb, st[i]->mount_point))
            continue;
        char dev[160];
        int r = storage_device(sb, &*st[i], dev, sizeof(dev), need, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---------------------------------------------------------------- drivers */

static int mount_local(const Grpc__Storage *s, struct kerr **err)
{
    struct storage_opts o;
    parse_options(s->options, s->n_options, true, &o);
    storage_opts_free(&o);
    if (o.fsgid >= 0 && chown(s->mount_point, (uid_t)-1, (gid_t)o.fsgid) < 0)
        return make_status(err, RPC_INTERNAL, errno, "chown %s: %s", s->mount_point,
                           strerror(errno));
    if (o.mode >= 0 && chmod(s->mount_point, (mode_t)o.mode | (o.fsgid >= 0 ? S_ISGID : 0)) < 0)
        return make_status(err, RPC_INTERNAL, errno, "chmod %s: %s", s->mount_point,
                           strerror(errno));
    return 0;
}

/* hugetlbfs wants its pages reserved first: "pagesize=P,size=S" → S/P pages of that size,
 * checked after the write because the kernel may grant fewer. */
static int allocate_hugepages(const Grpc__Storage *s, struct kerr **err)
{
    unsigned long long pagesize = 0, size = 0;
    for (size_t i = 0; i < s->n_options; i++) {
        cleanup_free char *copy = xstrdup(s->options[i]);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (strncmp(t, "pagesize=", 9) == 0)
                pagesize = strtoull(t + 9, NULL, 10);
            else if (strncmp(t, "size=", 5) == 0)
                size = strtoull(t + 5, NULL, 10);
        }
    }
    if (!pagesize || !size)
        return make_status(err, RPC_INTERNAL, EINVAL, "no pagesize/size options found");
    cleanup_free char *path =
        xasprintf(HUGEPAGES_DIR "/hugepages-%llukB/nr_hugepages", pagesize / 1024);
    char want[32];
    snprintf(want, sizeof(want), "%llu", size / pagesize);
    cleanup_error struct kerr *e = NULL;
    cleanup_free char *got = NULL;
    if (write_file(path, want, &e) < 0 || read_file(path, &got, &e) < 0)
        return make_status(err, RPC_INTERNAL, e->errnum, "allocate hugepages: %s", e->msg);
    if (strtoull(got, NULL, 10) != size / pagesize)
        return make_status(err, RPC_INTERNAL, ENOMEM,
                           "Only allocated %llu of %s hugepages of size %llu",
                           strtoull(got, NULL, 10), want, pagesize);
    return 0;
}

static int mount_ephemeral(const Grpc__Storage *s, struct kerr **err)
{
    const char *src = s->source[0] ? s->source : "tmpfs";
    if (strcmp(s->fstype, "hugetlbfs") == 0) {
        int r = allocate_hugepages(s, err);
        if (r < 0)
            return r;
        struct storage_opts o;
        parse_options(s->options, s->n_options, false, &o);
        r = do_mount(src, s->mount_point, "hugetlbfs", o.flags, o.data, err);
        storage_opts_free(&o);
        return r;
    }
    /* As upstream: no mount option reaches the tmpfs, only fsgid= is honoured. */
    struct storage_opts o;
    parse_options(s->options, s->n_options, false, &o);
    storage_opts_free(&o);
    int r = do_mount(src, s->mount_point, s->fstype[0] ? s->fstype : "tmpfs", 0, NULL, err);
    if (r < 0)
        return r;
    return apply_fsgid(s->mount_point, o.fsgid, err);
}

static int mount_overlay(const Grpc__Storage *s, const char *cid, struct kerr **err)
{
    for (size_t i = 0; i < s->n_driver_options; i++) {
        const char *o = s->driver_options[i];
        if (strncmp(o, OVERLAY_CREATE_DIR, strlen(OVERLAY_CREATE_DIR)) != 0)
            continue;
        int r = mkdir_p(o + strlen(OVERLAY_CREATE_DIR), 0755, NULL);
        if (r < 0)
            return make_status(err, RPC_INTERNAL, -r, "create %s: %s",
                               o + strlen(OVERLAY_CREATE_DIR), strerror(-r));
    }
    struct storage_opts o;
    parse_options(s->options, s->n_options, false, &o);
    const char *fstype = s->fstype;
    if (has_option(s, OVERLAY_RW_OPTION)) {
        if (!cid) {
            storage_opts_free(&o);
            return make_status(err, RPC_INTERNAL, EINVAL, "No container id in rw overlay");
        }
        cleanup_free char *upper = xasprintf(AGENT_CONTAINER_BASE "/%s/upper", cid);
        cleanup_free char *work = xasprintf(AGENT_CONTAINER_BASE "/%s/work", cid);
        if (mkdir_p(upper, 0755, NULL) < 0 || mkdir_p(work, 0755, NULL) < 0) {
            storage_opts_free(&o);
            return make_status(err, RPC_INTERNAL, errno, "Creating overlay directories: %s",
                               strerror(errno));
        }
        cleanup_free char *dirs = xasprintf("upperdir=%s,workdir=%s", upper, work);
        data_append(&o.data, dirs);
        fstype = "overlay";
    }
    int r = do_mount(s->source, s->mount_point, fstype, o.flags, o.data, err);
    storage_opts_free(&o);
    return r;
}

/* virtio-fs, 9p and the block drivers: one mount of source (or the found device). */
static int mount_generic(const Grpc__Storage *s, const char *dev, struct kerr **err)
{
    const char *fstype = s->fstype;
    if (strcmp(s->driver, "virtio-fs") == 0)
        fstype = "virtiofs";
    else if (strcmp(s->driver, "9p") == 0)
        fstype = "9p";
    const char *source = dev[0] ? dev : s->source[0] ? s->source : fstype;
    struct storage_opts o;
    parse_options(s->options, s->n_options, false, &o);
    int r = do_mount(source, s->mount_point, fstype, o.flags, o.data, err);
    if (r == 0)
        r = apply_fsgid(s->mount_point, o.fsgid, err);
    storage_opts_free(&o);
    return r;
}

static int mount_storage(struct sandbox *sb, const Grpc__Storage *s, const char *cid,
                         bool *ret_mounted, struct kerr **err)
{
    const char *mp = s->mount_point;
    int r = agent_mkdir_nofollow("storage mount point", mp, 0755, err);
    if (r < 0)
        return r;
    *ret_mounted = false;
    /* as upstream: the shared directory already mounted (a restarted agent, or a host test
     * that binds the share there) is used as it is, and not ours to unmount */
    if (strcmp(s->source, "kataShared") == 0 && is_mountpoint(mp)) {
        log_info("storage", "%s is already mounted: kataShared not mounted again", mp);
        return 0;
    }
    if (strcmp(s->driver, "local") == 0)
        return mount_local(s, err);
    if (strcmp(s->driver, "ephemeral") == 0)
        r = mount_ephemeral(s, err);
    else if (strcmp(s->driver, "overlayfs") == 0)
        r = mount_overlay(s, cid, err);
    else {
        char dev[160];
        struct blk_matcher need;
        r = storage_device(sb, s, dev, sizeof(dev), &need, err);
        if (r == -EAGAIN)
            r = make_status(err, RPC_INTERNAL, ENODEV, "the device of %s went away", mp);
        if (r == 0)
            r = mount_generic(s, dev, err);
    }
    if (r < 0)
        return r;
    r = storage_set_ownership(s, err);
    if (r < 0) {
        (void)umount2(mp, MNT_DETACH);
        return r;
    }
    *ret_mounted = true;
    return 0;
}

int sandbox_add_storages(struct sandbox *sb, Grpc__Storage **st, size_t n, const char *cid,
                         char ***mps, size_t *n_mps, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        const char *mp = st[i]->mount_point;
        struct storage_ref *ref = ref_find(sb, mp);
        if (!ref) {
            bool mounted = false;
            int r = mount_storage(sb, st[i], cid, &mounted, err);
            if (r < 0) {
                error_wrap(err, r, "storage %s", st[i]->driver);
                return r;
            }
            log_info("storage", "%s storage %s mounted on %s", st[i]->driver, st[i]->source, mp);
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

/* ---------------------------------------------------------------- UpdateEphemeralMounts */

/* The runtime resizes ephemeral volumes after each resource update: remount with the new
 * options (they include "remount"), fsgid= left out as it was applied at the first mount. */
static int update_ephemeral(const Grpc__Storage *s, struct kerr **err)
{
    if (strcmp(s->driver, "ephemeral") != 0)
        return make_status(err, RPC_INTERNAL, EINVAL,
                           "Unsupported storage type for syncing mounts %s. Only ephemeral "
                           "storage update is supported",
                           s->driver);
    int r = agent_mkdir_nofollow("storage mount point", s->mount_point, 0755, err);
    if (r < 0)
        return r;
    if (s->n_options == 0)
        return 0;
    struct storage_opts o;
    parse_options(s->options, s->n_options, false, &o);
    r = do_mount(s->source, s->mount_point, s->fstype, o.flags, o.data, err);
    storage_opts_free(&o);
    return r;
}

void storage_update_ephemeral_mounts(struct ttrpc_call *call, void *data)
{
    Grpc__UpdateEphemeralMountsRequest *req = (Grpc__UpdateEphemeralMountsRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    for (size_t i = 0; i < req->n_storages; i++)
        if (update_ephemeral(req->storages[i], &err) < 0) {
            ttrpc_reply_kerr(call, err);
            return;
        }
    ttrpc_reply(call, NULL);
}
