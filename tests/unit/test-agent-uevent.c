/* Unit tests of the agent's block-device matchers (upstream's uevent matchers) and of PCI
 * path resolution through the bridges' buses in a fake sysfs, TAP. */
#include "tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/uevent.h"

static bool match(enum blk_match_kind k, const char *key, const char *devpath, const char *name)
{
    struct blk_matcher m = {.kind = k};
    snprintf(m.key, sizeof(m.key), "%s", key);
    return blk_matcher_match(&m, devpath, "block", name);
}

static void mkdirs(const char *root, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
}

int main(void)
{
    tap_plan(12);
    const char *bridge = "/devices/pci0000:00/0000:00:02.0/0000:01:05.0";
    tap_ok(match(BLK_MATCH_PCI, bridge,
                 "/devices/pci0000:00/0000:00:02.0/0000:01:05.0/virtio3/block/vdb", "vdb"),
           "pci: the whole disk behind the bridge slot matches");
    tap_ok(!match(BLK_MATCH_PCI, bridge,
                  "/devices/pci0000:00/0000:00:02.0/0000:01:05.0/virtio3/block/vdb/vdb1", "vdb1") &&
               !match(BLK_MATCH_PCI, bridge,
                      "/devices/pci0000:00/0000:00:02.0/0000:01:06.0/virtio3/block/vdb", "vdb") &&
               !match(BLK_MATCH_PCI, bridge,
                      "/devices/pci0000:00/0000:00:02.0/0000:01:05.0/virtio/block/vdb", "vdb"),
           "pci: a partition, another slot, a virtio without number do not");
    tap_ok(
        match(BLK_MATCH_SCSI, "0:0:1:0",
              "/devices/pci0000:00/0000:00:03.0/virtio1/host0/target0:0:1/0:0:1:0/block/sda",
              "sda") &&
            !match(BLK_MATCH_SCSI, "0:0:1:0",
                   "/devices/pci0000:00/0000:00:03.0/virtio1/host0/target0:0:1/0:0:1:1/block/sdb",
                   "sdb") &&
            !match(BLK_MATCH_SCSI, "0:0:1:0", "/devices/x/10:0:0:1:0/block/sda", "sda"),
        "scsi: 0:0:<id>:<lun> before /block/, not another lun or a longer address");
    tap_ok(
        match(
            BLK_MATCH_PMEM, "pmem1",
            "/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region1/namespace1.0/block/pmem1",
            "pmem1") &&
            !match(BLK_MATCH_PMEM, "pmem1",
                   "/devices/platform/e820_pmem/ndbus0/region1/namespace1.0/block/pmem1", "pmem1"),
        "pmem: only under the ACPI root (NFIT)");
    tap_ok(match(BLK_MATCH_MMIO, "vda",
                 "/devices/virtio-mmio-cmdline/virtio-mmio.0/virtio0/block/vda", "vda") &&
               !match(BLK_MATCH_MMIO, "vda",
                      "/devices/virtio-mmio-cmdline/virtio-mmio.0/virtio0/block/vdab", "vdab"),
           "mmio: the disk name at the end");
    struct blk_matcher m = {.kind = BLK_MATCH_MMIO};
    strcpy(m.key, "vda");
    tap_ok(!blk_matcher_match(&m, "/devices/x/block/vda", "net", "vda") &&
               !blk_matcher_match(&m, "/devices/x/block/vda", "block", ""),
           "a non-block subsystem or an empty devname never matches");

    char root[] = "/tmp/test-uevent.XXXXXX";
    if (!mkdtemp(root))
        return 1;
    mkdirs(root, "/devices/pci0000:00/0000:00:02.0/pci_bus/0000:01");
    mkdirs(root, "/devices/pci0000:00/0000:00:02.0/0000:01:03.0/pci_bus/0000:02");
    char out[224];
    struct kerr *err = NULL;
    tap_ok(pci_path_to_devpath(root, "02/01", out, sizeof(out), &err) == 0 &&
               strcmp(out, "/devices/pci0000:00/0000:00:02.0/0000:01:01.0") == 0,
           "02/01: through the bridge's bus 0000:01 (%s)", out);
    tap_ok(pci_path_to_devpath(root, "02/03/1f.7", out, sizeof(out), &err) == 0 &&
               strcmp(out, "/devices/pci0000:00/0000:00:02.0/0000:01:03.0/0000:02:1f.7") == 0,
           "02/03/1f.7: two bridges, a function (%s)", out);
    tap_ok(pci_path_to_devpath(root, "05", out, sizeof(out), &err) == 0 &&
               strcmp(out, "/devices/pci0000:00/0000:00:05.0") == 0,
           "05: a device on the root bus needs no sysfs");
    bool failed = pci_path_to_devpath(root, "04/01", out, sizeof(out), &err) < 0 && err;
    tap_ok(failed, "04/01: no such bridge is an error (%s)", err ? err->msg : "");
    error_freep(&err);
    tap_ok(pci_path_to_devpath(root, "20/01", out, sizeof(out), &err) < 0 &&
               pci_path_to_devpath(root, "", out, sizeof(out), &err) < 0 &&
               pci_path_to_devpath(root, "02//01", out, sizeof(out), &err) < 0 &&
               pci_path_to_devpath(root, "0x2/01", out, sizeof(out), &err) < 0 &&
               pci_path_to_devpath(root, "02.8/01", out, sizeof(out), &err) < 0,
           "slot > 1f, empty, empty element, 0x prefix, function > 7 rejected");
    error_freep(&err);
    mkdirs(root, "/devices/pci0000:00/0000:00:02.0/pci_bus/0000:09");
    failed = pci_path_to_devpath(root, "02/01", out, sizeof(out), &err) < 0 && err &&
             strstr(err->msg, "Expected exactly one PCI bus");
    tap_ok(failed, "a bridge with two buses is an error (%s)", err ? err->msg : "");
    error_freep(&err);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    (void)!system(cmd);
    return tap_done();
}
