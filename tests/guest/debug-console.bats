#!/usr/bin/env bats
# The agent's debug console in the real guest under QEMU/TCG, reached with `kata-host console`
# (this host has no vhost-vsock: the console rides the second virtio-serial port). Three
# boots, without VM templates (a template per configuration would cost more than it saves).

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load helpers/kata-host

setup_file() {
    kh_setup_file kata-debug-console
    export KATA_HOST_TEMPLATE=0
}

teardown_file() { kh_teardown_file; }
setup() { kh_setup; }

console() { # console [--tty] NAME SEND EXPECT TIMEOUT
    timeout -k 5 "$T" /usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/console.py" "$KH" "$@"
}

@test "--debug-console: commands typed through kata-host console run in the guest" {
    run -0 kh run -d --debug-console --name dbg1 -- sleep 600
    run console dbg1 'echo $((6*7)); cat /proc/cmdline' 'agent\.debug_console_vport=1026' 60
    assert_success
    assert_line 42
    # the shell is the agent's child in the guest, not a container process
    run console dbg1 'echo parent-$(cat /proc/$PPID/comm)' 'parent-[a-z-]+\r?\n' 30
    assert_success
    assert_line parent-kata-agent
    grep -q 'debug-console.*shell /bin/sh started' "$KATA_HOST_RUN_DIR/dbg1/console.log"
    # the second connection got a second shell: the first was killed when its host left
    run grep -c 'shell /bin/sh started' "$KATA_HOST_RUN_DIR/dbg1/console.log"
    assert_output 2
    grep -q 'the host closed the console\|the host left the console port' \
        "$KATA_HOST_RUN_DIR/dbg1/console.log"
    # on a terminal: raw bytes both ways, Ctrl-] leaves with status 0
    run console --tty dbg1 'echo tty-$((2*3))' 'tty-6\r*\n' 30
    assert_success
    assert_line tty-6
    run -0 kh stop -t 0 dbg1
}

@test "without agent.debug_console nothing answers on the port; without --debug-console kata-host says so" {
    # the port is there, the agent is not told about it
    run -0 env KATA_HOST_DEBUG_CONSOLE_AGENT=0 timeout -k 5 "$T" "$KH" run -d --debug-console \
        --name dbg2 -- sleep 600
    run console dbg2 'echo $((6*7))' '(^|\n)42\r?\n' 4
    assert_failure 1
    assert_output ""
    run grep -c 'debug-console' "$KATA_HOST_RUN_DIR/dbg2/console.log"
    assert_output 0
    run -0 kh stop -t 0 dbg2

    run -0 kh run -d --name dbg3 -- sleep 600
    run -125 kh console dbg3
    assert_output "kata-host: console: sandbox 'dbg3' was not started with --debug-console"
    run -0 kh stop -t 0 dbg3
}
