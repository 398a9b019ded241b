#!/usr/bin/env bats
# kata-agent on the host: bad input of every kind gets an error status, never a crash; the
# agent keeps serving (agent_teardown checks it after every test).
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

# hex of a ttRPC frame header: LEN STREAM TYPE FLAGS
hdr() { printf '%08x%08x%02x%02x' "$1" "$2" "$3" "${4:-0}"; }

# hex of a Request envelope {service, method, payload}
request_hex() {
    local svc=$1 method=$2 payload=${3:-}
    local s m p
    s=$(printf %s "$svc" | od -An -tx1 | tr -d ' \n')
    m=$(printf %s "$method" | od -An -tx1 | tr -d ' \n')
    p=$payload
    printf '0a%02x%s12%02x%s' "${#svc}" "$s" "${#method}" "$m"
    [ -n "$p" ] && printf '1a%02x%s' $((${#p} / 2)) "$p"
    return 0
}

@test "every unimplemented method of AgentService answers UNIMPLEMENTED naming it" {
    for m in MemAgentMemcgSet MemAgentCompactSet; do
        run actl call grpc.AgentService "$m" ""
        assert_equal "$status" 2
        assert_output --partial UNIMPLEMENTED
        assert_output --partial "$m"
    done
}

@test "unknown method and unknown service get an error status" {
    run actl call grpc.AgentService NoSuchMethod ""
    assert_output --partial UNIMPLEMENTED
    assert_output --partial NoSuchMethod
    run actl call grpc.NoSuchService Check ""
    assert_equal "$status" 2
    assert_output --partial grpc.NoSuchService
}

@test "a garbage payload is INVALID_ARGUMENT" {
    run actl call grpc.AgentService CreateContainer ffffffffffff
    assert_equal "$status" 2
    assert_output --partial INVALID_ARGUMENT
    run actl call grpc.AgentService WaitProcess 0a
    assert_output --partial INVALID_ARGUMENT
}

@test "a malformed envelope is answered with an error on its stream" {
    run actl raw-hex "$(hdr 4 1 1)ffffffff"
    assert_output --regexp 'stream=1 type=2 code=(INVALID_ARGUMENT|UNKNOWN)'
}

@test "an even stream id is rejected" {
    local body
    body=$(request_hex grpc.Health Check)
    run actl raw-hex "$(hdr $((${#body} / 2)) 2 1)$body"
    assert_output --partial 'stream=2 type=2 code=INVALID_ARGUMENT'
}

@test "an oversize frame gets an error status and the connection survives" {
    local body
    body=$(request_hex grpc.Health Check)
    # 5 MiB announced; the server must answer without waiting for the whole body
    run actl -T 3 raw-hex "$(hdr 5242880 1 1)00"
    assert_output --regexp 'stream=1 type=2 code=(RESOURCE_EXHAUSTED|INVALID_ARGUMENT)'
}

@test "a truncated frame followed by a hang-up leaves the agent healthy" {
    run actl -T 0.5 raw-hex "$(hdr 100 1 1)0a0b677270"
    refute_output --partial 'code=OK'
    run actl -T 0.5 raw-hex "00000001"
    run actl check
    assert_output SERVING
}

@test "a valid raw frame is answered OK (Check via hand-built bytes)" {
    local body
    body=$(request_hex grpc.Health Check)
    run actl raw-hex "$(hdr $((${#body} / 2)) 1 1)$body"
    assert_output --partial 'stream=1 type=2 code=OK'
}

# Upstream answers an unknown container differently per call (AG/rpc.rs): its process lookup
# (SandboxError) gives INVALID_ARGUMENT/NOT_FOUND named by the variant; Start/Exec/Remove and
# WriteStdin let the error through as INTERNAL text; Update/Stats/Pause/Resume give a quoted
# INVALID_ARGUMENT.
@test "unknown container and exec ids are answered with upstream's code and message, call by call" {
    for c in wait read-stdout read-stderr close-stdin; do
        run actl "$c" --id nosuch
        assert_equal "$status" 2
        assert_output 'INVALID_ARGUMENT: InvalidContainerId'
    done
    run actl signal --id nosuch --exec-id x --signal 1
    assert_output 'INVALID_ARGUMENT: InvalidContainerId'
    run actl signal --id nosuch --exec-id '' --signal 9
    assert_output 'INTERNAL: Invalid container id nosuch'
    for c in start-container remove; do
        run actl "$c" --id nosuch
        assert_output 'INTERNAL: Invalid container id'
    done
    run actl exec --id nosuch --exec-id e -- /bin/true
    assert_output 'INTERNAL: Invalid container id'
    run actl write-stdin --id nosuch --data x
    assert_output 'INTERNAL: Invalid container id'
    for c in pause resume stats; do
        run actl "$c" --id nosuch
        assert_output 'INVALID_ARGUMENT: "invalid container id"'
    done

    actl create-container --id known --rootfs "$ROOTFS" -- /bin/payload pause
    for c in wait read-stdout read-stderr close-stdin; do
        run actl "$c" --id known --exec-id nosuch
        assert_equal "$status" 2
        assert_output 'NOT_FOUND: InvalidExecId'
    done
    run actl write-stdin --id known --exec-id nosuch --data x
    assert_output 'INTERNAL: Process not found: invalid exec id'
    run actl signal --id known --exec-id nosuch --signal 1
    assert_output 'NOT_FOUND: InvalidExecId'
    actl remove --id known
}

@test "invalid specs are rejected with a clear message and leave nothing behind" {
    run actl create-container --id bad1 --rootfs "$ROOTFS"
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial args
    run actl create-container --id bad2 --rootfs relative/path -- /bin/true
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial 'not absolute'
    run actl create-container --id bad3 --rootfs "$WORK/does-not-exist" -- /bin/true
    assert_equal "$status" 2
    assert_output --partial does-not-exist
    run actl create-container --id bad4 --rootfs "$ROOTFS" --cwd rel -- /bin/true
    assert_output --partial INVALID_ARGUMENT
    # upstream's verify_id: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, INTERNAL
    run actl create-container --id ../x --rootfs "$ROOTFS" -- /bin/true
    assert_output 'INTERNAL: invalid container ID ../x'
    run actl create-container --id "" --rootfs "$ROOTFS" -- /bin/true
    assert_output 'INTERNAL: invalid container ID '
    run actl create-container --id x --rootfs "$ROOTFS" -- /bin/true
    assert_output 'INTERNAL: invalid container ID x'
    run actl create-container --id -ab --rootfs "$ROOTFS" -- /bin/true
    assert_output --partial 'invalid container ID'
    run actl create-container --id bad5 --rootfs "$ROOTFS" --ns pid,mount,bogus -- /bin/true
    assert_equal "$status" 2
    run actl wait --id bad1
    assert_output --partial INVALID_ARGUMENT
    run grep -c /run/kata-containers/bad "/proc/$(agent_pid)/mountinfo"
    assert_output 0
}

@test "a duplicate container id is ALREADY_EXISTS" {
    actl create-container --id dup --rootfs "$ROOTFS" -- /bin/payload pause
    run actl create-container --id dup --rootfs "$ROOTFS" -- /bin/payload pause
    assert_output --partial ALREADY_EXISTS
    actl remove --id dup
}

@test "a bad signal number is INVALID_ARGUMENT" {
    actl create-container --id sig --rootfs "$ROOTFS" -- /bin/payload pause
    run actl signal --id sig --signal 999
    assert_output --partial INVALID_ARGUMENT
    actl remove --id sig
}

@test "exec into a container that is not running fails" {
    actl create-container --id notrun --rootfs "$ROOTFS" -- /bin/payload pause
    run actl exec --id notrun --exec-id e -- /bin/true
    assert_output --partial FAILED_PRECONDITION
    run actl exec --id notrun -- /bin/true
    assert_output --partial INVALID_ARGUMENT
    actl remove --id notrun
}

@test "storages: an unknown driver and a blk source that is no block device are clear errors" {
    run actl create-sandbox --storage nosuch:x:ext4:/run/kata-containers/x
    assert_equal "$status" 2
    assert_output --partial 'INTERNAL'
    assert_output --partial 'Failed to find the storage handler nosuch'
    run actl create-sandbox --storage blk:/dev/vdz:ext4:/run/kata-containers/x
    assert_equal "$status" 2
    assert_output --partial 'get metadata on file "/dev/vdz"'
    run actl create-sandbox --storage blk:/dev/null:ext4:/run/kata-containers/x
    assert_equal "$status" 2
    assert_output --partial 'Invalid device /dev/null'
    run actl check
    assert_output SERVING
}
