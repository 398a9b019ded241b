#!/usr/bin/env bash
# Disk hot-plug in Kata's VM shape (tests/guest/lib/kata-vm.bash, initrd variant, TCG): time
# from QMP device_add of a virtio-blk disk on the pci-bridge to the storage mounted by the
# agent (CreateContainer with storage blk 02/NN waiting for it), median of N runs (default 5).
#   bench/hotplug.sh [--runs N]          (root: loop-free, but QEMU and mkfs run as root here)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "hotplug-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
export KATA_BUILD=$root/build
agentctl=$KATA_BUILD/bin/agentctl
work=$(mktemp -d /tmp/hotplug-bench.XXXXXX)
# shellcheck source=../tests/guest/lib/kata-vm.bash
source "$root/tests/guest/lib/kata-vm.bash"
cleanup() {
	kata_vm_stop "$work/vm"
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/vm" "$work/disk"
echo bench >"$work/disk/marker"
mkfs.ext4 -q -F -d "$work/disk" "$work/disk.img" 16M
kata_vm_start "$work/vm" initrd
kata_vm_wait_agent "$work/vm" 180
"$agentctl" -a "unix://$work/vm/agent.sock" -T 60 create-sandbox --id bench
python3 "$root/bench/hotplug-disk.py" "$work/vm" "$agentctl" "$work/disk.img" "$runs"
