#!/usr/bin/env bats
# kata-host booting the real guest (our kernel + initrd, agent inside) under QEMU/TCG:
# the user's view. Every kata-host call runs under `timeout`, so a hang fails the test.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load helpers/kata-host

setup_file() {
    kh_setup_file kata-host-guest
    # VM templates of this file only (the first run builds one; later runs start from it).
    export KATA_HOST_TEMPLATE_DIR=$WORK/templates
    if [ "$(id -u)" = 0 ] && [ -x "$KH" ]; then
        "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$WORK/rootfs" >/dev/null
        echo "from-the-host" >"$WORK/rootfs/marker"
    fi
}

teardown_file() { kh_teardown_file; }
setup() { kh_setup; }

# No QEMU or virtiofsd of a sandbox named $1 is left, and its run dir is gone.
assert_nothing_left() {
    local name=$1
    ! pgrep -f -- "-name $name " >/dev/null || { pgrep -af -- "-name $name " >&2; return 1; }
    ! pgrep -f -- "$KATA_HOST_RUN_DIR/$name/" >/dev/null || { pgrep -af -- "$KATA_HOST_RUN_DIR/$name/" >&2; return 1; }
    [ ! -e "$KATA_HOST_RUN_DIR/$name" ] || { ls -la "$KATA_HOST_RUN_DIR/$name" >&2; return 1; }
}

wait_running() {
    for _ in $(seq 600); do
        kh ps -q | grep -qx "$1" && return 0
        sleep 0.1
    done
    return 1
}

@test "kata-host run -- uname -a prints the guest kernel" {
    run kh run --name uname1 -- uname -a
    assert_success
    assert_output --regexp "^Linux uname1 [0-9.]+-kata "
    assert_nothing_left uname1
}

@test "--boot image: the root is Kata's image on a read-only NVDIMM with DAX (default: initrd)" {
    [ -f "$KATA_BUILD/kata-containers.img" ] || skip "guest image not built (make image)"
    run kh run --boot image -- sh -c 'grep " / " /proc/mounts; ls /sys/block; touch /x 2>&1; exit 7'
    assert_failure 7
    assert_line --regexp '^/dev/root / ext4 ro,.*dax'
    assert_line pmem0
    assert_line --partial 'Read-only file system'
    run kh run --boot image-blk -- sh -c 'grep " / " /proc/mounts; cat /sys/block/vda/vda1/start'
    assert_success
    assert_line --regexp '^/dev/root / ext4 ro,'
    refute_output --partial dax
    assert_line 6144
    # The default stays the initrd: a writable root, no disk.
    run kh run -- sh -c 'grep -c " / ext4 " /proc/mounts; ls /sys/block'
    assert_line --index 0 0
    refute_output --partial pmem0
}

@test "exit status: 0, 3, 127 not found, 126 not executable" {
    run -0 kh run -- true
    run -3 kh run -- sh -c 'exit 3'
    run -127 kh run -- /no/such/command
    assert_output --partial "kata-host:"
    run -126 kh run -- /etc/passwd
}

@test "stdin, stdout and stderr are byte-exact (1 MiB binary through cat)" {
    head -c 1048576 /dev/urandom >"$WORK/blob"
    want=$(sha256sum <"$WORK/blob" | cut -d' ' -f1)
    got=$(timeout "$T" "$KH" run -i -- cat <"$WORK/blob" | sha256sum | cut -d' ' -f1)
    assert_equal "$got" "$want"
    run bash -c "timeout $T '$KH' run -- sh -c 'echo to-out; echo to-err >&2' 2>'$WORK/err'"
    assert_success
    assert_output "to-out"
    assert_equal "$(cat "$WORK/err")" "to-err"
    # binary output produced in the guest arrives intact
    head -c 262144 /dev/urandom >"$WORK/rootfs/rand.bin"
    want=$(sha256sum <"$WORK/rootfs/rand.bin" | cut -d' ' -f1)
    got=$(timeout "$T" "$KH" run --rootfs "$WORK/rootfs" --share 9p -- cat /rand.bin | sha256sum | cut -d' ' -f1)
    assert_equal "$got" "$want"
}

@test "-t gives the command a terminal of the host's size" {
    command -v script >/dev/null || skip "script(1) not installed"
    run timeout "$T" script -qec "stty rows 33 cols 101; '$KH' run -t -- sh -c 'tty; stty size'" /dev/null
    assert_success
    assert_output --regexp "/dev/pts/[0-9]+"
    assert_output --partial "33 101"
}

@test "-it: an interactive shell on a terminal; the host terminal is restored" {
    command -v script >/dev/null || skip "script(1) not installed"
    run bash -c "printf 'echo hi-\$((1+1))\nexit 5\n' | timeout $T script -qec \"stty -g >'$WORK/tty.before'; '$KH' run -it -- sh; echo rc=\\\$?; stty -g >'$WORK/tty.after'\" /dev/null | tr -d '\r'"
    assert_line "hi-2"
    assert_line "rc=5"
    cmp "$WORK/tty.before" "$WORK/tty.after"
}

@test "-it: a terminal resize reaches the container (SIGWINCH -> TtyWinResize)" {
    run timeout "$T" /usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/winch.py" "$KH" run -it -- sh
    assert_success
    assert_line "20 70"
    assert_line "40 120"
}

@test "-e, -w and -u reach the process" {
    run kh run -e FOO=bar -w /tmp -u 1000:1000 -- sh -c 'echo $FOO; pwd; id -u; id -g'
    assert_success
    assert_equal "${lines[0]}" "bar"
    assert_equal "${lines[1]}" "/tmp"
    assert_equal "${lines[2]}" "1000"
    assert_equal "${lines[3]}" "1000"
}

@test "-m: the memory limit is visible in the container's cgroup" {
    run kh run -m 64m -- cat /sys/fs/cgroup/memory.max
    assert_success
    assert_output "67108864"
}

@test "--cpus, --vm-cpus and --vm-memory" {
    run kh run --vm-cpus 2 --vm-memory 512 --cpus 0.5 -- sh -c 'nproc; grep MemTotal /proc/meminfo; cat /sys/fs/cgroup/cpu.max'
    assert_success
    assert_equal "${lines[0]}" "2"
    assert_output --regexp "MemTotal: +(4[6-9][0-9]|5[01][0-9])[0-9]{3} kB"
    assert_line "50000 100000"
}

@test "--rootfs from a host directory over virtio-fs (read and write)" {
    [ -x /usr/lib/qemu/virtiofsd ] || skip "no virtiofsd"
    rm -f "$WORK/rootfs/tmp/written"
    run kh run --rootfs "$WORK/rootfs" --share virtio-fs --name vfs1 -- sh -c 'cat /marker; echo guest-wrote >/tmp/written'
    assert_success
    assert_output "from-the-host"
    assert_equal "$(cat "$WORK/rootfs/tmp/written")" "guest-wrote"
    assert_nothing_left vfs1
    ! grep -q "$KATA_HOST_RUN_DIR" /proc/mounts
}

@test "--rootfs from a host directory over 9p" {
    run kh run --rootfs "$WORK/rootfs" --share 9p --name p9 -- cat /marker
    assert_success
    assert_output "from-the-host"
    assert_nothing_left p9
}

@test "exec into a named detached sandbox; ps; stop" {
    run kh run -d --name det1 -- sleep 600
    assert_success
    assert_output "det1"
    wait_running det1
    run kh exec det1 -- sh -c 'echo in-det1; hostname'
    assert_success
    assert_equal "${lines[0]}" "in-det1"
    assert_equal "${lines[1]}" "det1"
    run bash -c "echo piped | timeout $T '$KH' exec -i det1 -- cat"
    assert_output "piped"
    run -137 kh exec det1 -- sh -c 'kill -9 $$'
    run kh ps
    assert_output --regexp "det1 +[0-9]+ +[1-9][0-9]* +running .*sleep 600"
    run kh stop -t 1 det1
    assert_success
    assert_nothing_left det1
}

@test "two sandboxes at once" {
    kh run -d --name twoA -- sleep 600
    kh run -d --name twoB -- sleep 600
    wait_running twoA
    wait_running twoB
    run kh exec twoA -- hostname
    assert_output "twoA"
    run kh exec twoB -- hostname
    assert_output "twoB"
    run kh ps -q
    assert_line "twoA"
    assert_line "twoB"
    kh stop -t 0 twoA twoB
    assert_nothing_left twoA
    assert_nothing_left twoB
}

@test "a VM killed under kata-host: clear error, exit 125, no hang, nothing left" {
    timeout "$T" "$KH" run --name victim --rootfs "$WORK/rootfs" -- sleep 600 >"$WORK/victim.out" 2>&1 &
    khpid=$!
    wait_running victim
    vmm=$(kh ps | awk '$1 == "victim" {print $3}')
    [ -n "$vmm" ] && [ "$vmm" -gt 0 ]
    kill -9 "$vmm"
    rc=0
    wait "$khpid" || rc=$?
    assert_equal "$rc" 125
    run cat "$WORK/victim.out"
    assert_output --partial "kata-host: the VM (qemu pid $vmm) was killed by signal 9"
    assert_nothing_left victim
}

@test "-v prints the boot stages with timings" {
    run bash -c "timeout $T '$KH' run -v -- true 2>&1"
    assert_success
    assert_output --partial "vm start"
    assert_output --partial "agent ready"
    assert_output --partial "container started"
}

@test "TCG: the guest takes the host's TSC rate and the kernel's own refinement agrees" {
    # The refinement against the HPET runs about a second after boot; it replaces the rate
    # only when both agree within 1%, and says so with this line.
    run kh run -- sh -c 'sleep 2; cat /proc/cmdline; dmesg'
    assert_success
    khz=$(grep -o 'tsc_early_khz=[0-9]*' <<<"$output" | head -1 | cut -d= -f2)
    [ -n "$khz" ] || fail "no tsc_early_khz on the guest's command line"
    # The slow PIT/HPET calibration at boot did not run.
    refute_output --partial "using HPET reference calibration"
    refined=$(sed -n 's/.*Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' <<<"$output")
    [ -n "$refined" ] || fail "the kernel did not accept a refined TSC rate (ours was $khz kHz)"
    # Within 0.1% of what the kernel measured itself.
    awk -v a="$khz" -v b="$refined" 'BEGIN { d = a - b * 1000; if (d < 0) d = -d; exit !(d * 1000 <= a) }' ||
        fail "host TSC $khz kHz vs guest-refined $refined MHz"
}

@test "VM template: later runs start from it, with the host's clock and a fresh RNG" {
    run kh run -v -- true
    assert_success
    ls "$KATA_HOST_TEMPLATE_DIR"/*/state >/dev/null || fail "no template was built"
    # Saved once kata-init had finished the guest setup, so clones do not wait for it.
    grep -q '"msg":"guest setup finished by kata-init"' "$KATA_HOST_TEMPLATE_DIR"/*/console.log ||
        fail "the template was saved before kata-init finished"
    run bash -c "timeout $T '$KH' run -v -- sh -c 'date +%s; head -c 16 /dev/urandom | od -An -tx1' 2>&1"
    assert_success
    assert_output --partial "vm restored"
    refute_output --partial "kata-host: init"
    local guest_now host_now rng1 rng2
    guest_now=$(grep -E '^[0-9]{9,}$' <<<"$output")
    host_now=$(date +%s)
    [ -n "$guest_now" ] || fail "no date from the guest"
    # The template's clock is from when it was saved; SetGuestDateTime brings the host's.
    [ $((host_now - guest_now)) -le 5 ] && [ $((guest_now - host_now)) -le 1 ] ||
        fail "guest clock $guest_now vs host $host_now"
    rng1=$(grep -E '^( [0-9a-f]{2}){16}$' <<<"$output")
    run bash -c "timeout $T '$KH' run -- sh -c 'head -c 16 /dev/urandom | od -An -tx1'"
    assert_success
    rng2=$output
    [ -n "$rng1" ] && [ -n "$rng2" ] || fail "no random bytes"
    # Without ReseedRandomDev two clones would read the same bytes.
    [ "$rng1" != "$rng2" ] || fail "two clones read the same random bytes: $rng1"
    run bash -c "timeout $T '$KH' run -v --no-template -- true 2>&1"
    assert_success
    assert_output --partial "kata-host: init"
    refute_output --partial "vm restored"
}

@test "VM template: one that does not restore is discarded; the run boots instead" {
    run kh run -- true
    assert_success
    local state
    state=$(ls "$KATA_HOST_TEMPLATE_DIR"/*/state | head -1)
    [ -n "$state" ] || fail "no template"
    printf 'garbage' >"$state"
    run bash -c "timeout $T '$KH' run -v -- echo still-runs 2>&1"
    assert_success
    assert_output --partial "still-runs"
    assert_output --partial "did not start"
    assert_output --partial "kata-host: init"
    # Marked as failed: the next run boots without trying again.
    ls "$KATA_HOST_TEMPLATE_DIR"/.failed-* >/dev/null || fail "no failure marker"
    run bash -c "timeout $T '$KH' run -v -- true 2>&1"
    assert_success
    assert_output --partial "building it failed before"
    rm -rf "$KATA_HOST_TEMPLATE_DIR"
}
