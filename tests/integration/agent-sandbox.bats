#!/usr/bin/env bats
# kata-agent on the host: CreateSandbox (hostname, dns, storages, shared namespaces, sandbox pid
# namespace), DestroySandbox (the agent exits 0 afterwards) and SIGTERM.
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
# After DestroySandbox the agent is gone: later tests get a fresh one.
setup() {
    if [ "$(id -u)" = 0 ] && [ -x "$AGENT_BIN" ] && [ ! -S "$AGENT_SOCK" ]; then agent_start; fi
    agent_setup
}
teardown() { agent_teardown; }

in_agent_ns() {
    nsenter -t "$(agent_pid)" -m "$@"
}

ns_of() { # ns_of PID TYPE
    readlink "/proc/$1/ns/$2"
}

init_pid_of() { # the container init: the agent's child running CMD
    pgrep -P "$(agent_pid)" -f "$1" | head -1
}

@test "CreateSandbox: hostname, dns, ephemeral and local storages" {
    run actl create-sandbox --id sb1 --hostname podhost --dns 'nameserver 10.0.0.10' --dns 'search example' \
        --storage ephemeral:shm:tmpfs:/run/kata-containers/sandbox/shm:nosuid,nodev,mode=1777,size=1048576 \
        --storage local:::/run/kata-containers/local/vol1:mode=0750,fsgid=1000
    assert_success
    run in_agent_ns cat /run/kata-containers/sandbox/resolv.conf
    assert_output $'nameserver 10.0.0.10\nsearch example'
    run in_agent_ns sh -c 'grep " /run/kata-containers/sandbox/shm " /proc/self/mountinfo'
    assert_output --partial tmpfs
    run in_agent_ns stat -c '%a %g' /run/kata-containers/local/vol1
    assert_output '2750 1000'
    run actl create-sandbox --id sb1
    assert_output --partial ALREADY_EXISTS
}

@test "containers share the sandbox's uts (hostname) and ipc namespaces" {
    actl create-container --id ca --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id ca
    actl create-container --id cb --ns mount,ipc,uts --sandbox-pidns --rootfs "$ROOTFS" -- /bin/sh -c 'hostname; exec /bin/payload pause'
    actl start-container --id cb
    run actl read-stdout --id cb
    assert_output podhost
    local pa pb
    pa=$(init_pid_of 'payload pause' )
    [ -n "$pa" ]
    for p in $(pgrep -P "$(agent_pid)"); do
        [ "$(ns_of "$p" ipc)" = "$(ns_of "$pa" ipc)" ] || { echo "ipc differs for $p"; return 1; }
        [ "$(ns_of "$p" uts)" = "$(ns_of "$pa" uts)" ] || { echo "uts differs for $p"; return 1; }
    done
}

@test "sandbox_pidns: a later container joins the first container's pid namespace" {
    local pids=($(pgrep -P "$(agent_pid)"))
    [ "${#pids[@]}" -ge 2 ]
    [ "$(ns_of "${pids[0]}" pid)" = "$(ns_of "${pids[1]}" pid)" ]
    [ "$(ns_of "${pids[0]}" pid)" != "$(ns_of $$ pid)" ]
    actl exec --id cb --exec-id ps -- /bin/sh -c 'ps -o comm | grep -c payload'
    run actl read-stdout --id cb --exec-id ps --all
    assert_output 2
}

@test "DestroySandbox kills every container, unmounts, answers, then the agent exits 0" {
    local pids=($(pgrep -P "$(agent_pid)"))
    [ "${#pids[@]}" -ge 2 ]
    AGENT_MAY_EXIT=1
    actl oom-event >"$WORK/oom.out" 2>&1 &
    local oom=$!
    sleep 0.2
    run actl destroy-sandbox
    assert_success
    # a parked GetOOMEvent is answered with an error, not left hanging
    wait $oom || true
    run cat "$WORK/oom.out"
    # upstream drops the event channel: INTERNAL with its quoted empty message
    assert_output 'INTERNAL: ""'
    run agent_wait_exit
    assert_output 0
    for p in "${pids[@]}"; do
        ! kill -0 "$p" 2>/dev/null || { echo "pid $p survived"; return 1; }
    done
    run grep -c '"msg":"sandbox destroyed"' "$AGENT_LOG"
    assert_output 1
}

@test "DestroySandbox after the runtime's stop sequence (no container left) answers, then the agent exits 0" {
    actl create-sandbox --id sb2 --hostname h2
    actl create-container --id cs --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id cs
    # SignalProcess(SIGKILL, exec_id "") = every process, WaitProcess, RemoveContainer
    actl signal --id cs --exec-id '' --signal 9
    run actl wait --id cs
    assert_output 137
    actl remove --id cs
    actl call grpc.AgentService RemoveStaleVirtiofsShareMounts ""
    AGENT_MAY_EXIT=1
    run actl destroy-sandbox
    assert_success
    run agent_wait_exit
    assert_output 0
    rm -f "$AGENT_SOCK"
}

@test "SIGTERM kills the containers and the agent exits 0" {
    actl create-container --id ct --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id ct
    local p
    p=$(pgrep -P "$(agent_pid)" | head -1)
    [ -n "$p" ]
    AGENT_MAY_EXIT=1
    kill -TERM "$(agent_pid)"
    run agent_wait_exit
    assert_output 0
    ! kill -0 "$p" 2>/dev/null
    rm -f "$AGENT_SOCK"
}
