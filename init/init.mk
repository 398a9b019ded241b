# init: kata-init, the guest's PID 1. It links only the common/ pieces it uses (errors,
# allocation, the epoll loop, file helpers), not the protocol library, to stay small.
INIT_SRCS := init/agent.c init/cgroups.c init/cmdline.c init/console.c \
             init/mounts.c init/net.c init/powerbutton.c init/root.c init/setup.c init/shutdown.c \
             init/status.c
INIT_COMMON_SRCS := common/error.c common/xalloc.c common/loop.c common/fsutil.c
INIT_TESTS := $(patsubst init/tests/%.c,$(BUILD)/asan/tests/%,$(wildcard init/tests/test-init-*.c))

# The default (separate-code) layout page-aligns the text segment: several KB of padding in a
# binary this small.
INIT_LDFLAGS := -Wl,-z,noseparate-code -Wl,--build-id=none

BINS += $(BUILD)/bin/kata-init
# --version prints the version and commit (mk/version.mk).
$(call objs_r,init/main.c) $(call objs_a,init/main.c): $(GEN)/version.h

$(BUILD)/bin/kata-init: $(call objs_r,init/main.c $(INIT_SRCS) $(INIT_COMMON_SRCS))
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $(INIT_LDFLAGS) $^ -o $@

$(BUILD)/asan/bin/kata-init: $(call objs_a,init/main.c $(INIT_SRCS) $(INIT_COMMON_SRCS))
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tests/test-init-%: $(call objs_a,init/tests/test-init-%.c tests/tap.c $(INIT_SRCS) \
                                  $(INIT_COMMON_SRCS))
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

.PHONY: init init-tests
init: $(BUILD)/bin/kata-init
init-tests: $(INIT_TESTS) $(BUILD)/asan/bin/kata-init
test-deps: init-tests
