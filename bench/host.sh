#!/usr/bin/env bash
# kata-host end to end under TCG: host wall time of `kata-host run -- true` (median of N,
# default 5, after one warm-up that also builds the VM template, so the runs start from it as
# they do by default), the same with --no-template (a full boot each time), the guest clock
# when the agent is ready (from the agent's hello line) against when kata-init started (its
# own boottime line, from its first instruction; booted runs), and the sizes of what boots.
# Next to it, the floor of this machine in the same run: the same QEMU command line
# (firmware, kernel, devices) with a busybox initrd whose /init powers off at once, so what
# kata-host adds on top of a bare boot is visible whatever the machine's speed. One line:
#   host wall_s=… boot_wall_s=… bare_boot_s=… overhead_s=… agent_ready_guest_s=… \
#        init_guest_s=… ready_after_init_s=… vmlinux_B=… vmlinuz_B=… initrd_B=… init_B=… \
#        agent_B=… host_B=…   (overhead_s = boot_wall_s - bare_boot_s)
# Targets (issue 3): wall_s <= 0.8; ready_after_init_s <= 0.1.
#   bench/host.sh [--runs N]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
b=${KATA_BUILD:-$root/build}
runs=5
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "host-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "host-bench: --runs wants a positive number" >&2; exit 1; }
for f in "$b/bin/kata-host" "$b/vmlinux.container" "$b/kata-containers-initrd.img"; do
	[ -e "$f" ] || { echo "host-bench: $f missing (make bins guest)" >&2; exit 1; }
done
export KATA_HOST_ACCEL=${KATA_HOST_ACCEL:-tcg}
export KATA_HOST_RUN_DIR=$(mktemp -d /tmp/kata-host-bench.XXXXXX)
export KATA_HOST_TEMPLATE_DIR=$KATA_HOST_RUN_DIR/templates
trap 'rm -rf "$KATA_HOST_RUN_DIR"' EXIT

kh() { timeout -k 5 120 "$b/bin/kata-host" "$@"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

kh run -- true >/dev/null # warm the page cache; build the VM template
timed_runs() { # ARGS...: prints the wall seconds of each of $runs runs of `kata-host run ARGS -- true`
	local t0 t1
	for _ in $(seq "$runs"); do
		t0=$(date +%s.%N)
		kh run "$@" -- true >/dev/null
		t1=$(date +%s.%N)
		printf '%.3f\n' "$(echo "$t1 - $t0" | bc -l)"
	done
}
mapfile -t walls < <(timed_runs)
wall=$(printf '%s\n' "${walls[@]}" | median)
mapfile -t boot_walls < <(timed_runs --no-template)
boot_wall=$(printf '%s\n' "${boot_walls[@]}" | median)

# The floor: kata-host's own QEMU command line, minus the agent channel (nobody listens), with
# an initrd that powers off at once.
bare_initrd() {
	local dir=$KATA_HOST_RUN_DIR/bare a
	mkdir -p "$dir"/{bin,proc,dev}
	cp /bin/busybox "$dir/bin/busybox"
	for a in sh poweroff; do ln -s busybox "$dir/bin/$a"; done
	printf '#!/bin/sh\npoweroff -f\n' >"$dir/init"
	chmod 0755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n -9) >"$KATA_HOST_RUN_DIR/bare.img"
}
bare_initrd
eval "qemu_argv=($(kh run --dry-run -- true))"
bare_argv=()
skip_next=0
for a in "${qemu_argv[@]}"; do
	if [ "$skip_next" = 1 ]; then skip_next=0; continue; fi
	case "$a" in
	*agent0* | *vser0*) unset 'bare_argv[${#bare_argv[@]}-1]'; continue ;; # and its -device/-chardev
	esac
	bare_argv+=("$a")
	[ "$a" = -initrd ] && { bare_argv+=("$KATA_HOST_RUN_DIR/bare.img"); skip_next=1; }
done
bares=()
for _ in $(seq "$runs"); do
	t0=$(date +%s.%N)
	timeout -k 5 60 "${bare_argv[@]}" </dev/null >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	bares+=("$(printf '%.3f' "$(echo "$t1 - $t0" | bc -l)")")
done
bare=$(printf '%s\n' "${bares[@]}" | median)

# Guest-side stages from -v (the kernel stays quiet; kata-init prints its start time).
readies=() inits=() gaps=()
for _ in $(seq "$runs"); do
	out=$(kh run -v --no-template -- true 2>&1 >/dev/null)
	ready=$(sed -n 's/.*agent ready .*guest time \([0-9.]*\) s.*/\1/p' <<<"$out")
	init=$(sed -n 's/.*kata-host: init .*guest time \([0-9.]*\) s.*/\1/p' <<<"$out")
	[ -n "$ready" ] && readies+=("$ready")
	if [ -n "$ready" ] && [ -n "$init" ]; then
		inits+=("$init")
		gaps+=("$(printf '%.3f' "$(echo "$ready - $init" | bc -l)")")
	fi
done
med() { if [ $# -gt 0 ]; then printf '%s\n' "$@" | median; else echo NA; fi; }
size() { [ -e "$1" ] && stat -L -c %s "$1" || echo NA; }
printf 'host wall_s=%.3f boot_wall_s=%.3f bare_boot_s=%.3f overhead_s=%.3f agent_ready_guest_s=%s init_guest_s=%s ready_after_init_s=%s vmlinux_B=%s vmlinuz_B=%s initrd_B=%s init_B=%s agent_B=%s host_B=%s\n' \
	"$wall" "$boot_wall" "$bare" "$(echo "$boot_wall - $bare" | bc -l)" "$(med "${readies[@]}")" "$(med "${inits[@]}")" "$(med "${gaps[@]}")" \
	"$(size "$b/vmlinux.container")" "$(size "$b/vmlinuz.container")" \
	"$(size "$b/kata-containers-initrd.img")" "$(size "$b/bin/kata-init")" \
	"$(size "$b/bin/kata-agent")" "$(size "$b/bin/kata-host")"
echo "host walls_s=${walls[*]} boot_walls_s=${boot_walls[*]} bare_boots_s=${bares[*]}"
