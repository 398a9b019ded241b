#!/usr/bin/env bats
# kata-agent on the host: health, container lifecycle, exec, signals, processes.
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

@test "Health Check answers SERVING, Version gives API and agent versions" {
    run actl check
    assert_success
    assert_output SERVING
    run actl version
    assert_success
    assert_output --regexp '^grpc_version=0\.0\.1 agent_version=[0-9]'
}

@test "the log is JSON with upstream's fields, announces the config and says when ready" {
    run head -1 "$AGENT_LOG"
    assert_output --regexp '"name":"kata-agent".*"source":"agent"'
    assert_output --partial 'announce version='
    assert_output --partial "server_addr=unix://$AGENT_SOCK"
    run grep -c '"msg":"agent ready boottime_ns=[0-9]*"' "$AGENT_LOG"
    assert_output 1
}

@test "full lifecycle: create, start, read stdout/stderr, wait gives the exit code" {
    run actl create-container --id life --rootfs "$ROOTFS" -- /bin/sh -c 'echo out; echo err >&2; exit 7'
    assert_success
    run actl start-container --id life
    assert_success
    run actl read-stdout --id life --all
    assert_output out
    run actl read-stderr --id life --all
    assert_output err
    run actl wait --id life
    assert_output 7
    # a collected status is gone: a second wait is NOT_FOUND
    run actl wait --id life
    assert_equal "$status" 2
    assert_output --partial NOT_FOUND
    run actl remove --id life
    assert_success
    run actl wait --id life
    assert_output --partial INVALID_ARGUMENT
}

@test "the init is held until StartContainer" {
    actl create-container --id held --rootfs "$ROOTFS" -- /bin/payload echo started
    run actl -T 0.5 read-stdout --id held
    assert_failure
    refute_output --partial started
    actl start-container --id held
    run actl read-stdout --id held --all
    assert_output started
    run actl start-container --id held
    assert_output --partial FAILED_PRECONDITION
    actl remove --id held
}

@test "exit codes and 128+signal" {
    run actl run --id ex1 --rootfs "$ROOTFS" -- /bin/payload exit 42
    assert_equal "$status" 42
    # (without a pid namespace: the init of one cannot signal itself to death)
    run actl run --id ex2 --ns mount,ipc,uts --rootfs "$ROOTFS" -- /bin/payload kill-self 9
    assert_equal "$status" 137
    run actl run --id ex3 --ns mount,ipc,uts --rootfs "$ROOTFS" -- /bin/payload kill-self 15
    assert_equal "$status" 143
}

@test "env, cwd, user and hostname come from the spec" {
    run actl run --id envc --rootfs "$ROOTFS" --env FOO=bar -- /bin/payload printenv FOO
    assert_output bar
    run actl run --id cwdc --rootfs "$ROOTFS" --cwd /etc -- /bin/payload cwd
    assert_output /etc
    run actl run --id idc --rootfs "$ROOTFS" --user 1000:1000 -- /bin/payload id
    assert_output --regexp '^uid=1000 gid=1000'
    run actl run --id hostc --rootfs "$ROOTFS" --hostname box1 -- /bin/payload hostname
    assert_output box1
}

@test "a command that does not exist fails CreateContainer or StartContainer with a clear message" {
    run actl run --id nocmd --rootfs "$ROOTFS" -- /bin/does-not-exist
    assert_failure
    assert_output --partial does-not-exist
    actl remove --id nocmd 2>/dev/null || true
}

@test "exec joins the running container's namespaces" {
    actl create-container --id ex --hostname exhost --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id ex
    actl exec --id ex --exec-id e1 -- /bin/sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; exit 5'
    run actl read-stdout --id ex --exec-id e1 --all
    assert_line --index 0 exhost
    assert_line --index 1 --partial 'payload pause'
    run actl wait --id ex --exec-id e1
    assert_output 5
    run actl wait --id ex --exec-id e1
    assert_output --partial NOT_FOUND
    # exec ids are unique while they live
    actl exec --id ex --exec-id e2 -- /bin/payload pause
    run actl exec --id ex --exec-id e2 -- /bin/true
    assert_output --partial ALREADY_EXISTS
    run actl exec --id ex --exec-id e3 -- /bin/nope
    assert_failure
    assert_output --partial nope
    run actl remove --id ex
    assert_success
}

@test "exec inherits the container's capabilities when the process has none" {
    actl create-container --id capc --caps CAP_KILL,CAP_CHOWN --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id capc
    actl exec --id capc --exec-id c1 -- /bin/payload print-caps
    run actl read-stdout --id capc --exec-id c1 --all
    assert_line --regexp '^CapEff:[[:space:]]+0000000000000021$'
    actl remove --id capc
}

@test "SIGTERM to an init without a handler becomes SIGKILL; with a handler it is delivered" {
    actl create-container --id term1 --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id term1
    actl signal --id term1 --signal 15
    run actl wait --id term1
    assert_output 137
    actl remove --id term1

    actl create-container --id term2 --rootfs "$ROOTFS" -- /bin/payload trap-term
    actl start-container --id term2
    run actl read-stdout --id term2
    assert_output ready
    actl signal --id term2 --signal 15
    run actl wait --id term2
    assert_output 42
    actl remove --id term2
}

@test "SignalProcess with an empty exec id and SIGKILL kills every process of the container" {
    actl create-container --id all --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id all
    actl exec --id all --exec-id p1 -- /bin/payload pause
    actl exec --id all --exec-id p2 -- /bin/payload pause
    run actl signal --id all --signal 9
    assert_success
    run actl wait --id all --exec-id p1
    assert_output 137
    run actl wait --id all --exec-id p2
    assert_output 137
    run actl wait --id all
    assert_output 137
    # signalling an exited process is not an error (ESRCH ignored)
    run actl signal --id all --signal 9
    assert_success
    actl remove --id all
}

@test "concurrent waiters all get the status" {
    actl create-container --id cw --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id cw
    actl wait --id cw >"$WORK/w1" &
    actl wait --id cw >"$WORK/w2" &
    actl wait --id cw >"$WORK/w3" &
    sleep 0.3
    actl signal --id cw --signal 9
    wait
    run cat "$WORK/w1" "$WORK/w2" "$WORK/w3"
    assert_output $'137\n137\n137'
    actl remove --id cw
}

@test "orphans of a container are reaped" {
    run actl run --id orph --ns mount,ipc,uts --rootfs "$ROOTFS" -- /bin/payload fork-orphans 5
    assert_success
    sleep 0.4
    run sh -c "ps -o stat= --ppid $(agent_pid) | grep -c Z"
    assert_output 0
}

@test "RemoveContainer kills a running container, with and without timeout" {
    actl create-container --id rm1 --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id rm1
    run actl remove --id rm1 --timeout 5
    assert_success
    actl create-container --id rm2 --rootfs "$ROOTFS" -- /bin/payload pause
    run actl remove --id rm2
    assert_success
    run actl remove --id rm2
    assert_output "INTERNAL: Invalid container id"
    # nothing of them is left mounted in the agent's namespace
    run grep -c /run/kata-containers/rm "/proc/$(agent_pid)/mountinfo"
    assert_output 0
}

@test "run --runs N runs N containers in turn on one connection, removes each, stops at a failure" {
    run actl run --runs 3 --id many --rootfs "$ROOTFS" -- /bin/payload echo hi
    assert_success
    assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c '^hi$')" 3
    assert_line --regexp '^agentctl: ms per container: create [0-9.]+ start [0-9.]+ output\+wait [0-9.]+ remove [0-9.]+$'
    run grep -c /run/kata-containers/many "/proc/$(agent_pid)/mountinfo"
    assert_output 0
    run actl run --runs 3 --id stops --rootfs "$ROOTFS" -- /bin/sh -c 'echo once; exit 3'
    assert_equal "$status" 3
    assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c '^once$')" 1
}

@test "PauseContainer freezes and ResumeContainer thaws" {
    actl create-container --id pz --rootfs "$ROOTFS" -- /bin/sh -c 'while :; do echo tick; sleep 0.1; done'
    actl start-container --id pz
    actl read-stdout --id pz >/dev/null
    run actl pause --id pz
    assert_success
    sleep 0.3
    actl -T 0.5 read-stdout --id pz --len 1000000 >/dev/null || true # drain what was written before
    run actl -T 0.5 read-stdout --id pz
    assert_failure # frozen: nothing new
    run actl resume --id pz
    assert_success
    run actl read-stdout --id pz
    assert_output --partial tick
    actl remove --id pz
}

@test "GetGuestDetails reports the agent version" {
    run actl guest-details
    assert_success
    assert_output --regexp '^version=[0-9].* init_daemon=0'
}

@test "containerd's Go ttrpc client runs a lifecycle against the agent (tests/go agentcheck)" {
    local check=$KATA_BUILD/go/bin/agentcheck
    [ -x "$check" ] || skip "agentcheck not built (make test-deps)"
    run timeout 60 "$check" "$AGENT_SOCK" "$ROOTFS"
    assert_success
    assert_line --index 0 1..9
    refute_output --partial 'not ok'
    run grep -c '^ok' <<<"$output"
    assert_output 9
}

@test "GetOOMEvent parks until a container is killed by its memory limit, then names it" {
    actl -T 20 oom-event >"$WORK/oom.out" &
    local bg=$!
    sleep 0.2
    run actl run --id hog --memory 16777216 --rootfs "$ROOTFS" -- /bin/payload memhog 64
    assert_equal "$status" 137
    wait $bg
    run cat "$WORK/oom.out"
    assert_output hog
    # nothing more queued: the next call parks (and times out here)
    run actl -T 0.5 oom-event
    assert_failure
    refute_output --partial hog
}

@test "StatsContainer reports the container's cgroup" {
    actl create-container --id stats --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id stats
    run actl stats --id stats
    assert_success
    assert_output --regexp '^memory_usage=[1-9][0-9]* memory_limit=[0-9]+ pids=1 '
    actl remove --id stats
    run actl stats --id stats
    assert_output --partial INVALID_ARGUMENT
}

@test "ReseedRandomDev and RemoveStaleVirtiofsShareMounts answer OK; a bad payload does not" {
    run actl call grpc.AgentService ReseedRandomDev 0a080102030405060708
    assert_success
    run actl call grpc.AgentService RemoveStaleVirtiofsShareMounts ""
    assert_success
    run actl call grpc.AgentService ReseedRandomDev 0a40
    assert_output --partial INVALID_ARGUMENT
}

# Only refusals here: a valid request would set the host's clock (the guest suite sets it).
@test "SetGuestDateTime refuses a negative second or an out-of-range microsecond" {
    # Sec = -1 (varint of a negative int64: ten bytes)
    run actl call grpc.AgentService SetGuestDateTime 08ffffffffffffffffff01
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial "invalid time -1 s"
    # Sec = 1, Usec = 1000000
    run actl call grpc.AgentService SetGuestDateTime 080110c0843d
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial "1000000 us"
}

@test "UpdateContainer changes the memory limit of a running container" {
    actl create-container --id upd --memory 67108864 --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id upd
    run actl stats --id upd
    assert_output --partial 'memory_limit=67108864 '
    run actl update --id upd --memory 33554432
    assert_success
    run actl stats --id upd
    assert_output --partial 'memory_limit=33554432 '
    run actl update --id nosuch --memory 33554432
    assert_output --partial INVALID_ARGUMENT
    actl remove --id upd
}
