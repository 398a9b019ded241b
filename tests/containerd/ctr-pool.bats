#!/usr/bin/env bats
# The warm VM pool with containerd: `kata-host pool start --shim-size N` keeps VMs of the
# shim's shape (its configuration, a 9p shared directory), and the shim containerd starts takes
# one instead of starting its own. A pooled QEMU was started before the sandbox existed, so
# these tests check what a hand-off must carry: the container's rootfs (mounted by the shim
# after the hand-off) reaches the guest through the pooled QEMU's 9p export, in both
# directions; a pod's second container joins the same VM; the pool refills; a sandbox outlives
# `pool stop`; deleting the task ends the VM and leaves nothing behind.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load lib/containerd

setup_file() {
    ctr_env
    [ "$KG_CTR_RUNTIME" = io.containerd.kata-guest.v2 ] || return 0
    ctr_setup kg-ctr-pool || return 1
    # The pool's socket and VMs, where both kata-host and the shims containerd starts (which
    # inherit its environment) look for them.
    export KATA_HOST_RUN_DIR=$CTR_WORK/kh
    export KH=${KATA_HOST_BIN:-$KATA_BUILD/asan/bin/kata-host}
    export POOL=$KATA_HOST_RUN_DIR/pool
    ctr_start && ctr_import_busybox
}

teardown_file() {
    [ -n "${KH:-}" ] && [ -x "$KH" ] && timeout 30 "$KH" pool stop >/dev/null 2>&1
    ctr_cleanup
}

setup() {
    if [ "$KG_CTR_RUNTIME" != io.containerd.kata-guest.v2 ]; then
        skip "VM runtime only: KG_CTR_RUNTIME=$KG_CTR_RUNTIME has no VM pool"
    fi
    ctr_require
}

teardown() {
    ctr_remove_all
    timeout 30 "$KH" pool stop >/dev/null 2>&1 || true
}

kh() { timeout 120 "$KH" "$@"; }

# QEMU pids of the pool's ready VMs of the shim's shape, one a line.
ready_shim_vms() { kh pool status | awk '$1 == "vm" && $3 == "ready" && $7 == "shim" {print $2}'; }

wait_ready_other_than() { # PID: until a ready shim VM other than PID is listed (bounded)
    local p
    for _ in $(seq 300); do
        p=$(ready_shim_vms | grep -vx -- "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.1
    done
    kh pool status >&2
    return 1
}

gone() { # PID: the process has exited (bounded)
    for _ in $(seq 100); do
        [ -r "/proc/$1/stat" ] || return 0
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
        sleep 0.1
    done
    ps -o pid,stat,args -p "$1" >&2
    return 1
}



# The QEMU (pid) whose mount namespace has container ID's rootfs under its 9p export.
rootfs_in_vm() { # PID ID
    grep -F "/$2/rootfs" "/proc/$1/mountinfo" | grep -F templates-9p-export
}

@test "pool start --shim-size keeps VMs of the shim's shape, listed with their shape" {
    run kh pool start --size 0 --shim-size 1
    assert_success
    assert_output --regexp '^VM pool started: pid [0-9]+, size 1 \(1 for the shim\), ready 1 '
    run kh pool status
    assert_line "size 0"
    assert_line "shim-size 1"
    assert_line --regexp '^vm [0-9]+ ready keeper [0-9]+ shape shim$'
}

@test "a container's sandbox takes the pooled VM; its rootfs reaches the guest both ways; the pool refills" {
    kh pool start --size 0 --shim-size 1 >/dev/null
    local pooled id
    pooled=$(ready_shim_vms)
    [[ "$pooled" =~ ^[0-9]+$ ]]
    id=$(ctr_id pooled)
    ctr_run_detached "$id" -- sleep 1000
    ctr_wait_status "$id" RUNNING 120
    # No QEMU of its own: the pooled one runs on, with the container's rootfs in its export.
    run pgrep -f -- "^[^ ]*qemu-system[^ ]* .*$id"
    assert_output ""
    kill -0 "$pooled"
    run rootfs_in_vm "$pooled" "$id"
    assert_success
    # The image's files are read through 9p, and what the container writes lands in the
    # snapshot containerd holds on the host.
    run ctr_exec --exec-id rd "$id" cat /etc/passwd </dev/null
    assert_line user:x:1000:1000:user:/home/user:/bin/sh
    run ctr_exec --exec-id wr "$id" sh -c "echo written-in-$id > /pooled-note" </dev/null
    assert_success
    run bash -c "grep -rlx -- 'written-in-$id' '$CTR_WORK/root' 2>/dev/null | grep /pooled-note"
    assert_success
    # The VM went once: the pool refills with another.
    run wait_ready_other_than "$pooled"
    assert_success
    refute_output "$pooled"
    ctr_rm_task "$id"
    gone "$pooled"
}

@test "a pod's second container joins the pooled VM after the hand-off" {
    kh pool start --size 0 --shim-size 1 >/dev/null
    local pooled pod c1
    pooled=$(ready_shim_vms)
    pod=$(ctr_id poolpod) c1=$(ctr_id poolmember)
    ctr_run_detached "$pod" --annotation io.kubernetes.cri.container-type=sandbox \
        --annotation "io.kubernetes.cri.sandbox-id=$pod" -- sleep 1000
    ctr_wait_status "$pod" RUNNING 120
    ctr_run_detached "$c1" --annotation io.kubernetes.cri.container-type=container \
        --annotation "io.kubernetes.cri.sandbox-id=$pod" -- sleep 1000
    ctr_wait_status "$c1" RUNNING 120
    run rootfs_in_vm "$pooled" "$c1"
    assert_success
    local b_pod b_c1
    b_pod=$(ctr_exec --exec-id b1 "$pod" cat /proc/sys/kernel/random/boot_id </dev/null)
    b_c1=$(ctr_exec --exec-id b2 "$c1" cat /proc/sys/kernel/random/boot_id </dev/null)
    [[ "$b_pod" =~ ^[0-9a-f-]{36}$ ]]
    assert_equal "$b_c1" "$b_pod"
    run ctr_exec --exec-id ls "$c1" ls /bin/busybox </dev/null
    assert_success
    # The member's rootfs leaves the guest with the member; the pod's VM stays.
    ctr_rm_task "$c1"
    run rootfs_in_vm "$pooled" "$c1"
    assert_failure
    run ctr_exec --exec-id after "$pod" echo still-here </dev/null
    assert_output still-here
    ctr_rm_task "$pod"
    gone "$pooled"
}

@test "two sandboxes get two pooled VMs with different boot ids and random bytes" {
    kh pool start --size 0 --shim-size 2 >/dev/null
    local a b
    a=$(ctr_id poola) b=$(ctr_id poolb)
    ctr_run_detached "$a" -- sleep 1000
    ctr_run_detached "$b" -- sleep 1000
    ctr_wait_status "$a" RUNNING 120
    ctr_wait_status "$b" RUNNING 120
    local ba bb ra rb
    ba=$(ctr_exec --exec-id b1 "$a" cat /proc/sys/kernel/random/boot_id </dev/null)
    bb=$(ctr_exec --exec-id b2 "$b" cat /proc/sys/kernel/random/boot_id </dev/null)
    [[ "$ba" =~ ^[0-9a-f-]{36}$ ]] && [ "$ba" != "$bb" ]
    ra=$(ctr_exec --exec-id r1 "$a" sh -c 'head -c 16 /dev/urandom | od -An -tx1' </dev/null)
    rb=$(ctr_exec --exec-id r2 "$b" sh -c 'head -c 16 /dev/urandom | od -An -tx1' </dev/null)
    [ -n "$ra" ] && [ "$ra" != "$rb" ]
    ctr_rm_task "$a"
    ctr_rm_task "$b"
}

@test "a sandbox outlives pool stop; deleting its task ends the VM; nothing is left" {
    kh pool start --size 0 --shim-size 1 >/dev/null
    local pooled id
    pooled=$(ready_shim_vms)
    id=$(ctr_id outlive)
    ctr_run_detached "$id" -- sleep 1000
    ctr_wait_status "$id" RUNNING 120
    run kh pool stop
    assert_success
    run ctr_exec --exec-id alive "$id" echo still-here </dev/null
    assert_output still-here
    ctr_rm_task "$id"
    gone "$pooled"
    for _ in $(seq 50); do [ ! -e "$POOL" ] && break; sleep 0.1; done
    [ ! -e "$POOL" ] || { ls -laR "$POOL" >&2; false; }
    run grep -F "$KATA_HOST_RUN_DIR" /proc/self/mountinfo
    assert_output ""
    run ctr_nothing_left
    assert_success
    run ctr_sanitizer_reports
    assert_output ""
}

@test "a pool of kata-host run's shape only: the shim starts its own VM, the pool keeps its VM" {
    kh pool start --size 1 >/dev/null
    local id
    id=$(ctr_id ownvm)
    ctr_run_detached "$id" -- sleep 1000
    ctr_wait_status "$id" RUNNING 120
    run pgrep -f -- "^[^ ]*qemu-system[^ ]* .*$id"
    assert_success
    run kh pool status
    assert_line "ready 1"
    ctr_rm_task "$id"
}
