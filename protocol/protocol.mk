# The protocol library: generated protobuf-c code for our .proto files, our protobuf-c
# compatible runtime (protocol/pbrt), ttRPC (protocol/ttrpc) and common/. One static library
# per build flavour, linked by the agent, kata-host and the tests.
PROTOS := $(shell find protocol/proto -name '*.proto' | sort)
GEN_SRCS := $(patsubst protocol/proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS))
GEN_HDRS := $(GEN_SRCS:.c=.h)
PROTOCOL_SRCS := $(COMMON_SRCS) $(wildcard protocol/pbrt/*.c) $(wildcard protocol/ttrpc/*.c) $(wildcard protocol/*.c)

LIBPROTOCOL_R := $(BUILD)/lib/release/libprotocol.a
LIBPROTOCOL_A := $(BUILD)/lib/asan/libprotocol.a

$(GEN)/.stamp: $(PROTOS)
	@mkdir -p $(GEN)
	protoc-c --proto_path=protocol/proto --c_out=$(GEN) $(PROTOS:protocol/proto/%=%)
	@touch $@

.PHONY: protocol-gen
protocol-gen: $(GEN)/.stamp
$(GEN_SRCS) $(GEN_HDRS): $(GEN)/.stamp

$(LIBPROTOCOL_R): $(call objs_r,$(PROTOCOL_SRCS)) $(call objs_r,$(GEN_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcsD $@ $^
$(LIBPROTOCOL_A): $(call objs_a,$(PROTOCOL_SRCS)) $(call objs_a,$(GEN_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcsD $@ $^

# ---- pbrt tests -----------------------------------------------------------------------------
# The test schema (tests/unit/pbrt-test*.proto) is generated into build/gen-test so it never
# enters the library. test-pbrt runs pbrt alone; the cross-check links one program twice,
# with pbrt and with Debian's libprotobuf-c (separately: their symbols collide), and
# tests/unit/pbrt-crosscheck.sh compares the two.
GEN_TEST := $(BUILD)/gen-test
PBRT_SRCS := $(wildcard protocol/pbrt/*.c)
PBRT_TEST_PROTOS := tests/unit/pbrt-test.proto tests/unit/pbrt-test2.proto
PBRT_TEST_GEN := $(patsubst tests/unit/%.proto,$(GEN_TEST)/%.pb-c.c,$(PBRT_TEST_PROTOS))
PBRT_REF_LIB := /usr/lib/x86_64-linux-gnu/libprotobuf-c.a
PBRT_SAMPLE_DEFS := $(if $(wildcard protocol/proto/agent.proto),-DPBRT_HAVE_AGENT_PROTO)
PBRT_TEST_OBJS := $(call objs_a,tests/unit/pbrt-samples.c $(PBRT_TEST_GEN)) \
                  $(if $(PBRT_SAMPLE_DEFS),$(call objs_a,$(GEN_SRCS)))

$(GEN_TEST)/.stamp: $(PBRT_TEST_PROTOS)
	@mkdir -p $(GEN_TEST)
	protoc-c --proto_path=tests/unit --c_out=$(GEN_TEST) $(PBRT_TEST_PROTOS:tests/unit/%=%)
	@touch $@
$(PBRT_TEST_GEN) $(PBRT_TEST_GEN:.c=.h): $(GEN_TEST)/.stamp

$(call objs_a,tests/unit/test-pbrt.c tests/unit/pbrt-samples.c tests/unit/pbrt-xcheck.c): \
	CPPFLAGS_ALL += -I$(GEN_TEST) $(PBRT_SAMPLE_DEFS)
$(call objs_a,tests/unit/test-pbrt.c tests/unit/pbrt-samples.c tests/unit/pbrt-xcheck.c): \
	$(GEN_TEST)/.stamp
$(call objs_a,$(PBRT_TEST_GEN)): CPPFLAGS_ALL += -I$(GEN_TEST)

$(BUILD)/asan/tests/test-pbrt: $(call objs_a,tests/unit/test-pbrt.c tests/tap.c $(PBRT_SRCS)) $(PBRT_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -lm -o $@
$(BUILD)/asan/test-helpers/pbrt-xcheck-ours: $(call objs_a,tests/unit/pbrt-xcheck.c $(PBRT_SRCS)) \
	$(PBRT_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -lm -o $@
$(BUILD)/asan/test-helpers/pbrt-xcheck-ref: $(call objs_a,tests/unit/pbrt-xcheck.c) $(PBRT_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ $(PBRT_REF_LIB) -lm -o $@

test-deps: $(BUILD)/asan/tests/test-pbrt $(BUILD)/asan/test-helpers/pbrt-xcheck-ours \
	$(BUILD)/asan/test-helpers/pbrt-xcheck-ref

# ---------------------------------------------------------------- ttrpc tests
# test-ttrpc: codec + a real server thread driven by the C client and raw frames.
# ttrpc-testsrv / ttrpc-testcli + build/go/ttrpccheck: cross-check with containerd's Go ttrpc
# (tests/unit/ttrpc-go.sh). The Go program builds offline in GOPATH mode from Debian's packages.
TTRPC_TESTSVC := tests/tools/ttrpc-testsvc.c
TTRPC_TEST_OBJS := $(call objs_a,tests/unit/test-ttrpc.c tests/tools/ttrpc-testsrv.c \
                     tests/tools/ttrpc-testcli.c $(TTRPC_TESTSVC))
$(TTRPC_TEST_OBJS): CPPFLAGS_ALL += -Itests/tools

$(BUILD)/asan/tests/test-ttrpc: $(call objs_a,tests/unit/test-ttrpc.c tests/tap.c $(TTRPC_TESTSVC)) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tools/ttrpc-testsrv: $(call objs_a,tests/tools/ttrpc-testsrv.c $(TTRPC_TESTSVC)) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tools/ttrpc-testcli: $(call objs_a,tests/tools/ttrpc-testcli.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/go/bin/ttrpccheck: tests/go/src/ttrpccheck/main.go tests/go/src/rawmsg/rawmsg.go
	@mkdir -p $(@D) $(BUILD)/go/cache
	cd tests/go/src/ttrpccheck && GO111MODULE=off GOFLAGS= GOPATH=$(CURDIR)/tests/go:/usr/share/gocode \
	  GOCACHE=$(CURDIR)/$(BUILD)/go/cache go build -o $(CURDIR)/$@ .

test-deps: $(BUILD)/asan/tests/test-ttrpc $(BUILD)/asan/tools/ttrpc-testsrv \
           $(BUILD)/asan/tools/ttrpc-testcli $(BUILD)/go/bin/ttrpccheck

# Optional: a libFuzzer target, built when clang is installed (not a project dependency);
# tests/unit/pbrt-fuzz.sh runs a bounded session or reports a skip.
PBRT_CLANG := $(shell command -v clang 2>/dev/null)
.PHONY: fuzz-pbrt
fuzz-pbrt: $(BUILD)/fuzz/fuzz-pbrt
$(BUILD)/fuzz/fuzz-pbrt: tests/unit/fuzz-pbrt.c tests/unit/pbrt-samples.c $(PBRT_SRCS) $(PBRT_TEST_GEN) \
	$(if $(PBRT_SAMPLE_DEFS),$(GEN_SRCS)) | $(SYSINC)/.stamp
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) -I$(GEN_TEST) $(PBRT_SAMPLE_DEFS) -g -O1 -fsanitize=fuzzer,address,undefined \
		$(filter %.c,$^) -lm -o $@
ifneq ($(PBRT_CLANG),)
test-deps: $(BUILD)/fuzz/fuzz-pbrt
endif
