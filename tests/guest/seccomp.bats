#!/usr/bin/env bats
# Seccomp in the guest: the agent in the VM (initrd variant, real QEMU, TCG) enforces a
# linux.seccomp profile on a container of the guest's busybox rootfs, with the guest's own
# kernel (CONFIG_SECCOMP_FILTER, kernel/configs/seccomp.conf). The crun-vs-agent matrix runs
# on the host (tests/integration/agent-seccomp.bats); this shows the same code works in the VM.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load lib/kata-vm

setup_file() {
    kata_vm_test_env
    export DIR=$BATS_FILE_TMPDIR/vm
    mkdir -p "$DIR"
    # mkdir fails with EACCES; sync is fatal; the
    # names cover both architectures (the x86_64-only mkdir is skipped on aarch64).
    cat >"$BATS_FILE_TMPDIR/profile.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
 "syscalls": [
  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
  {"names": ["sync"], "action": "SCMP_ACT_KILL_PROCESS"}
 ]}
EOF
}

teardown_file() {
    kata_vm_stop "$DIR"
}

setup() {
    kata_vm_shared_initrd "$DIR"
}

teardown() {
    kata_vm_console_on_failure "$DIR"
}

# One client at a time on the virtio-serial channel: kata_vm_agent_idle.
actl() {
    kata_vm_agent_idle "$DIR"
    timeout -k 5 60 "$AGENTCTL" -a "unix://$DIR/agent.sock" -T 50 "$@"
}

@test "the guest agent says it supports seccomp" {
    run actl guest-details
    assert_success
    assert_output --partial supports_seccomp=1
}

@test "a profile is enforced in the guest: errno, kill, and the rest allowed" {
    run actl run --id sc-ok --rootfs /opt/kata/rootfs -- /bin/sh -c 'mkdir /tmp/sc-a && echo made; rmdir /tmp/sc-a'
    assert_output made
    run actl run --id sc-errno --rootfs /opt/kata/rootfs --no-new-privs \
        --seccomp "$BATS_FILE_TMPDIR/profile.json" -- /bin/sh -c 'mkdir /tmp/sc-b; echo "rc=$?"; echo alive'
    assert_success
    assert_output --partial 'Permission denied'
    assert_line rc=1
    assert_line alive
    run actl run --id sc-kill --rootfs /opt/kata/rootfs --no-new-privs \
        --seccomp "$BATS_FILE_TMPDIR/profile.json" -- /bin/sync
    assert_equal "$status" 159
    assert_output ''
    # the agent is fine afterwards
    run actl check
    assert_output --partial SERVING
}
