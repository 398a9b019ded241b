#!/usr/bin/env bats
# The warm VM pool (kata-host pool start|stop|status) with the real guest under QEMU/TCG: runs
# take pooled VMs, the pool refills, each VM is handed out once, a run outlives the daemon,
# and nothing is left behind. Also copy-on-write template memory: a clone's writes stay its own.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load helpers/kata-host

setup_file() {
    kh_setup_file kata-host-pool
    export KATA_HOST_TEMPLATE_DIR=$WORK/templates
    export POOL=$KATA_HOST_RUN_DIR/pool
}

teardown_file() {
    [ -x "$KH" ] && timeout 30 "$KH" pool stop >/dev/null 2>&1
    kh_teardown_file
}

setup() { kh_setup; }

teardown() {
    kh pool stop >/dev/null 2>&1 || true
    for d in "$KATA_HOST_RUN_DIR"/*/; do
        [ -d "$d" ] && [ "$(basename "$d")" != pool ] && kh stop -t 0 "$(basename "$d")" >/dev/null 2>&1
    done
    true
}

# The QEMU pids of the ready VMs, one a line.
ready_pids() { kh pool status | awk '$1 == "vm" && $3 == "ready" {print $2}'; }

wait_ready() { # wait_ready N: until the pool holds N ready VMs (bounded)
    for _ in $(seq 300); do
        [ "$(kh pool status | awk '$1 == "ready" {print $2}')" = "$1" ] && return 0
        sleep 0.1
    done
    kh pool status >&2
    return 1
}

# The process has exited (a zombie counts as gone: its parent, init, reaps it soon after).
gone() {
    for _ in $(seq 50); do
        [ -r "/proc/$1/stat" ] || return 0
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
        sleep 0.1
    done
    ps -o pid,stat,args -p "$1" >&2
    return 1
}

# Nothing of the pool runs or stays on disk: no process mentions its directory, and the
# directory is gone.
assert_pool_gone() {
    for _ in $(seq 50); do
        pgrep -f -- "$POOL/" >/dev/null || break
        sleep 0.1
    done
    ! pgrep -af -- "$POOL/" >&2 || return 1
    [ ! -e "$POOL" ] || { ls -laR "$POOL" >&2; return 1; }
}

@test "pool start keeps N VMs ready; status lists their QEMU pids; a second start is refused" {
    run kh pool start --size 2
    assert_success
    assert_output --regexp "^VM pool started: pid [0-9]+, size 2, ready 2 "
    run kh pool status
    assert_success
    assert_line "size 2"
    assert_line "ready 2"
    mapfile -t pids < <(ready_pids)
    [ "${#pids[@]}" -eq 2 ]
    for p in "${pids[@]}"; do
        grep -q "$POOL/pool-" "/proc/$p/cmdline"
        [ "$(cat "/proc/$p/comm")" = qemu-system-x86 ]
    done
    run kh pool start
    assert_failure 125
    assert_output --partial "a VM pool already runs"
}

@test "run takes a pooled VM (-v says so), the VM is used once, and the pool refills" {
    kh pool start --size 2 >/dev/null
    mapfile -t before < <(ready_pids)
    run kh run -v -- echo pooled
    assert_success
    assert_line pooled
    assert_line --regexp "vm taken .*from the VM pool: qemu pid [0-9]+"
    # A pooled VM is a clone: its RNG is reseeded and its clock set like any other.
    assert_line --regexp "clone refreshed .*ReseedRandomDev, SetGuestDateTime"
    taken=$(echo "$output" | sed -n 's/.*from the VM pool: qemu pid \([0-9]*\).*/\1/p')
    printf '%s\n' "${before[@]}" | grep -qx "$taken"
    # The run ended its VM (its keeper removed the VM's directory), and the pool started
    # another in its place, warmed like the first.
    gone "$taken"
    wait_ready 2
    ! ready_pids | grep -qx "$taken" || false
    for _ in $(seq 50); do
        [ "$(ls -d "$POOL"/pool-* | wc -l)" -eq 2 ] && break
        sleep 0.1
    done
    [ "$(ls -d "$POOL"/pool-* | wc -l)" -eq 2 ] || { ls -la "$POOL" >&2; false; }
    for log in "$POOL"/pool-*/console.log; do
        grep -q '"removed container kh-pool-warmup' "$log"
    done
    # KATA_HOST_POOL=0 skips the pool (the template serves the run).
    mapfile -t before < <(ready_pids)
    KATA_HOST_POOL=0 run kh run -v -- true
    assert_success
    refute_output --partial "from the VM pool"
    assert_output --partial "from template"
    [ "$(ready_pids | sort)" = "$(printf '%s\n' "${before[@]}" | sort)" ]
}

# What a container can see of the guest beyond its own command: hostname, processes, mounts
# (without their ids, which are guest-global counters), its cgroup, files under the usual
# scratch places, DNS. A warmed VM must show a run exactly what a fresh clone shows.
probe_guest() {
    kh run --name "$1" -- sh -c '
        hostname; cat /proc/sys/kernel/hostname
        ps -o pid,args
        cut -d" " -f4- /proc/self/mountinfo
        cat /proc/self/cgroup; cat /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/pids.current
        ls -a /sys/fs/cgroup | grep -v "\." || true
        ls -a /run /tmp /dev/shm /dev/mqueue /var 2>&1
        cat /etc/resolv.conf 2>&1; echo end'
}

@test "a keeper warms its VM with a throwaway container, removed before the VM is ready" {
    kh pool start --size 1 >/dev/null
    log=$(ls "$POOL"/pool-*/console.log)
    # The agent's own log of the idle VM: the warm-up container came and went.
    grep -q '"created container kh-pool-warmup' "$log"
    grep -q '"removed container kh-pool-warmup' "$log"
    [ "$(grep -c 'created container' "$log")" -eq 1 ]
    ! grep -q 'created sandbox' "$log" || false
    run kh run -v -- true
    assert_success
    assert_line --regexp "vm taken .*from the VM pool: qemu pid [0-9]+, warmed, "
    # KATA_HOST_POOL_WARM=0 hands out VMs as restored, and says so.
    kh pool stop >/dev/null
    KATA_HOST_POOL_WARM=0 kh pool start --size 1 >/dev/null
    log=$(ls "$POOL"/pool-*/console.log)
    ! grep -q 'kh-pool-warmup' "$log" || false
    run kh run -v -- true
    assert_success
    assert_line --regexp "vm taken .*from the VM pool: qemu pid [0-9]+, not warmed, "
}

@test "a warmed VM hands out clean: the run sees what a fresh clone shows, nothing of the warm-up" {
    kh pool start --size 1 >/dev/null
    run probe_guest clean-probe
    assert_success
    pooled=$output
    KATA_HOST_POOL=0 run probe_guest clean-probe
    assert_success
    fresh=$output
    # The probe ran in full and the run got its own hostname and nothing else.
    [ "$(sed -n 1p <<<"$pooled")" = clean-probe ]
    [ "$(sed -n 2p <<<"$pooled")" = clean-probe ]
    [ "$(tail -1 <<<"$pooled")" = end ]
    [[ "$pooled" != *kh-pool-warmup* ]]
    [ "$pooled" = "$fresh" ] || { diff <(echo "$fresh") <(echo "$pooled") >&2; false; }
    # Exit statuses still arrive although the run no longer waits for the VM to exit.
    wait_ready 1
    run kh run -- sh -c 'exit 7'
    assert_failure 7
}

@test "idle pooled VMs restore and warm 10 nice levels down; a VM handed out gets its priority back" {
    base=$(ps -o nice= -p $$ | tr -d ' ')
    low=$((base + 10 > 19 ? 19 : base + 10))
    kh pool start --size 1 >/dev/null
    idle=$(ready_pids)
    # Every thread of the idle QEMU (vCPU, I/O, RCU) carries the keeper's niceness.
    [ "$(ps -L -o nice= -p "$idle" | sort -u | tr -d ' ')" = "$low" ]
    name=$(kh run -d -- sleep 1000)
    vmm=$(kh ps | awk -v n="$name" '$1 == n {print $3}')
    [ "$vmm" = "$idle" ]
    [ "$(ps -L -o nice= -p "$vmm" | sort -u | tr -d ' ')" = "$base" ]
    kh stop -t 0 "$name" >/dev/null
}

@test "two concurrent runs get different pooled VMs: other QEMUs, boot ids and random bytes" {
    kh pool start --size 2 >/dev/null
    probe='cat /proc/sys/kernel/random/boot_id; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n"; echo'
    kh run -v -- sh -c "$probe" >"$WORK/a.out" 2>"$WORK/a.err" &
    a=$!
    kh run -v -- sh -c "$probe" >"$WORK/b.out" 2>"$WORK/b.err" &
    b=$!
    wait "$a"
    wait "$b"
    grep -q "from the VM pool: .*, warmed, " "$WORK/a.err"
    grep -q "from the VM pool: .*, warmed, " "$WORK/b.err"
    qa=$(sed -n 's/.*from the VM pool: qemu pid \([0-9]*\).*/\1/p' "$WORK/a.err")
    qb=$(sed -n 's/.*from the VM pool: qemu pid \([0-9]*\).*/\1/p' "$WORK/b.err")
    [ -n "$qa" ] && [ -n "$qb" ] && [ "$qa" != "$qb" ]
    [ "$(wc -l <"$WORK/a.out")" -eq 2 ] && [ "$(wc -l <"$WORK/b.out")" -eq 2 ]
    [ "$(sed -n 1p "$WORK/a.out")" != "$(sed -n 1p "$WORK/b.out")" ]
    [ "$(sed -n 2p "$WORK/a.out")" != "$(sed -n 2p "$WORK/b.out")" ]
    [ "$(sed -n 2p "$WORK/a.out" | wc -c)" -eq 33 ]
}

@test "a clone's writes are seen neither by another clone nor by the template" {
    kh pool start --size 2 >/dev/null
    a=$(kh run -d -- sleep 1000)
    b=$(kh run -d -- sleep 1000)
    marker=clone-marker-$RANDOM$RANDOM$RANDOM
    # /dev/shm is a tmpfs: the marker lives in guest RAM, i.e. in the clone's mapping of the
    # template's memory file.
    kh exec "$a" -- sh -c "echo $marker >/dev/shm/m; sync"
    run kh exec "$a" -- cat /dev/shm/m
    assert_output "$marker"
    run kh exec "$b" -- sh -c 'cat /dev/shm/m 2>&1'
    refute_output --partial "$marker"
    KATA_HOST_POOL=0 run kh run -- sh -c 'cat /dev/shm/m 2>&1'
    refute_output --partial "$marker"
    # Copy-on-write: the template's RAM file never saw the page.
    mem=$(ls "$KATA_HOST_TEMPLATE_DIR"/*/mem)
    [ -f "$mem" ]
    ! grep -qa "$marker" "$mem" || false
    kh stop -t 0 "$a" "$b" >/dev/null
}

@test "pool stop ends the daemon and its VMs and leaves no process, socket or file" {
    kh pool start --size 2 >/dev/null
    daemon=$(kh pool status | awk '$1 == "pid" {print $2}')
    mapfile -t pids < <(ready_pids)
    run kh pool stop
    assert_success
    assert_output "VM pool stopped"
    gone "$daemon"
    for p in "${pids[@]}"; do gone "$p"; done
    ! pgrep -f -- "$KH pool start" >/dev/null || false
    assert_pool_gone
    run kh pool status
    assert_failure 1
    assert_output --partial "no VM pool runs"
}

@test "a pool daemon killed with SIGKILL: a run it handed out keeps working, later runs fall back" {
    kh pool start --size 1 >/dev/null
    daemon=$(kh pool status | awk '$1 == "pid" {print $2}')
    name=$(kh run -d -- sleep 1000)
    vmm=$(kh ps | awk -v n="$name" '$1 == n {print $3}')
    grep -q "$POOL/pool-" "/proc/$vmm/cmdline"
    kill -9 "$daemon"
    run kh exec "$name" -- echo alive
    assert_success
    assert_output alive
    run kh run -v -- echo fallback
    assert_success
    assert_line fallback
    assert_output --partial "no VM from the pool"
    assert_output --partial "from template"
    # The idle VM went with the daemon; the handed-out one still runs.
    kill -0 "$vmm"
    run kh exec "$name" -- echo still
    assert_output still
    kh stop -t 0 "$name" >/dev/null
    gone "$vmm"
    # stop cleans what the killed daemon left.
    run kh pool stop
    assert_failure 1
    assert_pool_gone
    kh pool start --size 1 >/dev/null
    kh pool stop >/dev/null
    assert_pool_gone
}

@test "pool usage errors are clear" {
    run kh pool
    assert_failure 125
    assert_output --partial "missing subcommand"
    run kh pool start --size 0
    assert_failure 125
    assert_output --partial "--size and --shim-size are both 0"
    run kh pool start --size 65
    assert_failure 125
    assert_output --partial "--size wants 0 to 64"
    run kh pool start --shim-size -1
    assert_failure 125
    assert_output --partial "--shim-size wants 0 to 64"
    run kh pool start --size 40 --shim-size 40
    assert_failure 125
    assert_output --partial "at most 64 VMs in all"
    run kh pool status --size 2
    assert_failure 125
    run kh pool status --shim-size 2
    assert_failure 125
    assert_output --partial "--shim-size is an option of pool start"
    run kh pool frobnicate
    assert_failure 125
    assert_output --partial "unknown subcommand 'frobnicate'"
    run kh pool stop
    assert_failure 1
    assert_output --partial "no VM pool runs"
}
