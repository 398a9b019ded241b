#!/usr/bin/env bash
# Drops old entries of the kernel cache. Every change of a fragment or of build.sh makes a new
# ~35 MB entry under ${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel/<key>/; this keeps the
# entry of the kernel now installed in OUT (the one whose bzImage OUT/vmlinuz.container is; it
# is touched, so it counts as just used) and the KEEP most recently used others.
#   kernel/prune-cache.sh [--keep N] OUT        (default KEEP: ${KATA_KERNEL_CACHE_KEEP:-3})
# Separate from build.sh on purpose: build.sh is part of the cache key.
set -euo pipefail

keep=${KATA_KERNEL_CACHE_KEEP:-3}
if [ "${1:-}" = --keep ]; then
	keep=${2:?--keep needs a number}
	shift 2
fi
[ $# -eq 1 ] || { sed -n '2,7s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[[ "$keep" =~ ^[0-9]+$ ]] || { echo "prune-cache: keep '$keep' is not a number" >&2; exit 2; }
out=$1
cache_root=${KATA_CACHE_DIR:-/var/cache/kata-guest}/kernel
[ -d "$cache_root" ] || exit 0

current=
if [ -f "$out/vmlinuz.container" ]; then
	for d in "$cache_root"/*/; do
		d=${d%/}
		if [ -f "$d/bzImage" ] && cmp -s "$d/bzImage" "$out/vmlinuz.container"; then
			current=$d
			touch "$d" 2>/dev/null || true
			break
		fi
	done
fi

n=0
while IFS= read -r d; do
	name=${d##*/}
	[[ "$name" =~ ^[0-9a-f]{64}$ ]] || continue # .work-*, .tmp-*: builds in progress
	[ "$d" = "$current" ] && continue
	n=$((n + 1))
	[ "$n" -le "$keep" ] && continue
	rm -rf "$d" "$cache_root/.lock-$name"
	echo "kernel: pruned old cache entry $name"
done < <(find "$cache_root" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
