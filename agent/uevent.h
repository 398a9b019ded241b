/* Kernel uevents (netlink KOBJECT_UEVENT) and the block devices the runtime hot-plugs: the
 * listener records added block devices by devpath, onlines hot-added memory blocks, and wakes
 * the calls waiting for a device. A device that was there before the agent started is found
 * in sysfs instead, so nothing waits for an event that already happened. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "loop.h"

/* Which whole-disk block device a caller wants (upstream's uevent matchers). */
enum blk_match_kind {
    BLK_MATCH_PCI,  /* key: sysfs devpath of the PCI device, /devices/pci0000:00/0000:00:02.0/... */
    BLK_MATCH_MMIO, /* key: the disk name, vda */
    BLK_MATCH_SCSI, /* key: the SCSI address, 0:0:<id>:<lun> */
    BLK_MATCH_PMEM, /* key: the disk name, pmem1 */
};

struct blk_matcher {
    enum blk_match_kind kind;
    char key[224];
};

bool blk_matcher_match(const struct blk_matcher *m, const char *devpath, const char *subsystem,
                       const char *devname);
/* Upstream-like rendering of the matcher, for the timeout message. */
void blk_matcher_describe(const struct blk_matcher *m, char *buf, size_t len);

/* A PCI path as the runtime sends it ("02/01": slot[.fn] per bridge level, hex) to the sysfs
 * devpath of the device, following each bridge's secondary bus under sysfs_root
 * (normally "/sys"). */
int pci_path_to_devpath(const char *sysfs_root, const char *pcipath, char *out, size_t len,
                        struct kerr **err);

struct uevents;
struct uevent_watch;
/* devname: the device's name (vda) once it appeared; NULL when the timeout passed. */
typedef void (*uevent_watch_fn)(void *data, const char *devname);

/* Opens the netlink socket on the loop. Fails (the agent goes on without events; waits then
 * only find what sysfs shows) when the socket cannot be opened. */
int uevents_start(struct loop *loop, struct uevents **ret, struct kerr **err);
void uevents_stop(struct uevents *u);
/* The device matching m, from the recorded events or else from /sys/class/block: true and its
 * name in devname. u may be NULL. */
bool uevents_find(struct uevents *u, const struct blk_matcher *m, char *devname, size_t len);
/* Calls cb once: when a matching device is added, or with NULL after timeout_ns. */
struct uevent_watch *uevents_watch(struct uevents *u, struct loop *loop,
                                   const struct blk_matcher *m, int64_t timeout_ns,
                                   uevent_watch_fn cb, void *data);
/* Drops a watch whose callback has not run; NULL is ignored. */
void uevents_unwatch(struct uevent_watch *w);
