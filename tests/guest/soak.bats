#!/usr/bin/env bats
# Soak in the guest (issue 11 item 5): the agent as kata-init starts it in the VM (initrd
# variant, real QEMU, TCG) is protected from the OOM killer as upstream's unit file protects it
# (OOMScoreAdjust=-997) while its containers are not; a container's OOM kill is reported through
# GetOOMEvent and the agent survives it; a fork bomb stays within the container's pids.max and
# the agent keeps answering. The host suite tests/integration/agent-soak.bats covers the rest.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load lib/kata-vm
load ../integration/agent_spec

setup_file() {
    kata_vm_test_env
    export DIR=$BATS_FILE_TMPDIR/vm
    export ROOTFS=/opt/kata/rootfs
    mkdir -p "$DIR"
}

teardown_file() {
    kata_vm_stop "$DIR"
}

setup() {
    kata_vm_shared_initrd "$DIR"
}

teardown() {
    unset LINUX_EXTRA PROCESS_EXTRA
    kata_vm_console_on_failure "$DIR"
}

# One client at a time on the virtio-serial channel: kata_vm_agent_idle.
actl() {
    kata_vm_agent_idle "$DIR"
    timeout -k 5 60 "$AGENTCTL" -a "unix://$DIR/agent.sock" -T 50 "$@"
}

# guest_sh SCRIPT: runs SCRIPT in a container that shares the guest's pid namespace (its /proc
# shows the agent and kata-init).
guest_sh() {
    actl run --id "gsh-$BATS_TEST_NUMBER-$RANDOM" --rootfs "$ROOTFS" --ns mount,ipc,uts -- \
        /bin/sh -c "$1"
}

@test "kata-init starts the agent with oom_score_adj -997 and keeps 0 itself; a container gets 0 or its spec's value" {
    run guest_sh 'echo "agent=$(cat /proc/$(pidof kata-agent)/oom_score_adj)"; echo "init=$(cat /proc/1/oom_score_adj)"; echo "self=$(cat /proc/self/oom_score_adj)"'
    assert_success
    assert_line agent=-997
    assert_line init=0
    assert_line self=0
    PROCESS_EXTRA='OOMScoreAdj: 500' run spec_create adj-500 /bin/cat /proc/self/oom_score_adj
    assert_success
    actl start-container --id adj-500
    run actl read-stdout --id adj-500 --all
    assert_output 500
    actl wait --id adj-500 >/dev/null
    actl remove --id adj-500
}

@test "a container over its memory limit is OOM-killed, GetOOMEvent names it, the agent survives at -997" {
    run guest_sh 'pidof kata-agent'
    local pid=$output
    [ -n "$pid" ]
    # busybox tail keeps the whole current line: /dev/zero has no newline
    run actl run --id guest-hog --memory 16777216 --rootfs "$ROOTFS" -- /usr/bin/tail /dev/zero
    assert_equal "$status" 137
    run actl -T 10 oom-event
    assert_success
    assert_output guest-hog
    run guest_sh 'echo "$(pidof kata-agent) $(cat /proc/$(pidof kata-agent)/oom_score_adj)"'
    assert_output "$pid -997"
    run actl check
    assert_output SERVING
}

@test "a fork bomb stays within pids.max in the guest; the agent answers meanwhile and kills and removes it" {
    LINUX_EXTRA='Resources { Pids { Limit: 24 } }' \
        run spec_create guest-bomb /bin/sh -c 'f() { f | f & }; f; sleep 3600'
    assert_success
    actl start-container --id guest-bomb
    local i pids max=0 t0 ms
    for i in $(seq 5); do
        sleep 1
        t0=$(date +%s%N)
        run actl check
        ms=$((($(date +%s%N) - t0) / 1000000))
        assert_output SERVING
        # TCG, one vCPU busy with the bomb: generous, but a stuck agent would take the 50 s
        [ "$ms" -le 10000 ] || fail "Health.Check took $ms ms under the fork bomb"
        pids=$(actl stats --id guest-bomb | sed -n 's/.* pids=\([0-9]*\).*/\1/p')
        [ "$pids" -le 24 ] || fail "$pids processes with pids.max 24"
        [ "$pids" -le "$max" ] || max=$pids
    done
    echo "# at most $max processes seen" >&3
    [ "$max" -ge 12 ]
    actl signal --id guest-bomb --signal 9
    run actl wait --id guest-bomb
    assert_output 137
    actl remove --id guest-bomb
    # none of the bomb's processes is left in the guest ([f] keeps grep from matching itself)
    run guest_sh "grep -l 'f() { [f] | f' /proc/[0-9]*/cmdline 2>/dev/null | wc -l"
    assert_output 0
}
