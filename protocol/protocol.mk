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
