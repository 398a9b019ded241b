# host-tools: the host library (lib/: VM launch, templates, the agent client, sandboxes), and
# the two programs on it: kata-host (the CLI) and the containerd shim.
HOST_LIB_SRCS := $(sort $(wildcard host-tools/lib/*.c))
HOST_CLI_SRCS := $(sort $(wildcard host-tools/kata-host/*.c))
HOST_MAIN := host-tools/kata-host/main.c
LIBKATAHOST_R := $(BUILD)/lib/release/libkatahost.a
LIBKATAHOST_A := $(BUILD)/lib/asan/libkatahost.a
$(call objs_r,$(HOST_LIB_SRCS) $(HOST_CLI_SRCS) host-tools/tests/%.c) \
$(call objs_a,$(HOST_LIB_SRCS) $(HOST_CLI_SRCS) host-tools/tests/%.c): CPPFLAGS_ALL += -Ihost-tools/lib

$(LIBKATAHOST_R): $(call objs_r,$(HOST_LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcsD $@ $^
$(LIBKATAHOST_A): $(call objs_a,$(HOST_LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcsD $@ $^
HOST_TEST_SRCS := $(sort $(wildcard host-tools/tests/test-host-*.c))
HOST_TESTS := $(patsubst host-tools/tests/%.c,$(BUILD)/asan/tests/%,$(HOST_TEST_SRCS))
HOST_TOOLS_A := $(BUILD)/asan/tools/fake-hvsock

BINS += $(BUILD)/bin/kata-host
# --version prints the version and commit (mk/version.mk).
$(call objs_r,$(HOST_MAIN)) $(call objs_a,$(HOST_MAIN)): $(GEN)/version.h

$(BUILD)/bin/kata-host: $(call objs_r,$(HOST_CLI_SRCS)) $(LIBKATAHOST_R) $(LIBPROTOCOL_R)
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $^ -lpthread -o $@

$(BUILD)/asan/bin/kata-host: $(call objs_a,$(HOST_CLI_SRCS)) $(LIBKATAHOST_A) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tests/test-host-%: $(call objs_a,host-tools/tests/test-host-%.c tests/tap.c) \
		$(LIBKATAHOST_A) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

# A stand-in for cloud-hypervisor's hybrid vsock socket (tests only).
$(BUILD)/asan/tools/fake-hvsock: $(call objs_a,host-tools/tests/fake-hvsock.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

.PHONY: host-tools host-tools-tests
host-tools: $(BUILD)/bin/kata-host $(BUILD)/asan/bin/kata-host
host-tools-tests: $(HOST_TESTS) $(HOST_TOOLS_A)
test-deps: host-tools host-tools-tests
# The guest suites boot the real kernel and initrd.
test-deps: bins guest

# `make bench`: kata-host wall time, agent-ready guest time, artifact sizes (bench/host.sh).
BENCH_TARGETS += bench-host
.PHONY: bench-host
bench-host: bins guest
	@bench/host.sh

# The containerd shim v2 (host-tools/shim/): one process per sandbox, on the same host library.
SHIM_MAIN := host-tools/shim/main.c
SHIM_SRCS := $(sort $(wildcard host-tools/shim/*.c))
SHIM_LIB_SRCS := $(filter-out $(SHIM_MAIN),$(SHIM_SRCS))
SHIM_TEST_SRCS := $(sort $(wildcard host-tools/tests/test-shim-*.c))
SHIM_TESTS := $(patsubst host-tools/tests/%.c,$(BUILD)/asan/tests/%,$(SHIM_TEST_SRCS))
SHIM_BIN := containerd-shim-kata-guest-v2
$(call objs_r,$(SHIM_SRCS)) $(call objs_a,$(SHIM_SRCS)): CPPFLAGS_ALL += -Ihost-tools/lib -Ihost-tools/shim
$(call objs_r,$(SHIM_SRCS)) $(call objs_a,$(SHIM_SRCS)): $(GEN)/version.h

$(BUILD)/bin/$(SHIM_BIN): $(call objs_r,$(SHIM_SRCS)) $(LIBKATAHOST_R) $(LIBPROTOCOL_R)
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $^ -lpthread -o $@
$(BUILD)/asan/bin/$(SHIM_BIN): $(call objs_a,$(SHIM_SRCS)) $(LIBKATAHOST_A) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
$(BUILD)/asan/tests/test-shim-%: $(call objs_a,host-tools/tests/test-shim-%.c tests/tap.c $(SHIM_LIB_SRCS)) \
		$(LIBKATAHOST_A) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
$(call objs_a,$(SHIM_TEST_SRCS)): CPPFLAGS_ALL += -Ihost-tools/shim

ifneq ($(wildcard $(SHIM_MAIN)),)
BINS += $(BUILD)/bin/$(SHIM_BIN)
host-tools: $(BUILD)/bin/$(SHIM_BIN) $(BUILD)/asan/bin/$(SHIM_BIN)
endif
host-tools-tests: $(SHIM_TESTS)

# Event publisher and metrics checks: shim-events-tool drives events.c and metrics.c for
# tests/unit/shim-events.sh (a private containerd) and for build/go/bin/shimcheck, which decodes
# what they produce with containerd's own Go types (GOPATH mode, Debian's packages, offline).
SHIM_EVENTS_TOOL := $(BUILD)/asan/tools/shim-events-tool
$(call objs_a,host-tools/tests/shim-events-tool.c): CPPFLAGS_ALL += -Ihost-tools/shim
$(SHIM_EVENTS_TOOL): $(call objs_a,host-tools/tests/shim-events-tool.c $(SHIM_LIB_SRCS)) \
		$(LIBKATAHOST_A) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/go/bin/shimcheck: tests/go/src/shimcheck/main.go
	@mkdir -p $(@D) $(BUILD)/go/cache
	cd tests/go/src/shimcheck && GO111MODULE=off GOFLAGS= GOPATH=$(CURDIR)/tests/go:/usr/share/gocode \
	  GOCACHE=$(CURDIR)/$(BUILD)/go/cache go build -o $(CURDIR)/$@ .

host-tools-tests: $(SHIM_EVENTS_TOOL) $(BUILD)/go/bin/shimcheck

# `make bench`: the warm VM pool against the template and a boot, and idle sandbox PSS
# (bench/pool.sh).
BENCH_TARGETS += bench-pool
.PHONY: bench-pool
bench-pool: bins guest
	@bench/pool.sh
