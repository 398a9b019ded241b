# kata-agent: the guest agent (release: static musl, stripped; asan: what the tests run).
AGENT_SRCS := $(wildcard agent/*.c) $(wildcard agent/linux/*.c)
AGENT_DEFS := -DAGENT_VERSION='"$(VERSION)"'

$(call objs_r,$(AGENT_SRCS)) $(call objs_a,$(AGENT_SRCS)): CPPFLAGS_ALL += $(AGENT_DEFS)
$(call objs_r,$(AGENT_SRCS)) $(call objs_a,$(AGENT_SRCS)): agent/agent.mk VERSION
# --version prints the commit too (mk/version.mk).
$(call objs_r,agent/main.c tests/tools/agentctl.c) $(call objs_a,agent/main.c tests/tools/agentctl.c): $(GEN)/version.h

build/bin/kata-agent: $(call objs_r,$(AGENT_SRCS)) $(LIBPROTOCOL_R)
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) $^ -o $@

build/asan/bin/kata-agent: $(call objs_a,$(AGENT_SRCS)) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

BINS += build/bin/kata-agent

# Test tools: the project's own low-level client and the static multi-call container payload.
build/asan/bin/agentctl: $(call objs_a,tests/tools/agentctl.c tests/tools/agentctl-net.c tests/tools/agentctl-files.c tests/tools/agentctl-hotplug.c tests/tools/agentctl-seccomp.c tests/tools/agentctl-soak.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@

build/bin/agentctl: $(call objs_r,tests/tools/agentctl.c tests/tools/agentctl-net.c tests/tools/agentctl-files.c tests/tools/agentctl-hotplug.c tests/tools/agentctl-seccomp.c tests/tools/agentctl-soak.c) $(LIBPROTOCOL_R)
	@mkdir -p $(@D)
	$(CC_RELEASE) $(LDFLAGS_RELEASE) -pthread $^ -o $@

build/tests-bin/payload: tests/tools/payload.c
	@mkdir -p $(@D)
	$(CC_RELEASE) -static -Os -std=c11 -D_GNU_SOURCE $(WARN) $< -o $@

.PHONY: agent agent-test-deps
agent: build/bin/kata-agent build/asan/bin/kata-agent
agent-test-deps: build/asan/bin/kata-agent build/asan/bin/agentctl build/bin/agentctl build/tests-bin/payload
test-deps: agent-test-deps

# Lifecycle through containerd's Go ttrpc client (GOPATH mode, offline, Debian packages).
build/go/bin/agentcheck: tests/go/src/agentcheck/main.go tests/go/src/rawmsg/rawmsg.go
	@mkdir -p $(@D) build/go/cache
	cd tests/go/src/agentcheck && GO111MODULE=off GOFLAGS= GOPATH=$(CURDIR)/tests/go:/usr/share/gocode \
	  GOCACHE=$(CURDIR)/build/go/cache go build -o $(CURDIR)/$@ .
agent-test-deps: build/go/bin/agentcheck

# C unit tests of the agent (TAP, run by tests/run from build/asan/tests/).
build/asan/tests/test-agent-config: $(call objs_a,tests/unit/test-agent-config.c tests/tap.c agent/config.c agent/config-file.c common/fsutil.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
agent-test-deps: build/asan/tests/test-agent-config

build/asan/tests/test-agent-netaddr: $(call objs_a,tests/unit/test-agent-netaddr.c tests/tap.c agent/netaddr.c)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
agent-test-deps: build/asan/tests/test-agent-netaddr

# The runtime's RPC sequence, replayed with containerd's Go ttrpc client and Go code generated
# from protocol/proto (protoc-gen-go, Debian protoc-gen-go) into build/go/src/katapb.
KATAPB_PROTOS := agent.proto oci.proto csi.proto health.proto types.proto
KATAPB_M := $(foreach f,agent oci csi health,--go_opt=M$(f).proto=katapb/grpc) --go_opt=Mtypes.proto=katapb/types \
  --go_opt=Mgoogle/protobuf/empty.proto=google.golang.org/protobuf/types/known/emptypb
build/go/src/katapb/.stamp: $(addprefix protocol/proto/,$(KATAPB_PROTOS))
	@rm -rf build/go/src/katapb && mkdir -p build/go/src
	protoc -I protocol/proto --go_out=build/go/src $(KATAPB_M) $(KATAPB_PROTOS)
	@touch $@
build/go/bin/seqdriver: tests/go/src/seqdriver/main.go build/go/src/katapb/.stamp
	@mkdir -p $(@D) build/go/cache
	cd tests/go/src/seqdriver && GO111MODULE=off GOFLAGS= GOPATH=$(CURDIR)/tests/go:$(CURDIR)/build/go:/usr/share/gocode \
	  GOCACHE=$(CURDIR)/build/go/cache go build -o $(CURDIR)/$@ .
agent-test-deps: build/go/bin/seqdriver

build/asan/tests/test-agent-spec-json: $(call objs_a,tests/unit/test-agent-spec-json.c tests/tap.c agent/spec-json.c agent/linux/json-out.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
agent-test-deps: build/asan/tests/test-agent-spec-json

build/asan/tests/test-agent-uevent: $(call objs_a,tests/unit/test-agent-uevent.c tests/tap.c agent/uevent.c) $(LIBPROTOCOL_A)
	@mkdir -p $(@D)
	$(CC_ASAN) $(LDFLAGS_ASAN) $^ -o $@
agent-test-deps: build/asan/tests/test-agent-uevent
