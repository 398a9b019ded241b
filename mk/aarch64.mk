# The aarch64 guest, all under build/aarch64/ (the x86 build is untouched):
#   bin/kata-agent, bin/kata-init   static musl for arm64 (Debian's musl-dev:arm64 through its
#                                   aarch64-linux-musl-gcc wrapper around gcc-aarch64-linux-gnu)
#   vmlinuz.container               the arm64 Image (kernel/build.sh --arch aarch64, own cache)
#   kata-containers-initrd.img      rootfs-builder + image/mk-initrd.sh over those and
#                                   Debian's busybox-static:arm64
#   make guest-aarch64              all of it; tests/guest/aarch64.bats boots it under TCG
A64 := $(BUILD)/aarch64
CC_A64 ?= aarch64-linux-musl-gcc
OBJ_X := $(A64)/obj
SYSINC_A64 := $(A64)/sysinclude
objs_x = $(patsubst %.c,$(OBJ_X)/%.o,$(1))
# The same flags as the x86 release build, with arm64's kernel headers.
CPPFLAGS_A64 = $(subst -I$(SYSINC),-I$(SYSINC_A64),$(CPPFLAGS_ALL))

$(eval $(call sysinc_rule,$(SYSINC_A64),aarch64-linux-gnu))

# Generated protobuf-c sources (build/gen) are arch-neutral and shared with the x86 build.
$(OBJ_X)/%.o: %.c $(SYSINC_A64)/.stamp | protocol-gen
	@mkdir -p $(@D)
	$(CC_A64) $(CPPFLAGS_A64) $(CFLAGS_RELEASE) -MMD -MP -c $< -o $@

LIBPROTOCOL_X := $(A64)/lib/libprotocol.a
$(LIBPROTOCOL_X): $(call objs_x,$(PROTOCOL_SRCS) $(GEN_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && aarch64-linux-gnu-ar rcsD $@ $^

$(call objs_x,$(AGENT_SRCS)): CPPFLAGS_ALL += $(AGENT_DEFS)
$(call objs_x,$(AGENT_SRCS)): agent/agent.mk VERSION
$(call objs_x,agent/main.c init/main.c): $(GEN)/version.h
$(call objs_x,agent/linux/seccomp.c): $(GEN)/syscall-names.h

$(A64)/bin/kata-agent: $(call objs_x,$(AGENT_SRCS)) $(LIBPROTOCOL_X)
	@mkdir -p $(@D)
	$(CC_A64) $(LDFLAGS_RELEASE) $^ -o $@

$(A64)/bin/kata-init: $(call objs_x,init/main.c $(INIT_SRCS) $(INIT_COMMON_SRCS))
	@mkdir -p $(@D)
	$(CC_A64) $(LDFLAGS_RELEASE) $(INIT_LDFLAGS) $^ -o $@

# busybox-static:arm64 cannot be installed beside the amd64 one (same paths), so
# scripts/install-deps.sh downloads its .deb and this unpacks it. Its applet list comes from
# the installed amd64 busybox, which must be the same Debian version.
BUSYBOX_A64_DEB ?= $(lastword $(sort $(wildcard $(or $(KATA_CACHE_DIR),/var/cache/kata-guest)/debs/busybox-static_*_arm64.deb)))
BUSYBOX_A64 := $(A64)/busybox/bin/busybox
$(BUSYBOX_A64): $(BUSYBOX_A64_DEB)
	@[ -n "$<" ] || { echo "busybox-static:arm64 .deb not found: run scripts/install-deps.sh" >&2; exit 1; }
	@v=$$(dpkg-deb -f $< Version); h=$$(dpkg-query -W -f='$${Version}' busybox-static); \
	  [ "$$v" = "$$h" ] || { echo "$<: version $$v, installed amd64 busybox-static $$h: applet lists may differ" >&2; exit 1; }
	rm -rf $(A64)/busybox && dpkg-deb -x $< $(A64)/busybox
	@touch $@

ROOTFS_A64 := $(A64)/rootfs
$(A64)/rootfs.stamp: rootfs-builder/build-rootfs.sh rootfs-builder/busybox-rootfs.sh \
                     $(A64)/bin/kata-init $(A64)/bin/kata-agent $(BUSYBOX_A64)
	BUSYBOX_APPLETS_FROM=$(BUSYBOX_BIN) rootfs-builder/build-rootfs.sh $(ROOTFS_A64) \
	  $(A64)/bin/kata-init $(A64)/bin/kata-agent $(BUSYBOX_A64)
	@touch $@

$(A64)/kata-containers-initrd.img: $(A64)/rootfs.stamp image/mk-initrd.sh
	image/mk-initrd.sh $(ROOTFS_A64) $@

# nice: the arm64 build is an extra ~minutes of two shared cores.
.PHONY: kernel-aarch64 guest-aarch64
kernel-aarch64:
	@nice -n 19 kernel/build.sh --arch aarch64 --out $(A64)
$(A64)/vmlinuz.container: kernel-aarch64

guest-aarch64: $(A64)/vmlinuz.container $(A64)/kata-containers-initrd.img
test-deps: guest-aarch64

-include $(shell find $(A64)/obj -name '*.d' 2>/dev/null)
