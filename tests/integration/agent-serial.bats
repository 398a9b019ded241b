#!/usr/bin/env bats
# kata-agent's serial channel (serial://PATH), simulated with a pty: the agent speaks first
# (hello line of protocol/channel.h), then serves ttRPC on the byte stream, and survives the
# host hanging up. The real virtio-serial port is exercised by the guest suites.
bats_load_library bats-support
bats_load_library bats-assert

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    KATA_BUILD=${KATA_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}
    AGENT_BIN=$KATA_BUILD/asan/bin/kata-agent
    [ -x "$AGENT_BIN" ] || skip "kata-agent not built"
    LOG=$(mktemp /tmp/agent-serial.XXXXXX)
}

teardown() {
    rm -f "$LOG"
}

@test "serial channel over a pty: hello line, requests answered, host hang-up survived" {
    ASAN_OPTIONS=detect_leaks=1 run timeout 30 /usr/bin/python3 "$BATS_TEST_DIRNAME/serial-pty.py" "$AGENT_BIN" "$LOG"
    assert_success
    assert_line --index 0 1..4
    refute_output --partial 'not ok'
    run grep -c '^ok' <<<"$output"
    assert_output 4
    run grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"
    assert_failure
    run grep -c 'host connected on' "$LOG"
    assert_output 1
}
