/* Block devices the runtime hot-plugs, found the way upstream finds them (PCI path, SCSI
 * address, mmio or pmem name), and the waiting for them: a handler that needs a device that
 * is not there yet parks its call and runs again, from the start, once the device appears.
 * Handlers check every device before doing anything, so running again repeats no work. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

#define SCSI_HOSTS "/sys/class/scsi_host"

/* A matching device is there: its node. Else *need says what to wait for. */
static int find_or_need(struct sandbox *sb, const struct blk_matcher *m, char *dev, size_t len,
                        struct blk_matcher *need)
{
    char name[128];
    if (uevents_find(sb->uevents, m, name, sizeof(name))) {
        snprintf(dev, len, "/dev/%s", name);
        return 0;
    }
    *need = *m;
    return -EAGAIN;
}

int hotplug_blk_pci(struct sandbox *sb, const char *pcipath, char *dev, size_t len,
                    struct blk_matcher *need, struct kerr **err)
{
    struct blk_matcher m = {.kind = BLK_MATCH_PCI};
    int r = pci_path_to_devpath("/sys", pcipath, m.key, sizeof(m.key), err);
    if (r < 0)
        return r;
    return find_or_need(sb, &m, dev, len, need);
}

/* /dev/<name>: the name, or an error naming what was given. */
static int dev_name(const char *path, const char *what, struct blk_matcher *m, struct kerr **err)
{
    if (strncmp(path, "/dev/", 5) != 0 || !path[5] || strchr(path + 5, '/'))
        return make_status(err, RPC_INTERNAL, EINVAL, "%s '%s' must start with /dev/", what, path);
    snprintf(m->key, sizeof(m->key), "%s", path + 5);
    return 0;
}

int hotplug_blk_mmio(struct sandbox *sb, const char *path, char *dev, size_t len,
                     struct blk_matcher *need, struct kerr **err)
{
    struct blk_matcher m = {.kind = BLK_MATCH_MMIO};
    int r = dev_name(path, "Storage source", &m, err);
    if (r < 0)
        return r;
    if (access(path, F_OK) == 0) {
        snprintf(dev, len, "%s", path);
        return 0;
    }
    return find_or_need(sb, &m, dev, len, need);
}

int hotplug_pmem(struct sandbox *sb, const char *path, char *dev, size_t len,
                 struct blk_matcher *need, struct kerr **err)
{
    struct blk_matcher m = {.kind = BLK_MATCH_PMEM};
    int r = dev_name(path, "Pmem device", &m, err);
    if (r < 0)
        return r;
    return find_or_need(sb, &m, dev, len, need);
}

/* The runtime boots with scsi_mod.scan=none: nothing shows up until the agent asks every
 * host to scan the target and LUN. */
static int scsi_scan(unsigned id, unsigned lun, struct kerr **err)
{
    cleanup_dir DIR *d = opendir(SCSI_HOSTS);
    if (!d)
        return make_status(err, RPC_INTERNAL, errno, "read %s: %s", SCSI_HOSTS, strerror(errno));
    char scan[32];
    snprintf(scan, sizeof(scan), "0 %u %u", id, lun);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "host", 4) != 0)
            continue;
        cleanup_free char *path = xasprintf(SCSI_HOSTS "/%s/scan", e->d_name);
        cleanup_error struct kerr *werr = NULL;
        if (write_file(path, scan, &werr) < 0)
            return make_status(err, RPC_INTERNAL, werr->errnum, "%s", werr->msg);
    }
    return 0;
}

int hotplug_scsi(struct sandbox *sb, const char *addr, char *dev, size_t len,
                 struct blk_matcher *need, struct kerr **err)
{
    unsigned id, lun;
    char extra;
    if (sscanf(addr, "%u:%u%c", &id, &lun, &extra) != 2)
        return make_status(err, RPC_INTERNAL, EINVAL, "Invalid SCSI address %s", addr);
    struct blk_matcher m = {.kind = BLK_MATCH_SCSI};
    snprintf(m.key, sizeof(m.key), "0:0:%u:%u", id, lun);
    if (find_or_need(sb, &m, dev, len, need) == 0)
        return 0;
    int r = scsi_scan(id, lun, err);
    if (r < 0)
        return r;
    return find_or_need(sb, &m, dev, len, need);
}

/* ---------------------------------------------------------------- parked calls */

struct hotplug_wait {
    struct sandbox *sb;
    struct ttrpc_call *call;
    struct uevent_watch *watch;
    hotplug_retry_fn retry;
    char desc[300];
};

static void wait_cancelled(struct ttrpc_call *call, void *data)
{
    struct hotplug_wait *hw = data;
    uevents_unwatch(hw->watch);
    free(hw);
}

static void wait_done(void *data, const char *devname)
{
    struct hotplug_wait *hw = data;
    struct ttrpc_call *call = hw->call;
    call->on_cancel = NULL;
    call->cancel_data = NULL;
    if (devname) {
        log_debug("hotplug", "%s appeared for %s", devname, call->method);
        hw->retry(hw->sb, call);
    } else {
        log_warn("hotplug", "%s: no device after %ds: %s", call->method,
                 (int)(hw->sb->config->hotplug_timeout_ns / 1000000000LL), hw->desc);
        ttrpc_reply_error(call, RPC_INTERNAL, "Timeout after %ds waiting for uevent %s",
                          (int)(hw->sb->config->hotplug_timeout_ns / 1000000000LL), hw->desc);
    }
    free(hw);
}

void hotplug_park(struct sandbox *sb, struct ttrpc_call *call, const struct blk_matcher *need,
                  hotplug_retry_fn retry)
{
    struct hotplug_wait *hw = xcalloc(1, sizeof(*hw));
    hw->sb = sb;
    hw->call = call;
    hw->retry = retry;
    blk_matcher_describe(need, hw->desc, sizeof(hw->desc));
    log_debug("hotplug", "%s waits for %s", call->method, hw->desc);
    call->on_cancel = wait_cancelled;
    call->cancel_data = hw;
    hw->watch =
        uevents_watch(sb->uevents, sb->loop, need, sb->config->hotplug_timeout_ns, wait_done, hw);
}

bool hotplug_check(struct sandbox *sb, struct ttrpc_call *call, int r,
                   const struct blk_matcher *need, const struct kerr *err, hotplug_retry_fn retry)
{
    if (r == -EAGAIN)
        hotplug_park(sb, call, need, retry);
    else if (r < 0)
        ttrpc_reply_kerr(call, err);
    return r == 0;
}
