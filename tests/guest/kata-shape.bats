#!/usr/bin/env bats
# Kata's default VM shape (kata-runtime-facts.md §1): the guest booted by QEMU exactly as the
# runtime starts it (tests/guest/lib/kata-vm.bash), in its three variants — the image as a
# read-only NVDIMM with DAX, the same image on virtio-blk (disable_image_nvdimm), and the
# initrd — each reached through the agent's API as the runtime would reach it. Real QEMU,
# TCG. One VM per variant, booted by the variant's first test and kept for its other tests.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load lib/kata-vm

BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}

setup_file() {
    kata_vm_test_env
    export VMS=$BATS_FILE_TMPDIR/vms
    mkdir -p "$VMS"
}

teardown_file() {
    local d
    for d in "$VMS"/*/; do
        [ -d "$d" ] && kata_vm_stop "$d"
    done
}

setup() {
    kata_vm_require vmlinux.container kata-containers.img kata-containers-initrd.img
}

teardown() {
    local d=$VMS/${VARIANT:-none}
    if [ -n "${VARIANT:-}" ] && [ -f "$d/console.log" ] && [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
        echo "# --- $VARIANT guest console ---" >&3
        tr -d '\r' <"$d/console.log" | tail -40 | sed 's/^/# /' >&3
        sed 's/^/# qemu: /' "$d/qemu.log" >&3 2>/dev/null
    fi
}

# vm VARIANT: the variant's VM, booted on first use (other variants' VMs are stopped first:
# two cores are shared by everything). Sets VARIANT and DIR.
vm() {
    VARIANT=$1
    DIR=$VMS/$1
    if [ -d "$DIR" ]; then
        [ -s "$DIR/qemu.exit" ] && fail "the $1 VM has exited (status $(cat "$DIR/qemu.exit"))"
        return 0
    fi
    local d
    for d in "$VMS"/*/; do
        [ -d "$d" ] && kata_vm_stop "$d"
    done
    mkdir -p "$DIR"
    kata_vm_start "$DIR" "$1" || fail "kata_vm_start $1 failed"
}

actl() {
    timeout -k 5 60 "$AGENTCTL" -a "unix://$DIR/agent.sock" -T 50 "$@"
}

# guest_sh CMD: runs CMD with sh in a container that shares the guest's pid namespace, so
# /proc/1/ is kata-init: its mounts and root are the guest's.
guest_sh() {
    actl run --id "sh-$RANDOM" --ns mount,ipc,uts --rootfs /opt/kata/rootfs -- /bin/sh -c "$1"
}

# One test per variant and property; the variants share the helpers below.
boots_to_agent() {
    vm "$1"
    kata_vm_wait_agent "$DIR" "$BOOT_TIMEOUT" || fail "the agent never answered Health.Check"
    run actl check
    assert_success
    assert_output --partial SERVING
    run actl run --id "hello-$1" --rootfs /opt/kata/rootfs -- /bin/echo "hello from $1"
    assert_success
    assert_output "hello from $1"
}

sees_runtime_cmdline() {
    vm "$1"
    run guest_sh 'cat /proc/cmdline; cat /sys/devices/system/cpu/possible /sys/devices/system/cpu/online'
    assert_success
    assert_line --index 0 "$(cat "$DIR/cmdline")"
    # nr_cpus=4 and -smp 1,...,maxcpus=4: four possible, one online.
    assert_line --index 1 0-3
    assert_line --index 2 0
}

console_on_hvc0() {
    vm "$1"
    # Only hvc0 exists (no 8250 under -nodefaults, hvc1 is named but absent): init's lines
    # must arrive there, and the log is what the console socket carried.
    run grep -c "kata-init: started agent /usr/bin/kata-agent" "$DIR/console.log"
    assert_output 1
    run guest_sh 'cat /proc/consoles'
    assert_success
    # The kernel's only console is hvc0: console=hvc1 matched nothing, and there is no 8250.
    assert_line --index 0 --regexp '^hvc0 +-W'
    [ ${#lines[@]} -eq 1 ] || fail "more consoles than hvc0: ${lines[*]}"
}

cgroup_v2_only() {
    vm "$1"
    # Mounted by init: cgroup2 and no v1 hierarchy; a process is in the unified hierarchy
    # only (one "0::" line, where v1 would add a line per controller hierarchy).
    run guest_sh 'cut -d" " -f3 /proc/1/mounts | grep -x "cgroup2\|cgroup"; cat /proc/self/cgroup'
    assert_success
    assert_line --index 0 cgroup2
    refute_line cgroup
    assert_line --index 1 --regexp '^0::/'
    [ ${#lines[@]} -eq 2 ] || fail "more than the v2 hierarchy: ${lines[*]}"
}

# root_is DEVICE OPTION_REGEX: the guest's / is DEVICE (by major:minor: /proc/mounts calls
# it /dev/root), ext4, read-only, with the options; a container whose rootfs lives on it
# cannot write there; init's and the agent's writes went to tmpfs.
root_is() {
    run guest_sh 'awk "\$5 == \"/\" {print \$3}" /proc/1/mountinfo; cat /sys/class/block/'"$1"'/dev
        awk "\$2 == \"/\" || \$2 == \"/run\" || \$2 == \"/tmp\"" /proc/1/mounts
        touch /kata-write-test 2>&1 || echo ROOT-NOT-WRITABLE'
    assert_success
    [ -n "${lines[0]}" ] && [ "${lines[0]}" = "${lines[1]}" ] ||
        fail "/ is on ${lines[0]}, $1 is ${lines[1]}"
    assert_line --regexp "^/dev/root / ext4 ro,$2"
    assert_line --regexp '^tmpfs /run tmpfs rw'
    assert_line --regexp '^tmpfs /tmp tmpfs rw'
    assert_line --partial 'Read-only file system'
    assert_line ROOT-NOT-WRITABLE
}

@test "nvdimm: boots to a serving agent and runs a container" {
    boots_to_agent nvdimm
}

@test "nvdimm: root is /dev/pmem0p1, read-only, mounted with DAX through the pfn device" {
    vm nvdimm
    root_is pmem0p1 '(.*,)?dax(=always)?( |,)'
    run guest_sh 'ls /sys/bus/nd/devices; cat /sys/block/pmem0/pmem0p1/start /sys/block/pmem0/pmem0p1/size'
    assert_success
    assert_line pfn0.0
    # p1 at 1 MiB of /dev/pmem0, which starts 2 MiB into the image (the pfn dataoff).
    assert_line --index "$((${#lines[@]} - 2))" 2048
}

@test "nvdimm: CreateSandbox as the runtime sends it works on the read-only root" {
    vm nvdimm
    # DNS lines (bound over /etc/resolv.conf from /run) and the ephemeral shm storage.
    run actl create-sandbox --id shape-sb --hostname shape-host --dns 'nameserver 192.0.2.53' \
        --storage 'ephemeral:shm:tmpfs:/run/kata-containers/sandbox/shm:noexec,nosuid,nodev,mode=1777,size=67108864'
    assert_success
    # mount point and file system type (the field after the "-" separator)
    run guest_sh 'awk "\$5 == \"/etc/resolv.conf\" || \$5 ~ /sandbox.shm\$/ {
        for (i = 7; i < NF; i++) if (\$i == \"-\") print \$5, \$(i + 1) }" /proc/1/mountinfo'
    assert_success
    assert_line "/etc/resolv.conf tmpfs"
    assert_line "/run/kata-containers/sandbox/shm tmpfs"
}

@test "nvdimm: containerd's Go ttrpc client runs a lifecycle through DIR/agent.sock unchanged" {
    local check=$KATA_BUILD/go/bin/agentcheck
    [ -x "$check" ] || skip "agentcheck not built (make test-deps)"
    vm nvdimm
    run timeout 60 "$check" "$DIR/agent.sock" /opt/kata/rootfs
    assert_success
    assert_line --index 0 1..9
    refute_output --partial 'not ok'
    run grep -c '^ok' <<<"$output"
    assert_output 9
}

@test "nvdimm: the guest sees the runtime's command line and CPU topology" {
    sees_runtime_cmdline nvdimm
}

@test "nvdimm: console output reaches hvc0, the only console" {
    console_on_hvc0 nvdimm
}

@test "nvdimm: cgroup v2 only" {
    cgroup_v2_only nvdimm
}

@test "blk: boots to a serving agent and runs a container" {
    boots_to_agent blk
}

@test "blk: root is /dev/vda1, read-only; p1 starts at 3 MiB behind the DAX header" {
    vm blk
    root_is vda1 ''
    run guest_sh 'cat /sys/block/vda/vda1/start'
    assert_success
    assert_output 6144
}

@test "blk: console output reaches hvc0, cgroup v2 only" {
    console_on_hvc0 blk
    cgroup_v2_only blk
}

@test "initrd: boots to a serving agent and runs a container" {
    boots_to_agent initrd
}

@test "initrd: the guest sees the runtime's initrd command line" {
    sees_runtime_cmdline initrd
    run cat "$DIR/cmdline"
    refute_output --partial root=
    refute_output --partial systemd.unit
}

@test "initrd: console output reaches hvc0, cgroup v2 only" {
    console_on_hvc0 initrd
    cgroup_v2_only initrd
}

@test "initrd: QMP answers; system_powerdown powers the guest off through kata-init" {
    vm initrd
    run kata_vm_qmp "$DIR" '{"execute":"query-status"}'
    assert_success
    assert_output --partial '"status": "running"'
    run kata_vm_qmp "$DIR" '{"execute":"no-such-command"}'
    assert_failure 1
    assert_output --partial '"error"'
    run kata_vm_qmp "$DIR" '{"execute":"system_powerdown"}'
    assert_success
    kata_vm_wait_exit "$DIR" 30 || fail "QEMU did not exit after the power button"
    run tr -d '\r' <"$DIR/console.log"
    assert_output --partial "kata-init: shutdown requested by power button"
    assert_output --partial "kata-init: powering off"
    refute_output --partial "Kernel panic"
}

@test "kata_vm_stop leaves nothing running" {
    local d pids=()
    for d in "$VMS"/*/; do
        [ -d "$d" ] || continue
        pids+=($(cat "$d/qemu.vmpid" "$d/relay.pid" "$d/qemu.wrapper.pid" 2>/dev/null))
        kata_vm_stop "$d"
    done
    [ ${#pids[@]} -gt 0 ] || fail "no VM was started"
    local p
    for p in "${pids[@]}"; do
        ! _kata_vm_alive "$p" || fail "pid $p still runs: $(tr '\0' ' ' <"/proc/$p/cmdline")"
    done
}
