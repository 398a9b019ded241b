#!/usr/bin/env bats
# kata-agent's kernel parameters on the host: the agent sees a file of ours as /proc/cmdline
# (bind-mounted in its private mount namespace). One agent for the file, with several
# parameters at once: container_pipe_size applied to the stdio pipes, a bad value and an
# unknown parameter logged while the agent serves, the debug console and the log port on
# vsock (this host has a vsock transport but no loopback, so only the listening side shows).
load agent_helper

setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    CMDLINE_FILE=$(mktemp /tmp/agent-cmdline.XXXXXX)
    # vsock ports are per machine: random ones, away from anything well known.
    LOG_PORT=$((40000 + RANDOM % 10000))
    DBG_PORT=$((LOG_PORT + 1))
    export CMDLINE_FILE LOG_PORT DBG_PORT
    echo "console=hvc0 agent.container_pipe_size=1048576 agent.log=loud agent.no_such_thing=1" \
        "agent.debug_console agent.debug_console_vport=$DBG_PORT agent.log_vport=$LOG_PORT" \
        >"$CMDLINE_FILE"
    export AGENT_CMDLINE=$CMDLINE_FILE
    agent_setup_file
}

teardown_file() {
    agent_teardown_file
    rm -f "$CMDLINE_FILE"
}
setup() { agent_setup; }
teardown() { agent_teardown; }

@test "agent.container_pipe_size: stdout and stderr pipes of containers get that size" {
    run actl run --id pipes --rootfs "$ROOTFS" -- /bin/payload pipe-size
    assert_success
    assert_output "1048576 1048576"
}

@test "agent.log_vport: lines wait for the host's connection, not on stdout; back at exit" {
    run grep -c "log lines go to vsock port $LOG_PORT from now on" "$AGENT_LOG"
    assert_output 1
    # everything after the switch (announce, ready line) is queued for the host
    run grep -c 'agent ready boottime_ns=' "$AGENT_LOG"
    assert_output 0
    agent_stop
    run grep -c 'agent ready boottime_ns=' "$AGENT_LOG"
    assert_output 1
    # the queue also held these: a bad value and an unknown parameter, logged once each
    run grep -c "kernel command line: agent.log: invalid log level 'loud'" "$AGENT_LOG"
    assert_output 1
    run grep -c "unknown parameters ignored: agent.no_such_thing=1" "$AGENT_LOG"
    assert_output 1
    # and the debug console's listener (vsock: one shell per connection)
    run grep -c "listening on vsock port $DBG_PORT" "$AGENT_LOG"
    assert_output 1
    agent_start
}
