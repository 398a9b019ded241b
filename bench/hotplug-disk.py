#!/usr/bin/python3
"""Time from QMP device_add of a disk to the storage mounted (bench/hotplug.sh).

    hotplug-disk.py VMDIR AGENTCTL IMAGE RUNS

The VM (lib/kata-vm.bash) runs with a sandbox created. Per run: blockdev-add of a copy of
IMAGE, then CreateContainer with storage blk 02/<slot> (parked in the agent, waiting for the
device), then device_add on the pci-bridge; the time is device_add sent -> CreateContainer
answered (the disk is mounted then), on one QMP connection kept open. Prints one line per run
and the median."""
import json, os, shutil, socket, subprocess, sys, time

vm, agentctl, image, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.path.join(vm, "qmp.sock"))
f = s.makefile("rwb")


def qmp(cmd):
    f.write(json.dumps(cmd).encode() + b"\n")
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if "event" in msg:
            continue
        if "error" in msg:
            sys.exit("bench-hotplug: %s: %s" % (cmd["execute"], msg["error"]))
        return msg


json.loads(f.readline())
qmp({"execute": "qmp_capabilities"})
agent = "unix://" + os.path.join(vm, "agent.sock")
times = []
for i in range(runs):
    slot = 0x10 + i
    # each agentctl is a new connection through the relay: leave the guest time to see the
    # last one close (a quick reconnect can go unnoticed and then gets no greeting)
    time.sleep(0.5)
    img = os.path.join(vm, "bench-%d.img" % i)
    shutil.copyfile(image, img)
    node = "bench%d" % i
    qmp({"execute": "blockdev-add", "arguments": {"node-name": node, "driver": "raw",
         "file": {"driver": "file", "filename": img}}})
    mp = "/run/kata-containers/sandbox/storage/bench%d" % i
    p = subprocess.Popen([agentctl, "-a", agent, "-T", "30", "create-container", "--id",
                          "bench%d" % i, "--storage", "blk:02/%02x:ext4:%s" % (slot, mp),
                          "--rootfs", "/opt/kata/rootfs", "--", "true"])
    time.sleep(0.5)  # the call is parked in the agent by now
    t0 = time.monotonic()
    qmp({"execute": "device_add", "arguments": {"driver": "virtio-blk-pci", "id": "dev-" + node,
         "drive": node, "bus": "pci-bridge-0", "addr": "0x%x" % slot}})
    rc = p.wait()
    dt = time.monotonic() - t0
    if rc != 0:
        sys.exit("bench-hotplug: CreateContainer failed (run %d)" % i)
    times.append(dt * 1000)
    print("hotplug-disk run=%d device_add->mounted_ms=%.0f" % (i, dt * 1000))
times.sort()
print("hotplug-disk median_ms=%.0f min_ms=%.0f max_ms=%.0f runs=%d (QEMU TCG, virtio-blk on the "
      "pci-bridge, ext4)" % (times[len(times) // 2], times[0], times[-1], runs))
