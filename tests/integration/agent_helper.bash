# Shared by tests/integration/agent-*.bats: one real kata-agent (the ASan build) per test file,
# as root, in its own private mount namespace, serving unix://$AGENT_SOCK, with a busybox
# rootfs holding the static test payload as /bin/payload.

bats_load_library bats-support
bats_load_library bats-assert

agent_setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export AGENT_BIN=${AGENT_BIN:-$KATA_BUILD/asan/bin/kata-agent}
    export AGENTCTL_BIN=$KATA_BUILD/bin/agentctl
    export PAYLOAD=$KATA_BUILD/tests-bin/payload
    WORK=$(mktemp -d /tmp/agent-bats.XXXXXX)
    export WORK
    chmod 755 "$WORK"
    export AGENT_SOCK=$WORK/agent.sock AGENT_LOG=$WORK/agent.log ROOTFS=$WORK/rootfs
    [ "$(id -u)" = 0 ] || return 0
    [ -x "$AGENT_BIN" ] && [ -x "$AGENTCTL_BIN" ] && [ -x "$PAYLOAD" ] || return 0
    "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$ROOTFS" >/dev/null
    cp "$PAYLOAD" "$ROOTFS/bin/payload"
    agent_start
}

# Starts the agent; its pid goes to $WORK/agent.pid. It gets a private /run, so what it creates
# there (bundles, sandbox files, /run/sandbox-ns) never touches the host's. With AGENT_CMDLINE
# set to a file, the agent sees that file as its /proc/cmdline (kernel parameters).
agent_start() {
    rm -f "$AGENT_SOCK" "$WORK/agent.rc" "$WORK/agent.pid"
    # A small supervisor records the agent's pid and, once it exits, its exit status.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 KATA_AGENT_SERVER_ADDR=unix://$AGENT_SOCK \
        setsid sh -c 'unshare -m --propagation private sh -c "{ [ -z \"\$AGENT_CMDLINE\" ] || mount --bind \"\$AGENT_CMDLINE\" /proc/cmdline; } && mount -t tmpfs -o mode=755 agent-run /run && exec \"\$0\"" "$1" &
            echo $! >"$2/agent.pid"; wait $!; echo $? >"$2/agent.rc"' \
        sh "$AGENT_BIN" "$WORK" >/dev/null 2>>"$AGENT_LOG" </dev/null &
    for _ in $(seq 100); do
        [ -S "$AGENT_SOCK" ] && [ -s "$WORK/agent.pid" ] && return 0
        sleep 0.05
    done
    echo "agent did not come up" >&2
    return 1
}

agent_pid() {
    cat "$WORK/agent.pid"
}

agent_stop() {
    local pid
    pid=$(agent_pid 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

agent_teardown_file() {
    agent_stop
    rm -rf "$WORK"
}

agent_setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -x "$AGENT_BIN" ] || skip "kata-agent not built"
    [ -x "$AGENTCTL_BIN" ] || skip "agentctl not built"
    [ -S "$AGENT_SOCK" ] || skip "agent not running"
}

# After every test: the agent is alive, healthy, and its log has no sanitizer report.
agent_teardown() {
    [ -S "$AGENT_SOCK" ] || return 0
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$AGENT_LOG"; then
        grep -A30 -E 'ERROR: AddressSanitizer|runtime error:' "$AGENT_LOG" >&2
        return 1
    fi
    if [ -z "${AGENT_MAY_EXIT:-}" ]; then
        run actl check
        [ "$output" = SERVING ] || { echo "agent unhealthy after the test: $output" >&2; return 1; }
    fi
}

actl() {
    timeout -k 2 30 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" "$@"
}

# Waits until the agent exited; prints its exit status.
agent_wait_exit() {
    for _ in $(seq 200); do
        [ -s "$WORK/agent.rc" ] && { cat "$WORK/agent.rc"; return 0; }
        sleep 0.05
    done
    echo "agent still running" >&2
    return 1
}

# Waits until a file has content (or times out).
wait_for_file() {
    for _ in $(seq 100); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# Makes $AGENT_BIN a wrapper that runs the agent in the network namespace $1 (created here with
# lo up; the caller adds what else it needs with `ip -n`). Sets NETNS and NS_WRAP_DIR; undone
# by agent_netns_teardown. Returns non-zero (no wrapper) when not root or the namespace cannot
# be made.
agent_netns_setup() {
    export NETNS=$1
    export REAL_AGENT_BIN=${AGENT_BIN:-$BATS_TEST_DIRNAME/../../build/asan/bin/kata-agent}
    NS_WRAP_DIR=$(mktemp -d /tmp/agent-netns.XXXXXX)
    export NS_WRAP_DIR
    [ "$(id -u)" = 0 ] && [ -x "$REAL_AGENT_BIN" ] && ip netns add "$NETNS" || return 1
    ip -n "$NETNS" link set lo up
    # the agent gets a private /run, which hides /run/netns: keep a handle elsewhere
    touch "$NS_WRAP_DIR/net"
    mount --bind "/run/netns/$NETNS" "$NS_WRAP_DIR/net"
    printf '#!/bin/sh\nexec nsenter --net="$NS_WRAP_DIR/net" "$REAL_AGENT_BIN" "$@"\n' >"$NS_WRAP_DIR/agent"
    chmod 755 "$NS_WRAP_DIR/agent"
    export AGENT_BIN=$NS_WRAP_DIR/agent
}

agent_netns_teardown() {
    umount "$NS_WRAP_DIR/net" 2>/dev/null || true
    ip netns del "$NETNS" 2>/dev/null || true
    rm -rf "$NS_WRAP_DIR"
}

# teardown_file and setup of a file whose agent runs in the namespace of agent_netns_setup.
agent_netns_teardown_file() {
    agent_teardown_file
    agent_netns_teardown
}

agent_netns_test_setup() {
    agent_setup
    [ -x "$NS_WRAP_DIR/agent" ] || skip "no network namespace for the agent"
}
