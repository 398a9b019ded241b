#!/usr/bin/env bash
# Boot-to-init time of our guest kernel against Debian's stock kernel (linux-image-amd64),
# same initrd, same QEMU command line, same run, under TCG. Both kernels boot as PVH ELF
# (`-kernel vmlinux`); the stock one is extracted from /boot/vmlinuz-* once and cached.
#
#   bench/kernel-boot.sh [--runs N] [--kernel VMLINUX] [--stock VMLINUZ] [--initrd FILE]
#
# init_s is the guest's /proc/uptime when its first userspace program runs; wall_s is the
# host time from starting QEMU until it exits after the guest's power-off. Medians of N runs
# (default 3), printed as one line:
#   kernel-boot own_init_s=… stock_init_s=… ratio=… own_wall_s=… stock_wall_s=…
# The initrd is build/kata-containers-initrd.img when present (kata-init runs
# kata.agent="/bin/cat /proc/uptime", and powers off when that "agent" exits), else a tiny
# busybox initrd made in a temp dir whose /init prints /proc/uptime and powers off.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=3
own=$root/build/vmlinux.container
stock=
initrd=
cache=${KATA_CACHE_DIR:-/var/cache/kata-guest}/bench
boot_timeout=${BOOT_TIMEOUT:-120}

die() {
	echo "kernel-boot: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--kernel) own=${2:?--kernel needs a file}; shift 2 ;;
	--stock) stock=${2:?--stock needs a file}; shift 2 ;;
	--initrd) initrd=${2:?--initrd needs a file}; shift 2 ;;
	-h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number, got $runs"
[ -f "$own" ] || die "$own not found (make kernel)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (scripts/install-deps.sh)"
if [ -z "$stock" ]; then
	stock=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n1)
	[ -n "$stock" ] || die "no /boot/vmlinuz-*-amd64 (install linux-image-amd64: scripts/install-deps.sh)"
fi
[ -f "$stock" ] || die "$stock not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is_elf() { [ "$(head -c4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# The bzImage payload is an XZ stream after the setup code: find its magic and unpack it
# (xz stops at the end of the stream and complains about the trailer, hence || true).
extract_vmlinux() {
	local bz=$1 dst=$2 off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1) || true
	[ -n "$off" ] || return 1
	tail -c +$((off + 1)) "$bz" | xz -dc >"$dst.tmp" 2>/dev/null || true
	is_elf "$dst.tmp" || { rm -f "$dst.tmp"; return 1; }
	mv -f "$dst.tmp" "$dst"
}

stock_kernel=$stock
if ! is_elf "$stock"; then
	mkdir -p "$cache"
	stock_kernel=$cache/vmlinux-$(basename "$stock")-$(stat -c %s "$stock")
	if [ ! -f "$stock_kernel" ]; then
		extract_vmlinux "$stock" "$stock_kernel" || die "cannot extract an ELF vmlinux from $stock"
	fi
fi

busybox_initrd() {
	local dir=$tmp/initrd a
	mkdir -p "$dir"/{bin,proc,dev}
	cp /bin/busybox "$dir/bin/busybox"
	for a in sh mount cat poweroff; do ln -s busybox "$dir/bin/$a"; done
	cat >"$dir/init" <<-'EOF'
		#!/bin/sh
		mount -t proc proc /proc
		cat /proc/uptime
		poweroff -f
	EOF
	chmod 0755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n -1) >"$tmp/busybox-initrd.img"
	echo "$tmp/busybox-initrd.img"
}

extra_append=
if [ -z "$initrd" ] && [ -f "$root/build/kata-containers-initrd.img" ]; then
	initrd=$root/build/kata-containers-initrd.img
	extra_append='kata.agent="/bin/cat /proc/uptime"'
elif [ -z "$initrd" ]; then
	[ -x /bin/busybox ] || die "/bin/busybox not found (busybox-static)"
	initrd=$(busybox_initrd)
fi

# boot KERNEL: prints "init_s wall_s"; fails if the guest printed no uptime or did not power off.
boot() {
	local kernel=$1 log=$tmp/console.log t0 t1 rc up
	t0=$(date +%s.%N)
	rc=0
	timeout -k 5 "$boot_timeout" qemu-system-x86_64 -machine q35 -accel tcg -m 512 -smp 1 \
		-nodefaults -display none -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=1 nolapic_timer $extra_append" </dev/null >"$log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	up=$(tr -d '\r' <"$log" | grep -oE '^[0-9]+\.[0-9]+ [0-9]+\.[0-9]+$' | head -n1 | cut -d' ' -f1) || true
	if [ "$rc" -ne 0 ] || [ -z "$up" ]; then
		echo "kernel-boot: $kernel did not reach init and power off (qemu status $rc); console:" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	awk -v u="$up" -v a="$t0" -v b="$t1" 'BEGIN { printf "%s %.3f\n", u, b - a }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# With the kata initrd, a failing first boot falls back to the busybox initrd, so a broken
# initrd does not hide the kernel comparison (and says so).
if [ -n "$extra_append" ] && ! boot "$own" >/dev/null; then
	echo "kernel-boot: $initrd did not boot to its agent, using a busybox initrd instead" >&2
	extra_append=
	initrd=$(busybox_initrd)
fi

: >"$tmp/own" && : >"$tmp/stock"
for i in $(seq "$runs"); do
	# Alternate so drift in host load hits both kernels alike.
	boot "$own" >>"$tmp/own" || die "own kernel failed on run $i"
	boot "$stock_kernel" >>"$tmp/stock" || die "stock kernel failed on run $i"
done

own_init=$(cut -d' ' -f1 "$tmp/own" | median)
stock_init=$(cut -d' ' -f1 "$tmp/stock" | median)
own_wall=$(cut -d' ' -f2 "$tmp/own" | median)
stock_wall=$(cut -d' ' -f2 "$tmp/stock" | median)
ratio=$(awk -v o="$own_init" -v s="$stock_init" 'BEGIN { printf "%.1f", (o > 0) ? s / o : 0 }')
echo "# kernels: own=$own stock=$stock ($(basename "$stock_kernel")); initrd=$initrd; runs=$runs; accel=tcg" >&2
echo "kernel-boot own_init_s=$own_init stock_init_s=$stock_init ratio=$ratio own_wall_s=$own_wall stock_wall_s=$stock_wall"
