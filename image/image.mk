# image: pack the staged rootfs (rootfs-builder/) into
#   build/kata-containers-initrd.img  gzip'd cpio newc, byte-identical for identical inputs
#   build/kata-containers.img         raw ext4, no partition table: boot with root=/dev/vda
#                                     (virtio-blk); the kernel runs /sbin/init = kata-init
# Both use SOURCE_DATE_EPOCH (mk/toolchain.mk: the last commit's time) for every timestamp.
INITRD_IMG := $(BUILD)/kata-containers-initrd.img
DISK_IMG := $(BUILD)/kata-containers.img

$(INITRD_IMG): $(ROOTFS_STAMP) image/mk-initrd.sh
	image/mk-initrd.sh $(ROOTFS_DIR) $@

$(DISK_IMG): $(ROOTFS_STAMP) image/mk-image.sh
	image/mk-image.sh $(ROOTFS_DIR) $@

GUEST_FILES += $(INITRD_IMG) $(DISK_IMG)

.PHONY: initrd image
initrd: $(INITRD_IMG)
image: $(DISK_IMG)
guest: initrd image

# tests/unit/initrd-repro.sh builds its own copies; tests/guest/init.bats boots these.
test-deps: initrd image
