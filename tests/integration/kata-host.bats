#!/usr/bin/env bats
# kata-host driving a real kata-agent on the host (--agent-addr), no VM: the CLI, the
# lifecycle it sends, stdio relaying, exit codes, the session socket (exec/ps/stop) and the
# hybrid-vsock handshake through a fake VMM socket. Each test gets a fresh agent, because
# kata-host ends every sandbox with DestroySandbox, after which the agent exits.

bats_require_minimum_version 1.5.0
load agent_helper

setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export AGENT_BIN=$KATA_BUILD/asan/bin/kata-agent
    export KH=$KATA_BUILD/asan/bin/kata-host
    export FAKE_HVSOCK=$KATA_BUILD/asan/tools/fake-hvsock
    export WORK=$(mktemp -d /tmp/kata-host-bats.XXXXXX)
    chmod 755 "$WORK"
    export ROOTFS=$WORK/rootfs
    [ "$(id -u)" = 0 ] || return 0
    "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$ROOTFS" >/dev/null
    printf '#!/bin/sh\necho not-exec\n' >"$ROOTFS/bin/noexec.sh"
    chmod 644 "$ROOTFS/bin/noexec.sh"
}

teardown_file() {
    rm -rf "$WORK"
}

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -x "$AGENT_BIN" ] || skip "kata-agent not built"
    [ -x "$KH" ] || skip "kata-host not built"
    export AGENT_SOCK=$WORK/agent-$BATS_TEST_NUMBER.sock AGENT_LOG=$WORK/agent-$BATS_TEST_NUMBER.log
    export KATA_HOST_RUN_DIR=$WORK/run-$BATS_TEST_NUMBER
    export ADDR=unix://$AGENT_SOCK
    agent_start
}

teardown() {
    agent_stop
    [ -z "${FAKE_PID:-}" ] || kill "$FAKE_PID" 2>/dev/null || true
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$AGENT_LOG" 2>/dev/null; then
        grep -A30 -E 'ERROR: AddressSanitizer|runtime error:' "$AGENT_LOG" >&2
        return 1
    fi
}

kh() {
    timeout -k 2 60 "$KH" "$@"
}

@test "kata-host run: stdout and exit status 0" {
    run kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" -- echo hello world
    assert_success
    assert_output "hello world"
}

@test "kata-host run: the command's exit status comes back (3)" {
    run -3 kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" -- sh -c 'exit 3'
}

@test "kata-host run: stdout and stderr stay separate and byte-exact" {
    run bash -c "'$KH' run --agent-addr '$ADDR' --rootfs '$ROOTFS' -- sh -c 'echo out; echo err >&2' 2>$WORK/err"
    assert_success
    assert_output "out"
    assert_equal "$(cat "$WORK/err")" "err"
}

@test "kata-host run -i: binary stdin round-trips exactly (1 MiB)" {
    head -c 1048576 /dev/urandom >"$WORK/blob"
    want=$(sha256sum <"$WORK/blob" | cut -d' ' -f1)
    got=$(timeout 60 "$KH" run -i --agent-addr "$ADDR" --rootfs "$ROOTFS" -- cat <"$WORK/blob" | sha256sum | cut -d' ' -f1)
    assert_equal "$got" "$want"
}

@test "kata-host run: without -i the command sees EOF on stdin" {
    run bash -c "echo should-not-arrive | timeout 30 '$KH' run --agent-addr '$ADDR' --rootfs '$ROOTFS' -- sh -c 'cat; echo done'"
    assert_success
    assert_output "done"
}

@test "kata-host run: a closed stdout ends an endless writer instead of hanging" {
    run bash -c "timeout 30 '$KH' run --agent-addr '$ADDR' --rootfs '$ROOTFS' -- yes | head -2; echo rc=\${PIPESTATUS[0]}"
    assert_line --index 0 "y"
    assert_line --index 1 "y"
    assert_output --regexp "rc=(137|141)"
}

@test "kata-host run: -e, -w and -u reach the process" {
    run kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" -e FOO=bar -w /tmp -u 1000:1000 -- sh -c 'echo $FOO; pwd; id -u; id -g'
    assert_success
    assert_equal "${lines[0]}" "bar"
    assert_equal "${lines[1]}" "/tmp"
    assert_equal "${lines[2]}" "1000"
    assert_equal "${lines[3]}" "1000"
}

@test "kata-host run: hostname is the sandbox name" {
    run kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" --name hn-test -- hostname
    assert_success
    assert_output "hn-test"
}

@test "kata-host run: a missing command exits 127 with a message" {
    run -127 kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" -- /no/such/binary
    assert_output --partial "kata-host:"
}

@test "kata-host run: a non-executable command exits 126" {
    run -126 kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" -- /bin/noexec.sh
}

@test "kata-host run: SIGTERM to kata-host is forwarded to the command" {
    "$KH" run --agent-addr "$ADDR" --rootfs "$ROOTFS" -- sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >"$WORK/sig.out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q ready "$WORK/sig.out" && break; sleep 0.05; done
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 7
    run cat "$WORK/sig.out"
    assert_line "got-term"
}

@test "kata-host run: hybrid vsock handshake through a fake VMM socket" {
    [ -x "$FAKE_HVSOCK" ] || skip "fake-hvsock not built"
    "$FAKE_HVSOCK" "$WORK/hv.sock" "$AGENT_SOCK" 1024 &
    FAKE_PID=$!
    for _ in $(seq 50); do [ -S "$WORK/hv.sock" ] && break; sleep 0.05; done
    run kh run --agent-addr "hvsock://$WORK/hv.sock:1024" --rootfs "$ROOTFS" -- echo via-hvsock
    assert_success
    assert_output "via-hvsock"
}

@test "kata-host run: a refused hybrid vsock port is a clear error (125)" {
    [ -x "$FAKE_HVSOCK" ] || skip "fake-hvsock not built"
    "$FAKE_HVSOCK" "$WORK/hv.sock" "$AGENT_SOCK" 1024 &
    FAKE_PID=$!
    for _ in $(seq 50); do [ -S "$WORK/hv.sock" ] && break; sleep 0.05; done
    run kh run --agent-addr "hvsock://$WORK/hv.sock:2000" --rootfs "$ROOTFS" -- true
    assert_equal "$status" 125
    assert_output --partial "refused"
}

@test "kata-host: no agent listening gives a clear error and 125" {
    run kh run --agent-addr "unix://$WORK/nobody.sock" -- true
    assert_equal "$status" 125
    assert_output --partial "kata-host: agent unix://$WORK/nobody.sock"
}

@test "kata-host exec/ps/stop through the session socket of a running sandbox" {
    "$KH" run --agent-addr "$ADDR" --rootfs "$ROOTFS" --name sess1 -- sleep 60 >"$WORK/owner.out" 2>&1 &
    owner=$!
    for _ in $(seq 100); do [ -S "$KATA_HOST_RUN_DIR/sess1/session.sock" ] && [ -f "$KATA_HOST_RUN_DIR/sess1/state" ] && break; sleep 0.05; done
    run -4 kh exec sess1 -- sh -c 'echo in-exec; hostname; exit 4'

    assert_equal "${lines[0]}" "in-exec"
    assert_equal "${lines[1]}" "sess1"
    run bash -c "printf 'piped' | timeout 30 '$KH' exec -i sess1 -- cat"
    assert_success
    assert_output "piped"
    # an exec'd process is not the namespace's init, so SIGKILL takes it: 128 + 9
    run -137 kh exec sess1 -- sh -c 'kill -9 $$'
    run -127 kh exec sess1 -- /no/such/thing
    run kh ps
    assert_success
    assert_output --regexp "sess1 +$owner +0 +running .*sleep 60"
    run kh stop -t 2 sess1
    assert_success
    assert_output "sess1"
    wait "$owner" || rc=$?
    [ "${rc:-0}" -ge 128 ]
    [ ! -e "$KATA_HOST_RUN_DIR/sess1" ]
    run kh ps -q
    refute_output --partial sess1
}

@test "kata-host exec into an unknown sandbox fails with 125" {
    run kh exec nosuch -- true
    assert_equal "$status" 125
    assert_output --partial "no running sandbox named 'nosuch'"
}

@test "kata-host: a second sandbox with a live name is refused" {
    "$KH" run --agent-addr "$ADDR" --rootfs "$ROOTFS" --name dup1 -- sleep 30 >/dev/null 2>&1 &
    owner=$!
    for _ in $(seq 100); do [ -f "$KATA_HOST_RUN_DIR/dup1/state" ] && break; sleep 0.05; done
    run kh run --agent-addr "$ADDR" --rootfs "$ROOTFS" --name dup1 -- true
    assert_equal "$status" 125
    assert_output --partial "already exists"
    kh stop -t 1 dup1
    wait "$owner" || true
}

@test "kata-host: usage errors exit 125 with a message" {
    run kh run --bogus -- true
    assert_equal "$status" 125
    assert_output --partial "unknown option '--bogus'"
    run kh frobnicate
    assert_equal "$status" 125
    assert_output --partial "unknown command"
    run kh run
    assert_equal "$status" 125
    assert_output --partial "no command given"
}

@test "kata-host run --dry-run prints the QEMU command line without booting" {
    run kh run --dry-run --accel tcg --kernel /k/vmlinux --initrd /k/initrd --vm-memory 512 -- true
    assert_success
    assert_output --partial "-accel tcg"
    assert_output --partial "nolapic_timer"
    assert_output --partial "name=agent.channel.0"
    assert_output --partial "-m 512"
    if [ -e /usr/share/qemu/qboot.rom ]; then
        assert_output --partial "-bios /usr/share/qemu/qboot.rom"
    fi
    run kh run --dry-run --firmware default --kernel /k/vmlinux --initrd /k/initrd -- true
    assert_success
    refute_output --partial "-bios"
    run kh run --dry-run --firmware /k/bios.bin --kernel /k/vmlinux --initrd /k/initrd -- true
    assert_success
    assert_output --partial "-bios /k/bios.bin"
    run kh run --accel tcg --firmware /nonexistent/bios.bin --kernel /k/vmlinux --initrd /k/initrd -- true
    assert_equal "$status" 125
    assert_output --partial "--firmware /nonexistent/bios.bin: No such file or directory"
    run kh run --dry-run --hypervisor cloud-hypervisor --kernel /k/vmlinux --initrd /k/initrd -- true
    assert_success
    assert_output --partial "--vsock cid=3,socket="
    refute_output --partial "nolapic_timer"
}
