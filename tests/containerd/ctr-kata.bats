#!/usr/bin/env bats
# Debian's containerd 1.6 with our runtime, io.containerd.kata-guest.v2: what only a VM
# runtime has. Containers run in our guest (our kernel); one VM per sandbox (CRI's
# annotations group a pod's containers); a killed QEMU ends the task and leaves nothing
# behind. (A containerd restart is in ctr-basics.bats: it holds for any runtime.) QEMU's command line names the sandbox id,
# so `pgrep -f` finds the VM of a task. Every ctr call runs under `timeout`.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load lib/containerd

setup_file() {
    ctr_env
    [ "$KG_CTR_RUNTIME" = io.containerd.kata-guest.v2 ] || return 0
    ctr_setup_file kg-ctr-kata
}
teardown_file() { ctr_cleanup; }
setup() {
    if [ "$KG_CTR_RUNTIME" != io.containerd.kata-guest.v2 ]; then
        skip "VM runtime only: KG_CTR_RUNTIME=$KG_CTR_RUNTIME has no guest kernel, pods or QEMU"
    fi
    ctr_require
}
teardown() { ctr_remove_all; }



# PIDs of the QEMU processes whose command line names ID.
qemu_of() {
    pgrep -f -- "^[^ ]*qemu-system[^ ]* .*$1" || true
}

boot_id() { # ID: the boot id seen from inside the container
    ctr_exec --exec-id "boot-$RANDOM" "$1" cat /proc/sys/kernel/random/boot_id </dev/null
}

# The release of the kernel our build boots: the version string vmlinux carries.
our_kernel_release() {
    grep -ao 'Linux version [^ ]*' "$KATA_BUILD/vmlinux.container" | head -1 | cut -d' ' -f3
}

@test "the container runs on our guest kernel, not the host's" {
    local want
    want=$(our_kernel_release)
    [ -n "$want" ] || { echo "no kernel release in $KATA_BUILD/vmlinux.container (make kernel)" >&2; false; }
    run ctr_run --rm "$IMG" "$(ctr_id kernel)" uname -r </dev/null
    assert_success
    assert_output "$want"
    [ "$output" != "$(uname -r)" ]
}

@test "pod: a sandbox and a container with CRI's annotations share one VM" {
    local pod c1
    pod=$(ctr_id podsandbox) c1=$(ctr_id member)
    run ctr_run_detached "$pod" --annotation io.kubernetes.cri.container-type=sandbox \
        --annotation "io.kubernetes.cri.sandbox-id=$pod" -- sleep 1000
    assert_success
    ctr_wait_status "$pod" RUNNING 120
    run ctr_run_detached "$c1" --annotation io.kubernetes.cri.container-type=container \
        --annotation "io.kubernetes.cri.sandbox-id=$pod" -- sleep 1000
    assert_success
    ctr_wait_status "$c1" RUNNING 120
    local b_pod b_c1
    b_pod=$(boot_id "$pod")
    b_c1=$(boot_id "$c1")
    [[ "$b_pod" =~ ^[0-9a-f-]{36}$ ]]
    assert_equal "$b_c1" "$b_pod"
    # One QEMU, the pod's; none started for the member.
    run qemu_of "$pod"
    assert_equal "${#lines[@]}" 1
    run qemu_of "$c1"
    assert_output ""
    # The member goes first; the VM stays for the sandbox, then goes with it.
    ctr_rm_task "$c1"
    assert_equal "$(ctr_task_status "$pod")" RUNNING
    run ctr_exec --exec-id after "$pod" echo still-here </dev/null
    assert_output still-here
    ctr_rm_task "$pod"
    for _ in $(seq 100); do [ -z "$(qemu_of "$pod")" ] && break; sleep 0.1; done
    run qemu_of "$pod"
    assert_output ""
}

@test "containers without pod annotations get a VM each" {
    local a b
    a=$(ctr_id alone) b=$(ctr_id single)
    ctr_run_detached "$a" -- sleep 1000
    ctr_run_detached "$b" -- sleep 1000
    ctr_wait_status "$a" RUNNING 120
    ctr_wait_status "$b" RUNNING 120
    local ba bb
    ba=$(boot_id "$a")
    bb=$(boot_id "$b")
    [[ "$ba" =~ ^[0-9a-f-]{36}$ ]] && [[ "$bb" =~ ^[0-9a-f-]{36}$ ]]
    [ "$ba" != "$bb" ]
    run qemu_of "$a"
    assert_equal "${#lines[@]}" 1
    run qemu_of "$b"
    assert_equal "${#lines[@]}" 1
    ctr_rm_task "$a"
    ctr_rm_task "$b"
}

# Nothing of sandbox ID is left: its VM, virtiofsd, shim, mounts, and (the only sandbox of
# the test) nothing in the shim's run dir, whose entries are named by a hash of the id.
assert_sandbox_gone() {
    local id=$1 i
    for i in $(seq 100); do
        [ -z "$(pgrep -f -- "$id")" ] && break
        sleep 0.1
    done
    run pgrep -af -- "$id"
    assert_output ""
    run grep -F "$id" /proc/self/mountinfo
    assert_output ""
    if [ -d "$KATA_GUEST_SHIM_RUN_DIR" ]; then
        run ls -A "$KATA_GUEST_SHIM_RUN_DIR"
        assert_output ""
    fi
}

@test "a killed QEMU (detached task): the task stops, and everything is cleaned up" {
    local id vm
    id=$(ctr_id qemukill)
    ctr_run_detached "$id" -- sleep 1000
    ctr_wait_status "$id" RUNNING 120
    vm=$(qemu_of "$id")
    [[ "$vm" =~ ^[0-9]+$ ]]
    kill -9 "$vm"
    # The task exits (STOPPED), or the shim went with its VM and the task is gone.
    local st
    for _ in $(seq 600); do
        st=$(ctr_task_status "$id")
        [ "$st" = STOPPED ] || [ -z "$st" ] && break
        sleep 0.1
    done
    [ "$st" = STOPPED ] || [ -z "$st" ] || { echo "task status after the VM died: $st" >&2; false; }
    ctr_ task rm -f "$id" >/dev/null 2>&1 || true
    run ctr_ containers rm "$id"
    assert_success
    assert_sandbox_gone "$id"
}

@test "a killed QEMU (ctr run in the foreground): ctr returns with an error, not a hang" {
    local id vm
    id=$(ctr_id qemukill2)
    ctr_run --rm "$IMG" "$id" sleep 1000 </dev/null >"$CTR_WORK/fg.out" 2>&1 &
    local pid=$!
    ctr_wait_status "$id" RUNNING 120
    vm=$(qemu_of "$id")
    [[ "$vm" =~ ^[0-9]+$ ]]
    kill -9 "$vm"
    local rc=0
    wait "$pid" || rc=$?
    # 124 is timeout's: ctr hung.
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { echo "ctr run exited $rc:" >&2; cat "$CTR_WORK/fg.out" >&2; false; }
    ctr_ task rm -f "$id" >/dev/null 2>&1 || true
    ctr_ containers rm "$id" >/dev/null 2>&1 || true
    assert_sandbox_gone "$id"
}

@test "a container over its memory limit: the guest's OOM kill reaches containerd as /tasks/oom, then the exit (137)" {
    local id ev=$CTR_WORK/oom-events
    id=$(ctr_id oom)
    ctr_events_start "$ev"
    sleep 0.5 # ctr events subscribes asynchronously
    run ctr_run --rm --memory-limit 33554432 "$IMG" "$id" \
        sh -c 'a=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived' </dev/null
    assert_equal "$status" 137
    refute_output --partial survived
    sleep 1
    ctr_events_stop
    run grep -c " /tasks/oom {\"container_id\":\"$id\"}" "$ev"
    assert_output 1
    # the OOM event comes before the task's exit
    run awk -v id="$id" 'index($0, "/tasks/oom {\"container_id\":\"" id "\"}") { oom = NR }
        index($0, "/tasks/exit {\"container_id\":\"" id "\"") { exit_ = NR }
        END { exit !(oom && exit_ && oom < exit_) }' "$ev"
    assert_success
}

@test "after the tests: no QEMU, virtiofsd, shim, mount or shim run dir entry is left, no sanitizer report" {
    # The shim's run dir is KATA_GUEST_SHIM_RUN_DIR, this file's own (the default,
    # /run/kata-guest-shim, is shared with whatever else runs here).
    run ctr_nothing_left
    assert_success
    # The shims have exited: their leak checks have run.
    run ctr_sanitizer_reports
    assert_output ""
}
