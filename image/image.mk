# image: pack the staged rootfs (rootfs-builder/) into
#   build/kata-containers-initrd.img  gzip'd cpio newc, byte-identical for identical inputs
#   build/kata-containers.img         Kata's disk image layout (image/layout.h): MBR, p1 ext4,
#                                     the 2 MiB DAX header in front (SKIP_DAX_HEADER=yes omits
#                                     it, as osbuilder's option does), size a multiple of
#                                     128 MiB; boots as /dev/pmem0p1 (NVDIMM, DAX) or /dev/vda1
# Both use SOURCE_DATE_EPOCH (mk/toolchain.mk: the last commit's time) for every timestamp.
INITRD_IMG := $(BUILD)/kata-containers-initrd.img
DISK_IMG := $(BUILD)/kata-containers.img
IMAGE_LAYOUT := $(BUILD)/tools/kata-image-layout
IMAGE_LAYOUT_SRCS := image/layout.c common/error.c common/xalloc.c
SKIP_DAX_HEADER ?= no
IMAGE_FLAGS := $(if $(filter yes,$(SKIP_DAX_HEADER)),--no-dax-header)

# A build-host tool: not shipped, not installed.
$(IMAGE_LAYOUT): $(call objs_r,image/kata-image-layout.c $(IMAGE_LAYOUT_SRCS))
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $^ -o $@

$(BUILD)/asan/tests/test-image-layout: $(call objs_a,image/tests/test-image-layout.c tests/tap.c \
                                       $(IMAGE_LAYOUT_SRCS))
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(INITRD_IMG): $(ROOTFS_STAMP) image/mk-initrd.sh
	image/mk-initrd.sh $(ROOTFS_DIR) $@

# The header option is part of the output: a change of it must rebuild.
$(BUILD)/image-flags.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(IMAGE_FLAGS)' | cmp -s - $@ || echo '$(IMAGE_FLAGS)' >$@

$(DISK_IMG): $(ROOTFS_STAMP) image/mk-image.sh $(IMAGE_LAYOUT) $(BUILD)/image-flags.stamp
	KATA_IMAGE_LAYOUT=$(IMAGE_LAYOUT) image/mk-image.sh $(IMAGE_FLAGS) $(ROOTFS_DIR) $@

GUEST_FILES += $(INITRD_IMG) $(DISK_IMG)

.PHONY: initrd image FORCE
FORCE:
initrd: $(INITRD_IMG)
image: $(DISK_IMG)
guest: initrd image

# tests/unit/initrd-repro.sh and image-layout.sh build their own copies; tests/guest/*.bats
# boot these.
test-deps: initrd image $(IMAGE_LAYOUT) $(BUILD)/asan/tests/test-image-layout
