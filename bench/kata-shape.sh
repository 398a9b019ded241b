#!/usr/bin/env bash
# Boot to agent ready in Kata's default VM shape (tests/guest/lib/kata-vm.bash), the image on
# a read-only NVDIMM (DAX) against the initrd, and the image on virtio-blk, in the same run,
# interleaved (nvdimm, initrd, blk, nvdimm, ...) so the machine's load hits all alike. Per
# variant, the median of N boots (default 5) of:
#   wall_s   host time from starting QEMU to the first answered Health.Check (through the
#            serial-port relay, as a runtime dialing the agent would see it)
#   guest_s  the guest clock at the agent's ready line (its boottime, from the console)
# One line:
#   kata-shape runs=N nvdimm_wall_s=… initrd_wall_s=… blk_wall_s=… nvdimm_guest_s=… \
#              initrd_guest_s=… blk_guest_s=… image_B=… initrd_B=…
# Target (issue 8): the image boots no slower than the initrd.
#   bench/kata-shape.sh [--runs N]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export KATA_BUILD=${KATA_BUILD:-$root/build}
runs=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "kata-shape-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "kata-shape-bench: --runs wants a positive number" >&2; exit 1; }
for f in bin/agentctl vmlinux.container kata-containers.img kata-containers-initrd.img; do
	[ -e "$KATA_BUILD/$f" ] || { echo "kata-shape-bench: $KATA_BUILD/$f missing (make bins guest build/bin/agentctl)" >&2; exit 1; }
done
# shellcheck source=../tests/guest/lib/kata-vm.bash
. "$root/tests/guest/lib/kata-vm.bash"
work=$(mktemp -d /tmp/kata-shape-bench.XXXXXX)
cleanup() {
	local d
	for d in "$work"/*/; do [ -d "$d" ] && kata_vm_stop "$d"; done
	rm -rf "$work"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

variants=(nvdimm initrd blk)
declare -A walls guests
for i in $(seq "$runs"); do
	for v in "${variants[@]}"; do
		d=$work/$v-$i
		mkdir -p "$d"
		t0=$(date +%s.%N)
		kata_vm_start "$d" "$v"
		if ! kata_vm_wait_agent "$d" 120; then
			echo "kata-shape-bench: $v boot $i: no agent" >&2
			tail -5 "$d/console.log" >&2
			exit 1
		fi
		t1=$(date +%s.%N)
		ns=$(tr -d '\r' <"$d/console.log" | sed -n 's/.*agent ready boottime_ns=\([0-9]*\).*/\1/p' | head -1)
		kata_vm_stop "$d"
		walls[$v]+="$(printf '%.3f' "$(echo "$t1 - $t0" | bc -l)") "
		guests[$v]+="$(printf '%.3f' "$(echo "${ns:-0} / 1000000000" | bc -l)") "
	done
done
line="kata-shape runs=$runs"
for v in "${variants[@]}"; do
	line+=" ${v}_wall_s=$(printf '%s\n' ${walls[$v]} | median)"
done
for v in "${variants[@]}"; do
	line+=" ${v}_guest_s=$(printf '%s\n' ${guests[$v]} | median)"
done
line+=" image_B=$(stat -c %s "$KATA_BUILD/kata-containers.img")"
line+=" initrd_B=$(stat -c %s "$KATA_BUILD/kata-containers-initrd.img")"
echo "$line"
for v in "${variants[@]}"; do
	echo "  $v: wall ${walls[$v]}| guest ${guests[$v]}"
done
