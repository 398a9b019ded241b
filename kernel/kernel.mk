# kernel: the guest kernel, built by kernel/build.sh from kernel/configs/*.conf and cached
# outside the checkout (${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel/<key>/). The script
# always runs: it decides hit or miss itself, and on a hit only copies changed files.
KERNEL_OUTPUTS := $(BUILD)/vmlinux.container $(BUILD)/vmlinuz.container
GUEST_FILES += $(KERNEL_OUTPUTS)

.PHONY: kernel guest
kernel:
	@kernel/build.sh --out $(BUILD)
	@kernel/prune-cache.sh $(BUILD)

$(KERNEL_OUTPUTS): kernel

guest: kernel

# tests/unit/kernel-config.sh checks the built .config of the current key.
test-deps: kernel
