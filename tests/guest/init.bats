#!/usr/bin/env bats
# kata-init as PID 1 of the real guest: the project's kernel and initrd booted under QEMU
# (q35, TCG, PVH entry). Most tests replace the agent with a small script from init-agents/
# (kata.agent=...), added to the real initrd as a second cpio archive (the kernel unpacks
# concatenated archives in order), so each behaviour of init can be provoked and its result
# read back from the serial console.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}

setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export KERNEL=$KATA_BUILD/vmlinux.container
    export INITRD=$KATA_BUILD/kata-containers-initrd.img
    export DISK=$KATA_BUILD/kata-containers.img
    export QEMU=${QEMU:-qemu-system-x86_64}
    if ! command -v "$QEMU" >/dev/null; then
        export SKIP_REASON="$QEMU not installed"
        return 0
    fi
    # The kernel build is cached outside the checkout, so this is quick after the first time.
    [ -f "$KERNEL" ] || make -C "$KATA_SRC" --no-print-directory kernel >&2
    [ -f "$INITRD" ] && [ -f "$DISK" ] || make -C "$KATA_SRC" --no-print-directory initrd image >&2
    [ -f "$KERNEL" ] && [ -f "$INITRD" ] && [ -f "$DISK" ]

    local overlay=$BATS_FILE_TMPDIR/overlay
    mkdir -p "$overlay/test"
    install -m 0755 "$BATS_TEST_DIRNAME"/init-agents/*.sh "$overlay/test/"
    (cd "$overlay" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio --create --format=newc --owner=0:0 --quiet) | gzip -n >"$BATS_FILE_TMPDIR/overlay.gz"
    cat "$INITRD" "$BATS_FILE_TMPDIR/overlay.gz" >"$BATS_FILE_TMPDIR/test-initrd.img"
    export TEST_INITRD=$BATS_FILE_TMPDIR/test-initrd.img
}

setup() {
    [ -z "${SKIP_REASON:-}" ] || skip "$SKIP_REASON"
    CONSOLE=$BATS_TEST_TMPDIR/console.log
    MONITOR=$BATS_TEST_TMPDIR/monitor.sock
    CHANNEL=$BATS_TEST_TMPDIR/channel.sock
}

teardown() {
    # QEMU_PID is timeout(1), which passes a TERM on to QEMU; a KILL would orphan QEMU.
    if [ -n "${QEMU_PID:-}" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
        pkill -KILL -P "$QEMU_PID" 2>/dev/null || true
        kill -9 "$QEMU_PID" 2>/dev/null || true
    fi
    if [ -f "${CONSOLE:-}" ]; then
        echo "# --- guest console ---" >&3
        sed 's/^/# /' "$CONSOLE" | tail -60 >&3
    fi
}

# qemu_args APPEND [INITRD]: the common command line. q35 with PVH entry and nolapic_timer is
# the fast and reliable TCG combination (guest-build.md §4); -no-reboot makes a reboot or a
# panic end QEMU too, so the console tells which one happened.
qemu_args() {
    QEMU_ARGS=(-accel tcg -machine q35 -m 256 -smp 1 -nodefaults -no-reboot
        -display none -kernel "$KERNEL" -initrd "${2:-$TEST_INITRD}"
        -append "console=ttyS0 quiet panic=1 nolapic_timer $1"
        -serial "file:$CONSOLE"
        -monitor "unix:$MONITOR,server=on,wait=off"
        -device virtio-serial-pci
        -chardev "socket,path=$CHANNEL,server=on,wait=off,id=agent0"
        -device "virtserialport,chardev=agent0,name=agent.channel.0")
}

# boot APPEND [EXTRA QEMU ARGS...]: boots and waits for QEMU to exit by itself; fails when it
# does not within BOOT_TIMEOUT. Sets ELAPSED (seconds) and QEMU_STATUS.
boot() {
    qemu_args "$1"
    shift
    local start=$SECONDS
    run timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" "$@"
    QEMU_STATUS=$status
    ELAPSED=$((SECONDS - start))
    [ "$QEMU_STATUS" -ne 124 ] || fail "QEMU did not exit within ${BOOT_TIMEOUT}s (guest hung)"
}

# start APPEND [EXTRA QEMU ARGS...]: boots in the background (QEMU_PID).
start() {
    qemu_args "$1"
    shift
    timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" "$@" &
    QEMU_PID=$!
}

# wait_console TEXT [SECONDS]: waits until the console shows TEXT (fixed string).
wait_console() {
    local deadline=$((SECONDS + ${2:-60}))
    while [ $SECONDS -lt $deadline ]; do
        grep -qF -- "$1" "$CONSOLE" 2>/dev/null && return 0
        kill -0 "$QEMU_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -qF -- "$1" "$CONSOLE" 2>/dev/null || fail "console never showed: $1"
}

# wait_exit SECONDS: waits for the background QEMU to end by itself.
wait_exit() {
    local deadline=$((SECONDS + $1))
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "QEMU still running ${1}s after the request"
        sleep 0.1
    done
    wait "$QEMU_PID" || true
    QEMU_PID=
}

monitor() {
    echo "$1" | socat - "UNIX-CONNECT:$MONITOR" >/dev/null
}

console() {
    tr -d '\r' <"$CONSOLE"
}

# The guest powered off (ACPI S5) rather than panicking or rebooting.
assert_powered_off() {
    run console
    assert_output --partial "kata-init: powering off"
    assert_output --partial "reboot: Power down"
    refute_output --partial "Kernel panic"
}

@test "init reports the agent's exit status and powers off at once" {
    boot "kata.agent=/bin/false"
    run console
    assert_output --partial "kata-init: started agent /bin/false (pid "
    assert_output --regexp "kata-init: started at boottime [0-9]+\.[0-9]{6} s"
    assert_output --partial "kata-init: agent exited with status 1"
    assert_powered_off
    # The host must see a dead agent promptly: well under the boot timeout.
    [ "$ELAPSED" -lt 30 ] || fail "power-off took ${ELAPSED}s"
}

@test "init reports an agent killed by a signal" {
    boot "kata.agent=/test/kill9.sh"
    run console
    assert_output --partial "AGENT-KILLING-ITSELF"
    assert_output --partial "kata-init: agent killed by signal 9 (SIGKILL)"
    assert_powered_off
}

@test "an agent that cannot be executed: init says why and powers off" {
    boot "kata.agent=/no/such/agent"
    run console
    assert_output --partial "kata-init: error: start agent /no/such/agent: No such file or directory; powering off"
    assert_output --partial "reboot: Power down"
    refute_output --partial "Kernel panic"
}

@test "init mounts, cgroup v2 controllers, /dev/ptmx, loopback and host name are set up" {
    boot 'kata.agent="/bin/sh /test/setup.sh two args"'
    run console
    assert_output --partial "kata-init: agent exited with status 0"
    assert_powered_off
    assert_line --regexp '^CHECK proc=proc .*nosuid,nodev,noexec'
    assert_line --regexp '^CHECK sys=sysfs .*nosuid,nodev,noexec'
    assert_line --regexp '^CHECK dev=devtmpfs '
    assert_line --regexp '^CHECK pts=devpts .*ptmxmode=666'
    assert_line --regexp '^CHECK shm=tmpfs .*nosuid,nodev'
    assert_line --regexp '^CHECK run=tmpfs .*nosuid,nodev'
    assert_line --regexp '^CHECK tmp=tmpfs .*nosuid,nodev'
    assert_line --regexp '^CHECK cgroup=cgroup2 .*nsdelegate'
    # Every available controller enabled for child cgroups.
    local controllers subtree
    controllers=$(console | sed -n 's/^CHECK controllers=//p')
    subtree=$(console | sed -n 's/^CHECK subtree=//p')
    [ -n "$controllers" ] || fail "no cgroup controllers reported"
    assert_equal "$subtree" "$controllers"
    assert_line "CHECK ptmx=pts/ptmx"
    # IFF_UP | IFF_LOOPBACK (| IFF_RUNNING); 0x8 alone would be a loopback that is down.
    assert_line --regexp '^CHECK lo=0x(9|49)$'
    assert_line "CHECK hostname=kata-guest"
    assert_line "CHECK path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert_line "CHECK stdout=/dev/console"
    assert_line "CHECK ppid=1"
    # init blocks every signal for itself; the agent must start with none blocked.
    assert_line "CHECK sigblk=0000000000000000"
    assert_line "CHECK args=2:two args"
    assert_line "CHECK root=child rootfs"
    assert_line "CHECK pivot=ok"
}

@test "deferred setup: the agent starts first; init finishes after its READY, then closes the pair" {
    boot 'kata.agent="/bin/sh /test/deferred.sh handshake" kata.init_defer_setup=1'
    run console
    assert_output --partial "kata-init: agent exited with status 0"
    assert_powered_off
    assert_line "CHECK fd=3"
    # What the agent needs is there; what only containers need is not, while init waits.
    assert_line "CHECK before_run=tmpfs"
    assert_line "CHECK before_cgroup="
    assert_line "CHECK before_pts="
    assert_line --regexp '^CHECK before_lo=0x8$'
    refute_line "CHECK before_hostname=kata-guest"
    assert_line "CHECK eof=yes"
    assert_line "CHECK after_cgroup=cgroup2"
    assert_line --regexp '^CHECK after_lo=0x(9|49)$'
    assert_line "CHECK after_hostname=kata-guest"
    assert_line "CHECK after_ptmx=pts/ptmx"
    assert_line "CHECK after_pts=devpts"
    refute_output --partial "did not report ready"
}

@test "deferred setup: an agent that never reports ready gets the setup after init's timeout" {
    boot 'kata.agent="/bin/sh /test/deferred.sh silent" kata.init_defer_setup=1'
    run console
    assert_output --partial "kata-init: agent exited with status 0"
    assert_output --partial "kata-init: warning: the agent did not report ready within 2 s; finishing the setup anyway"
    assert_line "CHECK before_cgroup="
    assert_line "CHECK after_cgroup=cgroup2"
    assert_line "CHECK after_hostname=kata-guest"
}

@test "systemd.unified_cgroup_hierarchy=0 gives per-controller v1 hierarchies" {
    boot "kata.agent=/test/cgroup-v1.sh systemd.unified_cgroup_hierarchy=0"
    run console
    assert_output --partial "kata-init: agent exited with status 0"
    assert_line --regexp '^CHECK root=tmpfs ro,'
    for c in cpu cpuacct cpuset memory pids devices freezer blkio; do
        assert_line "CHECK v1_$c=cgroup"
    done
    assert_line "CHECK cgroup2=0"
    assert_line "CHECK root_writable=no"
}

@test "init adopts and reaps orphans" {
    boot "kata.agent=/test/reap.sh"
    run console
    assert_line --regexp '^REAP adopted=(2[0-9]|[3-9][0-9]) zombies=0$'
    assert_output --partial "kata-init: agent exited with status 0"
    assert_powered_off
}

@test "SIGTERM to init: the agent is told with SIGTERM, then power-off" {
    boot "kata.agent=\"/test/told.sh TERM\""
    run console
    assert_output --partial "kata-init: shutdown requested by signal: stopping the agent for power-off"
    assert_output --partial "AGENT-GOT-SIGTERM"
    assert_output --partial "kata-init: agent exited with status 0"
    assert_powered_off
}

@test "SIGINT (what Ctrl-Alt-Del sends once disabled in the kernel) powers off cleanly" {
    boot "kata.agent=\"/test/told.sh INT\""
    run console
    assert_output --partial "kata-init: shutdown requested by Ctrl-Alt-Del: stopping the agent for power-off"
    assert_output --partial "AGENT-GOT-SIGTERM"
    assert_powered_off
}

@test "an agent that ignores SIGTERM is killed after the grace period" {
    boot "kata.agent=/test/stubborn.sh"
    run console
    assert_output --partial "kata-init: warning: agent did not stop within 2 s; killing everything"
    assert_output --partial "kata-init: agent killed by signal 9 (SIGKILL)"
    assert_powered_off
}

@test "the real agent starts; system_powerdown (ACPI power button) shuts down cleanly" {
    [ -x "$KATA_BUILD/bin/kata-agent" ] || fail "kata-agent not built"
    start "kata.init_debug=1"
    wait_console "kata-init: started agent /usr/bin/kata-agent (pid "
    # The agent logs JSON lines on the console; its ready line means it is serving.
    wait_console '"agent ready'
    # init watches the power buttons once the agent is serving (a press before is lost).
    wait_console "setup for containers done"
    run console
    refute_output --partial "warning:"
    local asked=$SECONDS
    monitor system_powerdown
    wait_exit 30
    run console
    assert_output --partial "kata-init: shutdown requested by power button: stopping the agent for power-off"
    assert_output --regexp "kata-init: agent (exited with status|killed by signal)"
    assert_powered_off
    # This VM has the virtio-serial port and no vsock device: the agent serves the port only.
    assert_output --partial "serving virtio-serial port /dev/vport"
    assert_output --partial "no vsock device: not listening on vsock://"
    echo "# power-off $((SECONDS - asked))s after system_powerdown" >&3
}

@test "the ext4 disk image boots with kata-init as /sbin/init" {
    local disk=$BATS_TEST_TMPDIR/disk.img
    cp --sparse=always "$DISK" "$disk"
    # p1 of Kata's image layout, here mounted rw (tests/guest/kata-shape.bats boots it as the
    # runtime does: read-only).
    qemu_args "root=/dev/vda1 rootfstype=ext4 rw"
    # Same command line, minus the initrd.
    local args=() skip_next=0
    for a in "${QEMU_ARGS[@]}"; do
        if [ $skip_next = 1 ]; then skip_next=0; continue; fi
        if [ "$a" = -initrd ]; then skip_next=1; continue; fi
        args+=("$a")
    done
    timeout -k 5 "$BOOT_TIMEOUT" "$QEMU" "${args[@]}" \
        -drive "file=$disk,if=none,id=disk0,format=raw" -device virtio-blk-pci,drive=disk0 &
    QEMU_PID=$!
    wait_console "kata-init: started agent /usr/bin/kata-agent (pid "
    wait_console '"agent ready'
    monitor system_powerdown
    wait_exit 30
    run console
    assert_output --partial "kata-init: shutdown requested by power button"
    assert_powered_off
    # Mounted rw, ext4 sets needs_recovery until the journal is closed; init unmounting /
    # (remounting it read-only) before the power-off clears it. A VM killed instead keeps it.
    run dumpe2fs -h "$disk?offset=$((3 << 20))"
    assert_output --regexp "Filesystem state: +clean"
    assert_line --regexp "^Filesystem features: .*has_journal"
    refute_line --regexp "^Filesystem features: .*needs_recovery"
}
