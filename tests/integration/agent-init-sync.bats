#!/usr/bin/env bats
# kata-agent's side of the kata-init handshake (common/initsync.h), with the test playing init:
# the agent reports ready on the socket pair, answers Health at once, holds AgentService calls
# until init closes its end. The real pair (kata-init + agent in the guest) is in
# tests/guest/init.bats.
bats_load_library bats-support
bats_load_library bats-assert

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    KATA_BUILD=${KATA_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
    AGENT_BIN=$KATA_BUILD/asan/bin/kata-agent
    AGENTCTL_BIN=$KATA_BUILD/bin/agentctl
    [ -x "$AGENT_BIN" ] || skip "kata-agent not built"
    [ -x "$AGENTCTL_BIN" ] || skip "agentctl not built"
    WORK=$(mktemp -d /tmp/agent-init-sync.XXXXXX)
}

teardown() {
    rm -rf "$WORK"
}

no_sanitizer_report() {
    run grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/agent.log"
    assert_failure
}

@test "handshake: READY when serving, Health answered, agent calls held until init is done" {
    ASAN_OPTIONS=detect_leaks=1 run timeout 60 /usr/bin/python3 \
        "$BATS_TEST_DIRNAME/init-sync-peer.py" "$AGENT_BIN" "$AGENTCTL_BIN" "$WORK"
    assert_success
    assert_line --index 0 1..6
    refute_output --partial 'not ok'
    run grep -c '^ok' <<<"$output"
    assert_output 6
    no_sanitizer_report
}

@test "handshake: an unusable KATA_INIT_SYNC_FD is reported and the agent serves everything" {
    KATA_AGENT_SERVER_ADDR=unix://$WORK/agent.sock KATA_INIT_SYNC_FD=77 \
        unshare -m --propagation private "$AGENT_BIN" >/dev/null 2>"$WORK/agent.log" &
    local pid=$!
    for _ in $(seq 100); do [ -S "$WORK/agent.sock" ] && break; sleep 0.05; done
    run timeout 10 "$AGENTCTL_BIN" -a "unix://$WORK/agent.sock" -T 5 guest-details
    kill -TERM "$pid"
    wait "$pid" || true
    assert_success
    assert_output --partial "version="
    run grep -c 'KATA_INIT_SYNC_FD=77 is not an open descriptor' "$WORK/agent.log"
    assert_output 1
    no_sanitizer_report
}
