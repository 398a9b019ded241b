# libFuzzer targets (tests/fuzz/fuzz-*.c, one LLVMFuzzerTestOneInput each), built with clang
# (Debian clang-14 + libclang-rt-14-dev/libfuzzer-14-dev, from scripts/install-deps.sh) and
# -fsanitize=fuzzer,address,undefined into build/fuzz/. Seeds: tests/fuzz/corpus/<target>/.
#   make fuzz            each target FUZZ_RUNS executions (default 10 M), one at a time
#   tests/unit/fuzz.sh   (make check) each target for a short bounded time, TAP
FUZZ_CC ?= clang-14
OBJ_F := $(BUILD)/obj/fuzz
CFLAGS_FUZZ := $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined
LDFLAGS_FUZZ := -fsanitize=fuzzer,address,undefined

$(OBJ_F)/%.o: %.c $(SYSINC)/.stamp | protocol-gen
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_FUZZ) -MMD -MP -c $< -o $@
$(OBJ_F)/$(GEN)/%.o: $(GEN)/%.c $(SYSINC)/.stamp
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(CFLAGS_FUZZ) -c $< -o $@
objs_f = $(patsubst %.c,$(OBJ_F)/%.o,$(1))
$(call objs_f,$(AGENT_SRCS)): CPPFLAGS_ALL += $(AGENT_DEFS)
$(call objs_f,tests/tools/ttrpc-testsvc.c tests/fuzz/fuzz-ttrpc-frame.c): CPPFLAGS_ALL += -Itests/tools

FUZZ_PROTO := $(PROTOCOL_SRCS) $(GEN_SRCS)
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_SRCS_ttrpc-frame := tests/tools/ttrpc-testsvc.c $(FUZZ_PROTO)
FUZZ_SRCS_ttrpc-envelope := $(FUZZ_PROTO)
FUZZ_SRCS_agent-request := agent/validate.c agent/spec-json.c agent/netaddr.c $(LINUX_SRCS) $(FUZZ_PROTO)
FUZZ_SRCS_init-cmdline := init/cmdline.c common/error.c common/xalloc.c
FUZZ_SRCS_agent-cmdline := agent/config.c agent/config-file.c $(FUZZ_PROTO)
FUZZ_SRCS_agent-toml := agent/config.c agent/config-file.c $(FUZZ_PROTO)
FUZZ_SRCS_netlink-reply := agent/netlink.c agent/netdump.c agent/netaddr.c $(FUZZ_PROTO)
FUZZ_SRCS_path := $(LINUX_SRCS) $(FUZZ_PROTO)
FUZZ_SRCS_uevent := agent/uevent.c $(FUZZ_PROTO)
FUZZ_SRCS_oci-json := host-tools/lib/oci-json.c host-tools/lib/spec.c $(FUZZ_PROTO)
$(call objs_f,tests/fuzz/fuzz-oci-json.c host-tools/lib/oci-json.c host-tools/lib/spec.c): \
	CPPFLAGS_ALL += -Ihost-tools/lib
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(FUZZ_TARGETS))

define fuzz_target
$(BUILD)/fuzz/fuzz-$(1): $(call objs_f,tests/fuzz/fuzz-$(1).c $(FUZZ_SRCS_$(1)))
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(LDFLAGS_FUZZ) $$^ -lm -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

# The corpus generator encodes real messages with the project's own encoders.
$(BUILD)/asan/test-helpers/fuzz-corpus-gen: $(call objs_a,tests/fuzz/corpus-gen.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

.PHONY: fuzz fuzz-bins fuzz-corpus
fuzz-bins: $(FUZZ_BINS)
FUZZ_RUNS ?= 10000000
fuzz: fuzz-bins
	@FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh long
# Rewrites the generated seeds (committed; hand-made regression seeds are kept).
fuzz-corpus: $(BUILD)/asan/test-helpers/fuzz-corpus-gen
	$< tests/fuzz/corpus
test-deps: fuzz-bins
