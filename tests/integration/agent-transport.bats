#!/usr/bin/env bats
# kata-agent's addresses and start-up configuration: abstract unix sockets, bad addresses make
# it exit 1 with a clear message; a bad setting is logged and keeps its default (agent/main.c
# says why); the handshake with kata-init.
bats_load_library bats-support
bats_load_library bats-assert

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    KATA_BUILD=${KATA_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
    AGENT_BIN=$KATA_BUILD/asan/bin/kata-agent
    AGENTCTL_BIN=$KATA_BUILD/bin/agentctl
    [ -x "$AGENT_BIN" ] && [ -x "$AGENTCTL_BIN" ] || skip "kata-agent/agentctl not built"
    LOG=$(mktemp /tmp/agent-transport.XXXXXX)
}

teardown() {
    [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -f "$LOG"
}

start_agent() { # start_agent ADDR [ENV=VAL...]
    local addr=$1
    shift
    env KATA_AGENT_SERVER_ADDR="$addr" "$@" unshare -m --propagation private "$AGENT_BIN" 2>"$LOG" &
    PID=$!
}

@test "listens on an abstract unix socket (unix://@name)" {
    local name=kata-agent-test-$$
    start_agent "unix://@$name"
    for _ in $(seq 50); do
        run "$AGENTCTL_BIN" -a "unix://@$name" check
        [ "$output" = SERVING ] && break
        sleep 0.05
    done
    assert_output SERVING
    run grep -c "listening on unix://@$name" "$LOG"
    assert_output 1
}

@test "an unsupported address scheme is a start-up error" {
    run env KATA_AGENT_SERVER_ADDR=tcp://1.2.3.4:5 timeout 10 "$AGENT_BIN"
    assert_equal "$status" 1
    assert_output --partial 'unsupported server address tcp://1.2.3.4:5'
}

@test "a malformed vsock address is a start-up error" {
    run env KATA_AGENT_SERVER_ADDR=vsock://abc timeout 10 "$AGENT_BIN"
    assert_equal "$status" 1
    assert_output --partial 'vsock://abc'
}

@test "a serial port that does not exist: no channel, exit 1" {
    run env KATA_AGENT_SERVER_ADDR=serial://no.such.port timeout 10 "$AGENT_BIN"
    assert_equal "$status" 1
    assert_output --partial 'no channel to serve'
    assert_output --partial 'no.such.port'
}

# Starts the agent on a fresh unix socket with ENV=VAL... and checks it serves.
start_serving() {
    local sock
    sock=$(mktemp -u /tmp/agent-env.XXXXXX)
    start_agent "unix://$sock" "$@"
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.05; done
    run "$AGENTCTL_BIN" -a "unix://$sock" check
    assert_output SERVING
}

@test "a bad KATA_AGENT_LOG_LEVEL is logged and left out: the agent serves at info" {
    start_serving KATA_AGENT_LOG_LEVEL=loud
    run grep -c "KATA_AGENT_LOG_LEVEL: invalid log level 'loud'" "$LOG"
    assert_output 1
    run grep -c '"level":"debug"' "$LOG"
    assert_output 0
}

@test "KATA_AGENT_LOG_LEVEL=debug shows debug lines; --version prints the version" {
    start_serving KATA_AGENT_LOG_LEVEL=debug
    run grep -c '"level":"debug"' "$LOG"
    refute_output 0
    run "$AGENT_BIN" --version
    assert_output --regexp '^kata-agent [0-9]'
}

# kata-init's handshake (common/initsync.h), with the test playing init; the real pair runs in
# tests/guest/init.bats.
@test "init handshake: READY when serving, Health answered, agent calls held until init is done" {
    ASAN_OPTIONS=detect_leaks=1 run timeout 60 /usr/bin/python3 \
        "$BATS_TEST_DIRNAME/init-sync-peer.py" "$AGENT_BIN" "$AGENTCTL_BIN" "$BATS_TEST_TMPDIR"
    assert_success
    assert_line --index 0 1..6
    refute_output --partial 'not ok'
    run grep -c '^ok' <<<"$output"
    assert_output 6
    run grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$BATS_TEST_TMPDIR/agent.log"
    assert_failure
}

@test "init handshake: an unusable KATA_INIT_SYNC_FD is reported and the agent serves everything" {
    local sock=$BATS_TEST_TMPDIR/agent.sock
    start_agent "unix://$sock" KATA_INIT_SYNC_FD=77
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    run timeout 10 "$AGENTCTL_BIN" -a "unix://$sock" -T 5 guest-details
    assert_success
    assert_output --partial "version="
    run grep -c 'KATA_INIT_SYNC_FD=77 is not an open descriptor' "$LOG"
    assert_output 1
}
