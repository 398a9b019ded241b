#!/usr/bin/env bats
# The aarch64 guest (mk/aarch64.mk): the cross-built static agent and init, the arm64 kernel
# and initrd from build/aarch64/, booted under qemu-system-aarch64 (virt, -cpu max, TCG) by
# tests/guest/lib/kata-vm.bash and by `kata-host run --arch aarch64`.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load lib/kata-vm
load helpers/kata-host

# A TCG-emulated arm64 guest boots in seconds, not the x86 guest's half second.
T=${KATA_HOST_TEST_TIMEOUT:-240}

setup_file() {
    kata_vm_test_env
    kh_setup_file kata-aarch64
    export A64=$KATA_BUILD/aarch64
    export KATA_VM_ARCH=aarch64
    # A host directory holding an arm64 busybox rootfs, for a container over 9p.
    if [ "$(id -u)" = 0 ] && [ -x "$A64/busybox/bin/busybox" ]; then
        BUSYBOX_APPLETS_FROM=/bin/busybox "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" \
            -b "$A64/busybox/bin/busybox" "$WORK/rootfs" >/dev/null
        echo "from-the-host" >"$WORK/rootfs/marker"
    fi
}

teardown_file() { kh_teardown_file; }

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 not installed (scripts/install-deps.sh)"
    local f
    for f in vmlinuz.container kata-containers-initrd.img bin/kata-agent bin/kata-init; do
        [ -f "$A64/$f" ] || skip "build/aarch64/$f not built (make guest-aarch64)"
    done
}

teardown() {
    [ -z "${VM:-}" ] && return 0
    kata_vm_stop "$VM"
    echo "# --- guest console ---" >&3
    tail -40 "$VM/console.log" 2>/dev/null | sed 's/^/# /' >&3
}

# The ELF machine of FILE, and whether it asks for a program interpreter.
elf_machine() { LC_ALL=C readelf -h "$1" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}'; }

@test "agent and init are static arm64 executables, the kernel an arm64 Image" {
    for b in kata-agent kata-init; do
        run elf_machine "$A64/bin/$b"
        assert_output AArch64
        run -0 readelf -l "$A64/bin/$b"
        refute_output --partial "program interpreter"
    done
    # arm64 Image header: "ARM\x64" at byte 56 (Documentation/arm64/booting.rst).
    run -0 bash -c "dd if='$A64/vmlinuz.container' bs=1 skip=56 count=4 status=none | od -An -c | tr -d ' '"
    assert_output 'ARMd'
    # The initrd holds the arm64 agent, init and busybox, not the x86 ones.
    run -0 bash -c "cd '$BATS_TEST_TMPDIR' && gzip -dc '$A64/kata-containers-initrd.img' | cpio -id --quiet && for f in init usr/bin/kata-agent bin/busybox; do readelf -h \$f | grep Machine:; done"
    assert_equal "$(grep -c AArch64 <<<"$output")" 3
}

@test "the guest boots under qemu-system-aarch64 and the agent answers Health.Check" {
    VM=$BATS_TEST_TMPDIR/vm
    mkdir -p "$VM"
    kata_vm_start "$VM" initrd
    run -0 grep -x -A1 -e -machine "$VM/qemu.args"
    assert_line virt
    run -0 grep -x -A1 -e -kernel "$VM/qemu.args"
    assert_line "$A64/vmlinuz.container"
    kata_vm_wait_agent "$VM" 180
    run -0 timeout 30 "$AGENTCTL" -a "unix://$VM/agent.sock" -T 20 check
}

@test "kata-host run --arch aarch64 -- uname -m prints aarch64 (a container in the arm64 guest)" {
    run kh run --arch aarch64 --name a64uname -- uname -m
    assert_success
    assert_output aarch64
    [ ! -e "$KATA_HOST_RUN_DIR/a64uname" ]
}

@test "kata-host --arch aarch64: the container's exit status and output come back" {
    run kh run --arch aarch64 -- sh -c 'grep -c "^processor" /proc/cpuinfo; cat /proc/sys/kernel/osrelease; exit 3'
    assert_failure 3
    assert_line 1
    assert_line --regexp '^[0-9.]+-kata$'
}

@test "kata-host --arch aarch64 --rootfs: a host arm64 rootfs shared into the guest" {
    [ -d "$WORK/rootfs" ] || skip "no arm64 busybox rootfs (make guest-aarch64)"
    run kh run --arch aarch64 --rootfs "$WORK/rootfs" -- sh -c 'cat /marker; uname -m'
    assert_success
    assert_line from-the-host
    assert_line aarch64
}

@test "kata-host --arch: bad values and unsupported combinations are refused" {
    run kh run --arch mips -- true
    assert_failure
    assert_output --partial "--arch 'mips' must be x86_64 or aarch64"
    run kh run --arch aarch64 --boot image -- true
    assert_failure
    assert_output --partial "initrd only"
    run kh run --arch aarch64 --hypervisor cloud-hypervisor -- true
    assert_failure
    assert_output --partial "QEMU only"
    run -0 kh run --arch aarch64 --dry-run -- true
    assert_output --regexp "qemu-system-aarch64 .*-machine virt .*-cpu max"
    assert_output --partial "console=ttyAMA0"
    refute_output --partial "nolapic_timer"
    refute_output --partial "qboot"
}

@test "arm64 kernel: the cached .config holds every requested option; a tampered copy is refused" {
    local build=$KATA_SRC/kernel/build.sh config
    config=$("$build" --arch aarch64 --print-config-path)
    run -0 "$build" --arch aarch64 --verify-config "$config"
    sed 's/^CONFIG_SERIAL_AMBA_PL011_CONSOLE=y$/# CONFIG_SERIAL_AMBA_PL011_CONSOLE is not set/' \
        "$config" >"$BATS_TEST_TMPDIR/config"
    run "$build" --arch aarch64 --verify-config "$BATS_TEST_TMPDIR/config"
    assert_failure
    assert_output --partial "CONFIG_SERIAL_AMBA_PL011_CONSOLE requested y"
}

@test "arm64 kernel: its own cache key, which a shared fragment changes too" {
    local build=$KATA_SRC/kernel/build.sh k64 k86
    k64=$("$build" --arch aarch64 --key-only)
    k86=$("$build" --key-only)
    [ "$k64" != "$k86" ]
    cp -r "$KATA_SRC/kernel/configs" "$BATS_TEST_TMPDIR/configs"
    run -0 "$build" --arch aarch64 --key-only --configs "$BATS_TEST_TMPDIR/configs/arm64"
    assert_output "$k64"
    echo 'CONFIG_9P_FS_SECURITY=y' >>"$BATS_TEST_TMPDIR/configs/9p.conf"
    run -0 "$build" --arch aarch64 --key-only --configs "$BATS_TEST_TMPDIR/configs/arm64"
    refute_output "$k64"
    echo 'nosuch.conf' >>"$BATS_TEST_TMPDIR/configs/arm64/common.list"
    run "$build" --arch aarch64 --key-only --configs "$BATS_TEST_TMPDIR/configs/arm64"
    assert_failure
    assert_output --partial "common.list names nosuch.conf"
}
