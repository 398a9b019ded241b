#!/usr/bin/env bats
# The static musl release build of kata-agent (what ships in the guest), through the same
# paths as the ASan build's suites: lifecycle, exec, tty, big stdio, many parked calls, and
# containerd's Go ttrpc client.
load agent_helper

setup_file() {
    export KATA_BUILD=${KATA_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
    export AGENT_BIN=$KATA_BUILD/bin/kata-agent
    agent_setup_file
}
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

@test "release agent: static, and a lifecycle with exit code and both streams" {
    run file -b "$AGENT_BIN"
    assert_output --partial 'statically linked'
    actl create-container --id r1 --rootfs "$ROOTFS" -- /bin/sh -c 'echo out; echo err >&2; exit 9'
    actl start-container --id r1
    run actl read-stdout --id r1 --all
    assert_output out
    run actl read-stderr --id r1 --all
    assert_output err
    run actl wait --id r1
    assert_output 9
    actl remove --id r1
}

@test "release agent: 10 MiB through cat, byte-exact" {
    head -c 10485760 /dev/urandom >"$WORK/big.in"
    actl run -i --id r2 --rootfs "$ROOTFS" -- /bin/payload cat <"$WORK/big.in" >"$WORK/big.out"
    cmp "$WORK/big.in" "$WORK/big.out"
}

@test "release agent: exec, tty resize, SIGKILL-all, concurrent waiters" {
    actl create-container --id r3 --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id r3
    actl exec -t --id r3 --exec-id t -- /bin/sh -c 'read x; stty size'
    sleep 0.2
    actl resize --id r3 --exec-id t --rows 12 --cols 34
    actl write-stdin --id r3 --exec-id t --data $'x\n'
    run actl read-stdout --id r3 --exec-id t --all
    assert_output --partial '12 34'
    actl wait --id r3 >"$WORK/w1" &
    actl wait --id r3 >"$WORK/w2" &
    sleep 0.2
    actl signal --id r3 --signal 9
    wait
    run cat "$WORK/w1" "$WORK/w2"
    assert_output $'137\n137'
    actl remove --id r3
}

@test "release agent: containerd's Go ttrpc client lifecycle" {
    local check=$KATA_BUILD/go/bin/agentcheck
    [ -x "$check" ] || skip "agentcheck not built (make test-deps)"
    run timeout 60 "$check" "$AGENT_SOCK" "$ROOTFS"
    assert_success
    refute_output --partial 'not ok'
}

@test "release agent: bad frames get error statuses and the agent keeps serving" {
    run actl raw-hex "0000000400000002" # truncated header, then hang-up
    run actl raw-hex "000000040000000101 00ffffffff"
    assert_output --partial 'stream=1 type=2'
    refute_output --partial 'code=OK'
    run actl call grpc.AgentService CreateContainer ffffffff
    assert_output --partial INVALID_ARGUMENT
}
