# `make bench`: each component appends its benchmark target to BENCH_TARGETS
# (BENCH_TARGETS += bench-foo) and defines it in its own file or below.
.PHONY: bench
BENCH_TARGETS ?=
bench: bins
	@scripts/install-deps.sh --bench
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t || echo "bench: $$t failed"; done

# Boot-to-init time of our guest kernel against Debian's stock kernel (bench/kernel-boot.sh).
BENCH_TARGETS += bench-kernel
.PHONY: bench-kernel
bench-kernel: kernel
	@bench/kernel-boot.sh

# kata-agent on the host: size, idle RSS, 100 containers against crun (bench/agent.sh).
BENCH_TARGETS += bench-agent
.PHONY: bench-agent
bench-agent: build/bin/kata-agent build/bin/agentctl
	@bench/agent.sh

# Boot to agent ready in Kata's default VM shape: image on NVDIMM vs initrd (and virtio-blk).
BENCH_TARGETS += bench-kata-shape
.PHONY: bench-kata-shape
bench-kata-shape: build/bin/agentctl kernel initrd image
	@bench/kata-shape.sh

# Disk hot-plug in Kata's VM shape: QMP device_add -> storage mounted (bench/hotplug.sh).
BENCH_TARGETS += bench-hotplug
.PHONY: bench-hotplug
bench-hotplug: kernel initrd build/bin/agentctl
	@bench/hotplug.sh

# Debian's containerd: `ctr run --rm IMG ID true` through our shim against containerd's runc
# shim, interleaved, and each shim's RSS with a task running (bench/containerd.sh). Without
# our shim built, runc alone ("missing" in our column).
BENCH_TARGETS += bench-containerd
.PHONY: bench-containerd
bench-containerd: bins guest
	@bench/containerd.sh

# Soak and back-pressure of the release agent (issue 11 item 5): 1000 create..remove cycles
# (fds, RSS growth), 200 concurrent execs, 1 GiB read slowly (every byte, RSS) (bench/soak.sh).
BENCH_TARGETS += bench-soak
.PHONY: bench-soak
bench-soak: build/bin/kata-agent build/bin/agentctl build/tests-bin/payload
	@bench/soak.sh
