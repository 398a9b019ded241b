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

# ---------------------------------------------------------------- ttrpc tests
# test-ttrpc: codec + a real server thread driven by the C client and raw frames.
# ttrpc-testsrv / ttrpc-testcli + build/go/ttrpccheck: cross-check with containerd's Go ttrpc
# (tests/unit/ttrpc-go.sh). The Go program builds offline in GOPATH mode from Debian's packages.
TTRPC_TESTSVC := tests/tools/ttrpc-testsvc.c
TTRPC_TEST_OBJS := $(call objs_a,tests/unit/test-ttrpc.c tests/tools/ttrpc-testsrv.c \
                     tests/tools/ttrpc-testcli.c $(TTRPC_TESTSVC))
$(TTRPC_TEST_OBJS): CPPFLAGS_ALL += -Itests/tools

$(BUILD)/asan/tests/test-ttrpc: $(call objs_a,tests/unit/test-ttrpc.c $(TTRPC_TESTSVC)) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tools/ttrpc-testsrv: $(call objs_a,tests/tools/ttrpc-testsrv.c $(TTRPC_TESTSVC)) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/asan/tools/ttrpc-testcli: $(call objs_a,tests/tools/ttrpc-testcli.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

$(BUILD)/go/bin/ttrpccheck: tests/go/src/ttrpccheck/main.go
	@mkdir -p $(@D) $(BUILD)/go/cache
	cd tests/go/src/ttrpccheck && GO111MODULE=off GOFLAGS= GOPATH=$(CURDIR)/tests/go:/usr/share/gocode \
	  GOCACHE=$(CURDIR)/$(BUILD)/go/cache go build -o $(CURDIR)/$@ .

test-deps: $(BUILD)/asan/tests/test-ttrpc $(BUILD)/asan/tools/ttrpc-testsrv \
           $(BUILD)/asan/tools/ttrpc-testcli $(BUILD)/go/bin/ttrpccheck
