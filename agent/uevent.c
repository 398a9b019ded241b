/* The uevent listener and block-device matching (see uevent.h). Only block devices are
 * recorded: every device the runtime makes the agent wait for is one. */
#include "uevent.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "ttrpc.h"
#include "xalloc.h"

#define SYS_BLOCK "/sys/class/block"
#define MEMORY_DEVPATH "/devices/system/memory/"

struct uevent_rec {
    struct uevent_rec *next;
    char *devpath, *devname;
};

struct uevent_watch {
    struct uevent_watch *prev, *next;
    struct uevents *u;
    struct loop_timer *timer;
    struct blk_matcher m;
    uevent_watch_fn cb;
    void *data;
};

struct uevents {
    struct loop *loop;
    int fd;
    struct loop_source *src;
    struct uevent_rec *recs;
    struct uevent_watch *watches;
};

/* ---------------------------------------------------------------- matching */

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* devpath = <prefix>/virtio<N>/block/<name>, name without further components. */
static bool match_pci(const char *key, const char *devpath)
{
    size_t lk = strlen(key);
    if (strncmp(devpath, key, lk) != 0 || strncmp(devpath + lk, "/virtio", 7) != 0)
        return false;
    const char *p = devpath + lk + 7;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (strncmp(p, "/block/", 7) != 0)
        return false;
    p += 7;
    return *p && !strchr(p, '/');
}

/* devpath = .../<key>/block/<devname> */
static bool match_scsi(const char *key, const char *devpath, const char *devname)
{
    const char *b = strstr(devpath, "/block/");
    if (!b || strcmp(b + 7, devname) != 0)
        return false;
    size_t lk = strlen(key), lp = (size_t)(b - devpath);
    return lp > lk && devpath[lp - lk - 1] == '/' && strncmp(b - lk, key, lk) == 0;
}

bool blk_matcher_match(const struct blk_matcher *m, const char *devpath, const char *subsystem,
                       const char *devname)
{
    if (strcmp(subsystem, "block") != 0 || !devname[0])
        return false;
    char suffix[sizeof(m->key) + 8];
    switch (m->kind) {
    case BLK_MATCH_PCI:
        return match_pci(m->key, devpath);
    case BLK_MATCH_MMIO:
        snprintf(suffix, sizeof(suffix), "/block/%s", m->key);
        return ends_with(devpath, suffix);
    case BLK_MATCH_SCSI:
        return match_scsi(m->key, devpath, devname);
    case BLK_MATCH_PMEM:
        snprintf(suffix, sizeof(suffix), "/block/%s", m->key);
        return strncmp(devpath, "/devices/LNXSYSTM", 17) == 0 && ends_with(devpath, suffix);
    }
    return false;
}

void blk_matcher_describe(const struct blk_matcher *m, char *buf, size_t len)
{
    switch (m->kind) {
    case BLK_MATCH_PCI:
        snprintf(buf, len, "VirtioBlkPciMatcher { rex: ^%s/virtio[0-9]+/block/ }", m->key);
        break;
    case BLK_MATCH_MMIO:
        snprintf(buf, len, "VirtioBlkMmioMatcher { suffix: \"/block/%s\" }", m->key);
        break;
    case BLK_MATCH_SCSI:
        snprintf(buf, len, "ScsiBlockMatcher { search: \"/%s/block/\" }", m->key);
        break;
    case BLK_MATCH_PMEM:
        snprintf(buf, len, "PmemBlockMatcher { suffix: \"/block/%s\" }", m->key);
        break;
    }
}

/* ---------------------------------------------------------------- PCI paths */

/* One element: SS or SS.F, hex, slot < 32, function < 8. */
static int parse_slot_fn(const char *s, size_t n, unsigned *slot, unsigned *fn)
{
    char buf[8];
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)buf[i]) && buf[i] != '.')
            return -EINVAL;
    char *end;
    unsigned long v = strtoul(buf, &end, 16);
    if (end == buf || v > 0x1f)
        return -EINVAL;
    *slot = (unsigned)v;
    *fn = 0;
    if (*end == '.') {
        char *f = end + 1;
        v = strtoul(f, &end, 16);
        if (end == f || v > 7)
            return -EINVAL;
        *fn = (unsigned)v;
    }
    return *end ? -EINVAL : 0;
}

/* The one bus directory a bridge exposes under <dev>/pci_bus/. */
static int bridge_bus(const char *dir, char *bus, size_t len, struct kerr **err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return make_status(err, RPC_INTERNAL, errno, "read %s: %s", dir, strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            if (n++ == 0)
                snprintf(bus, len, "%s", e->d_name);
        }
    if (n != 1)
        return make_status(err, RPC_INTERNAL, EINVAL,
                           "Expected exactly one PCI bus in %s, got %d instead", dir, n);
    return 0;
}

int pci_path_to_devpath(const char *sysfs_root, const char *pcipath, char *out, size_t len,
                        struct kerr **err)
{
    char bus[NAME_MAX + 1] = "0000:00";
    size_t o = (size_t)snprintf(out, len, "/devices/pci0000:00");
    const char *p = pcipath;
    if (!*p)
        return make_status(err, RPC_INTERNAL, EINVAL, "Empty PCI path");
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        unsigned slot, fn;
        if (parse_slot_fn(p, n, &slot, &fn) < 0)
            return make_status(err, RPC_INTERNAL, EINVAL, "Invalid PCI path \"%s\"", pcipath);
        o += (size_t)snprintf(out + o, o < len ? len - o : 0, "/%s:%02x.%x", bus, slot, fn);
        if (o >= len)
            return make_status(err, RPC_INTERNAL, ENAMETOOLONG, "PCI path \"%s\" is too long",
                               pcipath);
        if (!slash)
            return 0;
        cleanup_free char *dir = xasprintf("%s%s/pci_bus", sysfs_root, out);
        int r = bridge_bus(dir, bus, sizeof(bus), err);
        if (r < 0)
            return r;
        p = slash + 1;
    }
}

/* ---------------------------------------------------------------- recorded events */

static struct uevent_rec **rec_find(struct uevents *u, const char *devpath)
{
    struct uevent_rec **pp = &u->recs;
    while (*pp && strcmp((*pp)->devpath, devpath) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void rec_free(struct uevent_rec *r)
{
    free(r->devpath);
    free(r->devname);
    free(r);
}

static void watch_unlink(struct uevent_watch *w)
{
    if (!w->u)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        w->u->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->u = NULL;
}

static void block_added(struct uevents *u, const char *devpath, const char *devname)
{
    struct uevent_rec **pp = rec_find(u, devpath);
    if (!*pp) {
        *pp = xcalloc(1, sizeof(**pp));
        (*pp)->devpath = xstrdup(devpath);
    } else {
        free((*pp)->devname);
    }
    (*pp)->devname = xstrdup(devname);
    /* a callback may unwatch any watch (its own is already off the list): restart the scan */
    for (bool again = true; again;) {
        again = false;
        for (struct uevent_watch *w = u->watches; w; w = w->next) {
            if (!blk_matcher_match(&w->m, devpath, "block", devname))
                continue;
            watch_unlink(w);
            loop_cancel_timer(w->timer);
            w->cb(w->data, devname);
            free(w);
            again = true;
            break;
        }
    }
}

static void memory_added(const char *devpath)
{
    cleanup_free char *path = xasprintf("/sys%s/online", devpath);
    cleanup_error struct kerr *err = NULL;
    if (write_file(path, "1", &err) < 0)
        log_warn("uevent", "online %s: %s", devpath, err->msg);
}

/* One message: "action@devpath" then NUL-separated KEY=VALUE pairs. */
static void handle_message(struct uevents *u, char *buf, size_t n)
{
    const char *action = "", *devpath = "", *subsystem = "", *devname = "";
    for (size_t i = 0; i < n;) {
        const char *kv = buf + i;
        size_t l = strnlen(kv, n - i);
        if (strncmp(kv, "ACTION=", 7) == 0)
            action = kv + 7;
        else if (strncmp(kv, "DEVPATH=", 8) == 0)
            devpath = kv + 8;
        else if (strncmp(kv, "SUBSYSTEM=", 10) == 0)
            subsystem = kv + 10;
        else if (strncmp(kv, "DEVNAME=", 8) == 0)
            devname = kv + 8;
        i += l + 1;
    }
    if (strcmp(action, "add") == 0) {
        if (strncmp(devpath, MEMORY_DEVPATH, strlen(MEMORY_DEVPATH)) == 0 &&
            strcmp(subsystem, "memory") == 0)
            memory_added(devpath);
        else if (strcmp(subsystem, "block") == 0 && devname[0])
            block_added(u, devpath, devname);
    } else if (strcmp(action, "remove") == 0) {
        struct uevent_rec **pp = rec_find(u, devpath);
        if (*pp) {
            struct uevent_rec *r = *pp;
            *pp = r->next;
            rec_free(r);
        }
    }
}

static void on_readable(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct uevents *u = data;
    for (;;) {
        char buf[8192 + 1];
        struct sockaddr_nl from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == ENOBUFS) {
                log_warn("uevent", "uevents were lost (receive buffer overrun)");
                continue;
            }
            return; /* EAGAIN, or nothing more to do about it */
        }
        if (from.nl_pid != 0)
            continue; /* not from the kernel */
        buf[n] = '\0';
        handle_message(u, buf, (size_t)n);
    }
}

int uevents_start(struct loop *loop, struct uevents **ret, struct kerr **err)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return make_error(err, errno, "uevent socket: %s", strerror(errno));
    /* bursts (many memory blocks of one DIMM) must not overrun the default buffer */
    int sz = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = 1};
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        return make_error(err, e, "bind uevent socket: %s", strerror(e));
    }
    struct uevents *u = xcalloc(1, sizeof(*u));
    u->loop = loop;
    u->fd = fd;
    u->src = loop_add_fd(loop, fd, EPOLLIN, on_readable, u);
    if (!u->src) {
        close(fd);
        free(u);
        return make_error(err, ENOMEM, "watch uevent socket");
    }
    *ret = u;
    return 0;
}

void uevents_stop(struct uevents *u)
{
    if (!u)
        return;
    while (u->watches) {
        struct uevent_watch *w = u->watches;
        watch_unlink(w);
        loop_cancel_timer(w->timer);
        free(w);
    }
    while (u->recs) {
        struct uevent_rec *r = u->recs;
        u->recs = r->next;
        rec_free(r);
    }
    loop_remove_fd(u->src);
    close(u->fd);
    free(u);
}

/* ---------------------------------------------------------------- finding and waiting */

/* sysfs shows a disk before the kernel has finished adding it (sd probes asynchronously
 * after a SCSI scan): until it can be opened, its uevent is still to come. */
static bool disk_ready(const char *name)
{
    char dev[300];
    snprintf(dev, sizeof(dev), "/dev/%s", name);
    int fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static bool sysfs_find(const struct blk_matcher *m, char *devname, size_t len)
{
    cleanup_dir DIR *d = opendir(SYS_BLOCK);
    if (!d)
        return false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char link[512], path[300];
        snprintf(path, sizeof(path), SYS_BLOCK "/%s", e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        /* ../../devices/... */
        const char *dp = strstr(link, "/devices/");
        if (dp && blk_matcher_match(m, dp, "block", e->d_name) && disk_ready(e->d_name)) {
            snprintf(devname, len, "%s", e->d_name);
            return true;
        }
    }
    return false;
}

bool uevents_find(struct uevents *u, const struct blk_matcher *m, char *devname, size_t len)
{
    for (struct uevent_rec *r = u ? u->recs : NULL; r; r = r->next)
        if (blk_matcher_match(m, r->devpath, "block", r->devname)) {
            snprintf(devname, len, "%s", r->devname);
            return true;
        }
    return sysfs_find(m, devname, len);
}

static void watch_timeout(struct loop_timer *t, void *data)
{
    struct uevent_watch *w = data;
    w->timer = NULL;
    watch_unlink(w);
    w->cb(w->data, NULL);
    free(w);
}

struct uevent_watch *uevents_watch(struct uevents *u, struct loop *loop,
                                   const struct blk_matcher *m, int64_t timeout_ns,
                                   uevent_watch_fn cb, void *data)
{
    struct uevent_watch *w = xcalloc(1, sizeof(*w));
    w->m = *m;
    w->cb = cb;
    w->data = data;
    if (u) {
        w->u = u;
        w->next = u->watches;
        if (u->watches)
            u->watches->prev = w;
        u->watches = w;
    }
    w->timer = loop_add_timer(loop, timeout_ns, watch_timeout, w);
    return w;
}

void uevents_unwatch(struct uevent_watch *w)
{
    if (!w)
        return;
    watch_unlink(w);
    loop_cancel_timer(w->timer);
    free(w);
}
