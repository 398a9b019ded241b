#!/usr/bin/env bats
# kata-agent on the host: waiting for hot-plugged devices (a PCI path nothing will ever
# answer), a client that leaves while its call waits, SIGTERM with a call waiting, and an OCI
# device's spec rewritten to the guest node's numbers. What needs a real hot-plug runs in the
# guest (tests/guest/hotplug.bats).
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

# 1e on the root bus: no bridge to resolve, and no disk will ever show up there.
NEVER=blk:1e:ext4:/run/kata-containers/sandbox/storage/never

@test "a storage whose device never appears fails after the hot-plug timeout (3 s), INTERNAL" {
    local start=$SECONDS
    run actl create-container --id never --storage "$NEVER" --rootfs "$ROOTFS" -- /bin/true
    assert_equal "$status" 2
    assert_output --partial 'INTERNAL: Timeout after 3s waiting for uevent VirtioBlkPciMatcher'
    assert_output --partial '/devices/pci0000:00/0000:00:1e.0/virtio'
    [ $((SECONDS - start)) -ge 3 ]
    run actl add-swap --pci 1e
    assert_output --partial 'Timeout after 3s waiting for uevent'
}

@test "other calls are served while a call waits for its device" {
    actl create-container --id never --storage "$NEVER" --rootfs "$ROOTFS" -- /bin/true \
        >"$WORK/never.out" 2>&1 &
    local pid=$!
    sleep 0.5
    run actl check
    assert_output SERVING
    actl run --id quick --rootfs "$ROOTFS" -- /bin/echo served-meanwhile >"$WORK/quick.out"
    assert_equal "$(cat "$WORK/quick.out")" served-meanwhile
    kill -0 "$pid" # still waiting
    wait "$pid" || true
    grep -q 'Timeout after 3s' "$WORK/never.out"
}

@test "a client that leaves while its call waits: the wait is dropped, the agent goes on" {
    run timeout -k 2 30 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" -T 1 create-container --id gone \
        --storage "$NEVER" --rootfs "$ROOTFS" -- /bin/true
    assert_failure
    sleep 3 # past the agent's own timeout: the dropped wait must not fire
    run actl check
    assert_output SERVING
}

@test "OCI device: the spec entry takes the guest node's numbers (mmioblk /dev/loop0)" {
    [ -b /dev/loop0 ] || skip "no /dev/loop0 on this host"
    local want
    want=$(stat -c %t:%T /dev/loop0)
    actl run --id dev --rootfs "$ROOTFS" --device 'mmioblk;/dev/loop0;/dev/loop0;/dev/xvdb;254;99' \
        -- /bin/sh -c 'stat -c %t:%T /dev/xvdb' >"$WORK/dev.out"
    assert_equal "$(cat "$WORK/dev.out")" "$want"
    run actl create-container --id dev2 --rootfs "$ROOTFS" --device 'mmioblk;;;/dev/xvdb;254;99' -- /bin/true
    assert_output --partial 'INTERNAL: invalid ID and VM path for device'
    run actl create-container --id dev2 --rootfs "$ROOTFS" --device 'mmioblk;x;vdb;/dev/xvdb;254;99' -- /bin/true
    assert_output --partial "INTERNAL: Storage source 'vdb' must start with /dev/"
    run actl create-container --id dev2 --rootfs "$ROOTFS" --device 'scsi;1;;/dev/xvdb;254;99' -- /bin/true
    assert_output --partial 'INTERNAL: Invalid SCSI address 1'
}

@test "SIGTERM while a call waits for a device: the agent exits cleanly" {
    actl create-container --id never --storage "$NEVER" --rootfs "$ROOTFS" -- /bin/true \
        >/dev/null 2>&1 &
    sleep 0.5
    kill -TERM "$(agent_pid)"
    run agent_wait_exit
    assert_output 0
    wait || true
    ! grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$AGENT_LOG"
    agent_start
}

@test "fs_group: a blk volume's tree goes to the group (rw: 660, dirs +110 and setgid; symlinks left)" {
    mkdir -p "$WORK/vol/sub"
    echo data >"$WORK/vol/sub/file"
    chmod 600 "$WORK/vol/sub/file"
    chmod 700 "$WORK/vol/sub"
    ln -sf /etc/hostname "$WORK/vol/link"
    mkfs.ext4 -q -F -d "$WORK/vol" "$WORK/vol.img" 8M
    local loop
    loop=$(losetup -f --show "$WORK/vol.img")
    local mp=/run/kata-containers/sandbox/storage/fsg
    run actl create-container --id fsg --rootfs "$ROOTFS" --storage "blk:$loop:ext4:$mp::3000" -- /bin/true
    assert_success
    run nsenter -t "$(agent_pid)" -m stat -c '%a %g %n' "$mp" "$mp/sub" "$mp/sub/file"
    assert_line --index 0 "2775 3000 $mp"
    assert_line --index 1 "2770 3000 $mp/sub"
    assert_line --index 2 "660 3000 $mp/sub/file"
    run nsenter -t "$(agent_pid)" -m stat -c '%g' /etc/hostname
    refute_output 3000
    actl remove --id fsg
    losetup -d "$loop"
}

@test "CreateSandbox waits for its storages' devices too; after the timeout nothing is left half done" {
    run actl create-sandbox --id hp --storage "$NEVER"
    assert_equal "$status" 2
    assert_output --partial 'Timeout after 3s waiting for uevent'
    # the shared namespaces were not set up: the sandbox can still be created
    run actl create-sandbox --id hp
    assert_success
}
