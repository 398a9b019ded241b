#!/usr/bin/env bats
# Hot-plug in the real guest under QEMU/TCG, in Kata's default VM shape (lib/kata-vm.bash,
# initrd variant plus nvdimm=on), driven through the agent's API as the runtime drives it:
# disks on the pci-bridge (storage "blk", PCI path 02/NN), SCSI disks (storage "scsi", "0:N"),
# an NVDIMM (storage "nvdimm"), a disk as an OCI device, a swap disk (AddSwap), a device that
# never comes (the hot-plug timeout), vCPUs and a DIMM with OnlineCPUMem. One boot for all:
# the tests run in order and each leaves the VM usable for the next.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup_file() {
    # shellcheck source=lib/kata-vm.bash
    source "$BATS_TEST_DIRNAME/lib/kata-vm.bash"
    kata_vm_test_env
    WORK=$(mktemp -d /tmp/kata-hotplug.XXXXXX)
    export WORK VM=$WORK/vm
    mkdir -p "$VM"
    # disks made on the host, as the runtime's volumes are
    local root=$WORK/disk-root
    "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$root" >/dev/null
    echo "written-on-the-host" >"$root/marker"
    mkfs.ext4 -q -F -d "$root" "$WORK/blk.img" 16M
    cp "$WORK/blk.img" "$WORK/scsi.img"
    echo "scsi-disk" >"$root/marker"
    mkfs.ext4 -q -F -d "$root" "$WORK/scsi.img" 16M
    echo "nvdimm-disk" >"$root/marker"
    mkfs.ext4 -q -F -d "$root" "$WORK/pmem.img" 128M
    truncate -s 4M "$WORK/dev.img"
    printf 'oci-device-bytes' | dd of="$WORK/dev.img" conv=notrunc status=none
    truncate -s 64M "$WORK/swap.img"
    mkswap -q "$WORK/swap.img" >/dev/null 2>&1 || mkswap "$WORK/swap.img" >/dev/null
    kata_vm_start "$VM" initrd -machine nvdimm=on
    kata_vm_wait_agent "$VM" 180
    "$AGENTCTL" -a "unix://$VM/agent.sock" create-sandbox --id hp
}

teardown_file() {
    source "$KATA_SRC/tests/guest/lib/kata-vm.bash"
    kata_vm_stop "$VM"
    rm -rf "$WORK"
}

setup() {
    source "$KATA_SRC/tests/guest/lib/kata-vm.bash"
}

# Every agentctl is a new connection through the relay (lib/kata-vm-relay.py); a reconnect
# right after a close can go unnoticed by the guest and then never gets the agent's greeting,
# so calls are spaced a little.
actl() {
    sleep 0.2
    timeout -k 5 120 "$AGENTCTL" -a "unix://$VM/agent.sock" -T 60 "$@"
}

qmp() {
    kata_vm_qmp "$VM" "$1"
}

# A command in a container on the guest's own busybox rootfs; prints its stdout. Storages
# mounted under /opt/kata/rootfs/mnt are seen by such a container at /mnt (the rootfs is bound
# recursively), which is how these tests look at the agent's mounts.
in_guest() {
    actl run --rootfs /opt/kata/rootfs -- "$@"
}

# A container whose rootfs is a storage at MP; checks what it prints. Removes it.
run_on_storage() { # run_on_storage ID STORAGE MP EXPECTED -- CMD...
    local id=$1 storage=$2 mp=$3 want=$4
    shift 5
    run -0 actl create-container --id "$id" --storage "$storage" --rootfs "$mp" -- "$@"
    run -0 actl start-container --id "$id"
    run -0 actl read-stdout --id "$id" --all
    assert_output "$want"
    run -0 actl remove --id "$id"
}

# blockdev + device on the pci-bridge at slot N (hex), as the runtime hot-plugs a volume.
plug_blk() { # plug_blk NAME FILE SLOT
    qmp "{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"$1\",\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"$2\"}}}"
    qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-blk-pci\",\"id\":\"dev-$1\",\"drive\":\"$1\",\"bus\":\"pci-bridge-0\",\"addr\":\"0x$3\"}}"
}

@test "blk: a disk hot-plugged on the pci-bridge (02/01) is the rootfs of a container" {
    run -0 plug_blk blk1 "$WORK/blk.img" 1
    local mp=/run/kata-containers/sandbox/storage/blk1
    run_on_storage cblk "blk:02/01:ext4:$mp" "$mp" written-on-the-host -- cat /marker
}

@test "blk: CreateContainer waits for a disk plugged after the call (uevent), then mounts it" {
    local mp=/run/kata-containers/sandbox/storage/blk2
    cp "$WORK/blk.img" "$WORK/blk2.img"
    # the backend first: only device_add makes a guest device, and a QMP round trip through
    # the helper costs about a second of the 3 s the agent waits
    run -0 qmp "{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"blk2\",\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"$WORK/blk2.img\"}}}"
    actl create-container --id cwait --storage "blk:02/05:ext4:$mp" --rootfs "$mp" \
        -- cat /marker >"$WORK/cwait.out" 2>&1 &
    local pid=$!
    sleep 0.3
    run -0 qmp '{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","id":"dev-blk2","drive":"blk2","bus":"pci-bridge-0","addr":"0x5"}}'
    local rc=0
    wait "$pid" || rc=$?
    cat "$WORK/cwait.out"
    [ "$rc" -eq 0 ]
    run -0 actl start-container --id cwait
    run -0 actl read-stdout --id cwait --all
    assert_output written-on-the-host
    run -0 actl remove --id cwait
}

@test "scsi: a scsi-hd on scsi0 (\"1:0\", scanned by the agent) is mounted" {
    run -0 qmp "{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":\"scsi1\",\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"$WORK/scsi.img\"}}}"
    run -0 qmp '{"execute":"device_add","arguments":{"driver":"scsi-hd","id":"dev-scsi1","drive":"scsi1","bus":"scsi0.0","scsi-id":1,"lun":0}}'
    local mp=/run/kata-containers/sandbox/storage/scsi1
    run_on_storage cscsi "scsi;1:0;ext4;$mp" "$mp" scsi-disk -- cat /marker
}

@test "nvdimm: a hot-plugged NVDIMM (/dev/pmem0) is mounted" {
    run -0 qmp "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"mempmem1\",\"mem-path\":\"$WORK/pmem.img\",\"size\":134217728,\"share\":true}}"
    run -0 qmp '{"execute":"device_add","arguments":{"driver":"nvdimm","id":"nv1","memdev":"mempmem1"}}'
    local mp=/run/kata-containers/sandbox/storage/pmem1
    # without "dax" (the runtime sends it): a raw NVDIMM namespace has no pfn info block, and
    # ext4 refuses DAX on it
    run_on_storage cpmem "nvdimm:/dev/pmem0:ext4:$mp" "$mp" nvdimm-disk -- cat /marker
}

@test "OCI device: a blk disk (02/03) is the container's /dev/mydisk with the guest's numbers" {
    run -0 plug_blk dev1 "$WORK/dev.img" 3
    # 254:99 stands for the host's numbers; the agent must put the guest's in the spec
    run -0 in_guest_dev
    assert_line --index 0 oci-device-bytes
    local got
    got=$(echo "$output" | sed -n 2p)
    [ "$got" != "fe:63" ] || { echo "host numbers kept: $got"; return 1; }
    [[ "$got" =~ ^[0-9a-f]+:[0-9a-f]+$ ]]
}

in_guest_dev() {
    actl run --rootfs /opt/kata/rootfs --device 'blk;02/03;/dev/vdx;/dev/mydisk;254;99' \
        -- sh -c 'head -c 16 /dev/mydisk; echo; stat -c %t:%T /dev/mydisk'
}

@test "OCI devices: vfio is not supported, an unknown type and missing fields are errors" {
    run actl create-container --id cv --rootfs /opt/kata/rootfs --device 'vfio-pci;1;;/dev/vfio/1;1;1' -- true
    assert_failure 2
    assert_output --partial UNIMPLEMENTED
    run actl create-container --id cv --rootfs /opt/kata/rootfs --device 'nosuch;1;;/dev/x;1;1' -- true
    assert_output --partial 'Failed to find the device handler nosuch'
    run actl create-container --id cv --rootfs /opt/kata/rootfs --device 'blk;02/03;;;1;1' -- true
    assert_output --partial 'invalid container path for device'
}

@test "AddSwap: a swap disk on the bridge (02/04) is turned on, SwapTotal grows" {
    local before after
    before=$(in_guest awk '/^SwapTotal:/ {print $2}' /proc/meminfo)
    run -0 plug_blk swap1 "$WORK/swap.img" 4
    run -0 actl add-swap --pci 02/04
    after=$(in_guest awk '/^SwapTotal:/ {print $2}' /proc/meminfo)
    echo "SwapTotal $before -> $after kB"
    [ "$after" -gt $((before + 60000)) ]
}

@test "a device that never appears fails after the hot-plug timeout; the agent keeps serving" {
    local start=$SECONDS
    run actl create-container --id cnever --storage "blk:02/1e:ext4:/run/kata-containers/sandbox/storage/never" \
        --rootfs /opt/kata/rootfs -- true
    assert_failure 2
    assert_output --partial INTERNAL
    assert_output --partial 'Timeout after 3s waiting for uevent'
    [ $((SECONDS - start)) -ge 3 ]
    run actl add-swap --pci 02/1d
    assert_output --partial 'Timeout after 3s waiting for uevent'
    run -0 actl check
    assert_output SERVING
    run -0 in_guest echo still-serving
    assert_output still-serving
}

@test "ephemeral hugetlbfs: the pages are reserved (nr_hugepages read back) and mounted" {
    local mp=/opt/kata/rootfs/mnt/huge
    run -0 actl create-container --id chuge --rootfs /opt/kata/rootfs \
        --storage "ephemeral;nodev;hugetlbfs;$mp;pagesize=2097152,size=4194304" \
        -- sh -c "cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages; grep ' /mnt/huge ' /proc/mounts"
    run -0 actl start-container --id chuge
    run -0 actl read-stdout --id chuge --all
    assert_line --index 0 2
    assert_line --index 1 --partial "/mnt/huge hugetlbfs"
    run -0 actl remove --id chuge
}

@test "UpdateEphemeralMounts remounts an ephemeral tmpfs with the new size; other drivers are refused" {
    local mp=/opt/kata/rootfs/mnt/e1
    run -0 actl create-container --id ceph --rootfs /opt/kata/rootfs --storage "ephemeral;tmpfs;tmpfs;$mp;fsgid=1000" -- true
    run -0 actl update-ephemeral --storage "ephemeral;tmpfs;tmpfs;$mp;remount,size=2M,fsgid=1000"
    run -0 in_guest sh -c "df -k /mnt/e1 | tail -1; stat -c '%a %g' /mnt/e1"
    assert_line --index 0 --regexp '^tmpfs +2048 '
    assert_line --index 1 '3777 1000'
    run actl update-ephemeral --storage "local;;;$mp;mode=0777"
    assert_failure 2
    assert_output --partial 'Unsupported storage type for syncing mounts local'
    run -0 actl remove --id ceph
}

@test "overlayfs with overlay-rw: a writable container rootfs over a read-only lower" {
    local mp=/run/kata-containers/shared/containers/cov/rootfs
    run_on_storage cov "overlayfs;overlay;overlay;$mp;lowerdir=/opt/kata/rootfs,io.katacontainers.fs-opt.overlay-rw" \
        "$mp" upper -- sh -c 'echo upper >/written-in-overlay && cat /written-in-overlay'
    # the write went to the upper directory, not to the lower
    run -0 in_guest sh -c 'ls /written-in-overlay 2>&1 || true'
    assert_output --partial 'No such file'
}

@test "local: the directory gets mode= and fsgid= (setgid), nothing is mounted" {
    local mp=/opt/kata/rootfs/mnt/vol1
    run -0 actl create-container --id cloc --rootfs /opt/kata/rootfs --storage "local;;;$mp;mode=0750,fsgid=1000" -- true
    run -0 in_guest stat -c '%a %g' /mnt/vol1
    assert_output '2750 1000'
    run -0 actl remove --id cloc
}

@test "vCPU: device_add of a CPU, OnlineCPUMem with the new total, a container sees both CPUs" {
    local type
    type=$(qmp '{"execute":"query-hotpluggable-cpus"}' |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["return"]; print([c["type"] for c in r if "qom-path" not in c][0])')
    run -0 qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"$type\",\"id\":\"cpu1\",\"socket-id\":1,\"core-id\":0,\"thread-id\":0}}"
    run -0 actl online-cpu-mem --cpus 2 --cpu-only
    run -0 in_guest sh -c 'cat /sys/devices/system/cpu/online; grep Cpus_allowed_list /proc/self/status'
    assert_line --index 0 0-1
    assert_line --index 1 --regexp 'Cpus_allowed_list:[[:space:]]+0-1'
}

@test "memory: a hot-plugged DIMM is onlined (OnlineCPUMem), MemTotal grows" {
    local before after
    before=$(in_guest awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    run -0 qmp '{"execute":"object-add","arguments":{"qom-type":"memory-backend-file","id":"memdimm1","mem-path":"/dev/shm","size":268435456,"share":true}}'
    run -0 qmp '{"execute":"device_add","arguments":{"driver":"pc-dimm","id":"dimm1","memdev":"memdimm1"}}'
    run -0 actl online-cpu-mem --cpus 0
    after=$(in_guest awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    echo "MemTotal $before -> $after kB"
    [ "$after" -gt $((before + 200000)) ]
}
