# rootfs-builder: the guest root file system, staged in build/rootfs (packed by image/).
# The agent comes from agent/ (build/bin/kata-agent); KATA_AGENT_BIN may point elsewhere.
ROOTFS_DIR := $(BUILD)/rootfs
ROOTFS_STAMP := $(BUILD)/rootfs.stamp
KATA_AGENT_BIN ?= $(BUILD)/bin/kata-agent
BUSYBOX_BIN ?= /bin/busybox

$(ROOTFS_STAMP): rootfs-builder/build-rootfs.sh rootfs-builder/busybox-rootfs.sh \
                 $(BUILD)/bin/kata-init $(KATA_AGENT_BIN) $(BUSYBOX_BIN)
	rootfs-builder/build-rootfs.sh $(ROOTFS_DIR) $(BUILD)/bin/kata-init $(KATA_AGENT_BIN) $(BUSYBOX_BIN)
	@touch $@

.PHONY: rootfs
rootfs: $(ROOTFS_STAMP)
