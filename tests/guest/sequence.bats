#!/usr/bin/env bats
# The runtime's RPC sequence (kata-runtime-facts.md §3) replayed call by call by
# build/go/bin/seqdriver against the agent in a booted guest: QEMU in Kata's default shape
# (tests/guest/lib/kata-vm.bash, initrd variant), a real virtio-fs share (Debian's virtiofsd,
# tag kataShared) laid out as the runtime lays it out (<share>/<cid>/rootfs plus the shared
# per-container files), and a virtio-net NIC with the MAC the runtime's UpdateInterface names.
# The stop sequence ends with DestroySandbox answered and the VM powering itself off.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

MAC=02:00:00:00:5e:02

setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export SEQDRIVER=$KATA_BUILD/go/bin/seqdriver
    export VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
    export WORK
    WORK=$(mktemp -d /tmp/kata-seq-guest.XXXXXX)
    chmod 755 "$WORK"
}

teardown_file() {
    # shellcheck source=lib/kata-vm.bash
    source "$BATS_TEST_DIRNAME/lib/kata-vm.bash"
    kata_vm_stop "$WORK/vm"
    [ -s "$WORK/virtiofsd.pid" ] && kill "$(cat "$WORK/virtiofsd.pid")" 2>/dev/null
    rm -rf "$WORK"
}

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -x "$SEQDRIVER" ] || skip "seqdriver not built (make test-deps)"
    [ -x "$VIRTIOFSD" ] || skip "virtiofsd not installed"
    [ -f "$KATA_BUILD/vmlinux.container" ] || skip "guest kernel not built (make kernel)"
    [ -f "$KATA_BUILD/kata-containers-initrd.img" ] || skip "guest initrd not built (make initrd)"
    [ -x "$KATA_BUILD/tests-bin/payload" ] || skip "payload not built (make test-deps)"
    command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
    # shellcheck source=lib/kata-vm.bash
    source "$BATS_TEST_DIRNAME/lib/kata-vm.bash"
}

@test "the runtime's sequence in a booted guest over virtio-fs ends with DestroySandbox answered and the VM off" {
    local share=$WORK/share cid prefix
    mkdir -p "$share" "$WORK/vm"
    "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$WORK/rootfs" >/dev/null
    cp "$KATA_BUILD/tests-bin/payload" "$WORK/rootfs/bin/payload"
    while read -r cid prefix; do
        mkdir -p "$share/$cid"
        cp -a "$WORK/rootfs" "$share/$cid/rootfs"
        printf 'seq-pod\n' >"$share/$prefix-hostname"
        printf 'nameserver 10.88.0.1\nsearch default.svc.cluster.local svc.cluster.local\n' >"$share/$prefix-resolv.conf"
        : >"$share/$prefix-termination-log"
        chmod 666 "$share/$prefix-termination-log"
    done < <("$SEQDRIVER" -ids)

    # virtiofsd as the runtime runs it (cache=auto, one thread, submounts announced)
    setsid "$VIRTIOFSD" --socket-path="$WORK/vhost-fs.sock" -o source="$share" -o cache=auto \
        --thread-pool-size=1 -o announce_submounts </dev/null >"$WORK/virtiofsd.log" 2>&1 &
    echo $! >"$WORK/virtiofsd.pid"
    for _ in $(seq 100); do [ -S "$WORK/vhost-fs.sock" ] && break; sleep 0.05; done
    [ -S "$WORK/vhost-fs.sock" ]

    kata_vm_start "$WORK/vm" initrd \
        -chardev "socket,id=char-kataShared,path=$WORK/vhost-fs.sock" \
        -device vhost-user-fs-pci,chardev=char-kataShared,tag=kataShared,queue-size=1024,bus=pcie.0 \
        -netdev user,id=network-0 -device "virtio-net-pci,netdev=network-0,mac=$MAC,disable-modern=false"
    kata_vm_wait_agent "$WORK/vm" 120

    run timeout -k 5 180 "$SEQDRIVER" -addr "unix:$WORK/vm/agent.sock" -share "$share" -mac "$MAC" \
        ${SEQ_TOLERATE:+-tolerate-unimplemented $SEQ_TOLERATE}
    echo "$output"
    [ "$status" -eq 0 ] || { tail -40 "$WORK/vm/console.log"; false; }
    refute_output --partial 'not ok'
    assert_output --partial 'DestroySandbox with no container left is answered'
    # the agent exits, kata-init powers the VM off: QEMU ends by itself, status 0
    kata_vm_wait_exit "$WORK/vm" 60
    run cat "$WORK/vm/qemu.exit"
    assert_output 0
    # what the guest wrote into the share came back to the host over virtio-fs
    prefix=$("$SEQDRIVER" -ids | awk 'NR == 2 {print $2}')
    run cat "$share/$prefix-termination-log"
    assert_output terminated-by-seq
}
