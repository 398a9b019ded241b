#!/usr/bin/env bash
# Debian's containerd 1.6 (a private instance, tests/containerd/lib/containerd.bash) running
# `ctr run --rm IMG ID true` on the busybox OCI image through our runtime
# (io.containerd.kata-guest.v2) and through containerd's runc shim (io.containerd.runc.v2):
# host wall time, the two interleaved run by run after one warm-up each, median of N
# (default 11). Then each shim's resident memory (VmRSS) while a `sleep` task runs in it.
# Target (issue 10): ours <= 3x runc's time under TCG. Then the same runs with a VM pool of
# the shim's shape (kata-host pool start --size 0 --shim-size 1), each timed once the pool has
# a ready VM, interleaved with runc again (issue 13).
#
#   bench/containerd.sh [--runs N]
#
# The shim is KG_SHIM_BIN (default: the release build, build/bin/containerd-shim-kata-guest-v2);
# when it is missing, runc is measured alone and our column says "missing". Prints a table,
# then one line:
#   containerd ours_s=… runc_s=… ratio=… ours_shim_rss_kib=… runc_shim_rss_kib=…
#     pooled_s=… pooled_runc_s=… pooled_ratio=…
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=11
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "containerd-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "containerd-bench: --runs wants a positive number" >&2; exit 1; }
command -v containerd >/dev/null || { echo "containerd-bench: containerd not installed (scripts/install-deps.sh)" >&2; exit 1; }

export KATA_SRC=$root KATA_BUILD=${KATA_BUILD:-$root/build}
# The release shim: ASan would inflate both its time and its RSS.
export KG_SHIM_BIN=${KG_SHIM_BIN:-$KATA_BUILD/bin/containerd-shim-kata-guest-v2}
# shellcheck source=../tests/containerd/lib/containerd.bash
source "$root/tests/containerd/lib/containerd.bash"
ctr_setup containerd-bench
# Where the shims containerd starts look for the pool (none runs until the pooled phase).
export KATA_HOST_RUN_DIR=$CTR_WORK/kh
KH=${KATA_HOST_BIN:-$KATA_BUILD/bin/kata-host}
trap '[ -x "$KH" ] && "$KH" pool stop >/dev/null 2>&1; ctr_cleanup' EXIT
ctr_start
ctr_import_busybox

ours=io.containerd.kata-guest.v2 runc=io.containerd.runc.v2
runtimes=("$runc")
have_ours=0
if [ -x "$KG_SHIM_BIN" ]; then
	have_ours=1
	runtimes=("$ours" "$runc")
else
	echo "containerd-bench: $KG_SHIM_BIN missing: runc alone" >&2
fi

n=0
one_run() { # RUNTIME: prints the wall seconds of one `ctr run --rm IMG ID true`
	local t0 t1
	n=$((n + 1))
	t0=$(date +%s.%N)
	KG_CTR_RUNTIME=$1 ctr_run --rm "$IMG" "$(ctr_id "r$n")" true </dev/null >/dev/null ||
		{ echo "containerd-bench: ctr run through $1 failed" >&2; return 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

declare -A times
for r in "${runtimes[@]}"; do one_run "$r" >/dev/null; done # page cache, VM template
for _ in $(seq "$runs"); do
	for r in "${runtimes[@]}"; do
		times[$r]+="$(one_run "$r") "
	done
done

# The pooled phase: every run of ours waits for a ready VM of the shim's shape first.
pooled_ready() {
	local i
	for i in $(seq 600); do
		"$KH" pool status 2>/dev/null | awk '$1 == "vm" && $3 == "ready" && $7 == "shim" {f = 1} END {exit !f}' && return 0
		sleep 0.1
	done
	echo "containerd-bench: the pool has no ready VM" >&2
	return 1
}
pooled=missing pooled_runc=missing pooled_ratio=missing
if [ "$have_ours" = 1 ] && [ -x "$KH" ] && "$KH" pool start --size 0 --shim-size 1 >/dev/null; then
	pt="" prt=""
	for _ in $(seq "$runs"); do
		pooled_ready
		pt+="$(one_run "$ours") "
		prt+="$(one_run "$runc") "
	done
	"$KH" pool stop >/dev/null
fi

# STAT(median|min|max) of the numbers on stdin
stat_of() {
	sort -g | awk -v s="$1" '{a[NR] = $1}
		END {
			if (s == "min") v = a[1]; else if (s == "max") v = a[NR]
			else if (NR % 2) v = a[(NR + 1) / 2]; else v = (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "%.3f\n", v
		}'
}

# VmRSS (KiB) of the shim serving a `sleep` task of RUNTIME, whose binary name is SHIM.
shim_rss() { # RUNTIME SHIM
	local id pid rss=""
	id=$(ctr_id "rss-${2##*-shim-}")
	KG_CTR_RUNTIME=$1 ctr_run -d "$IMG" "$id" sleep 1000 </dev/null >/dev/null
	ctr_wait_status "$id" RUNNING 120 >&2
	sleep 1
	for pid in $(pgrep -f -- "$2 .*-address $CTR_SOCK( |$)|$2 .*-id $id( |$)"); do
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$rss" ] && break
	done
	ctr_ task kill -s SIGKILL "$id" >/dev/null
	ctr_wait_status "$id" STOPPED 60 >&2
	ctr_ task rm "$id" >/dev/null
	ctr_ containers rm "$id" >/dev/null
	echo "${rss:-NA}"
}

declare -A med lo hi rss
for r in "${runtimes[@]}"; do
	med[$r]=$(tr ' ' '\n' <<<"${times[$r]}" | grep . | stat_of median)
	lo[$r]=$(tr ' ' '\n' <<<"${times[$r]}" | grep . | stat_of min)
	hi[$r]=$(tr ' ' '\n' <<<"${times[$r]}" | grep . | stat_of max)
done
rss[$runc]=$(shim_rss "$runc" containerd-shim-runc-v2)
ratio=missing
if [ "$have_ours" = 1 ]; then
	rss[$ours]=$(shim_rss "$ours" containerd-shim-kata-guest-v2)
	ratio=$(printf '%.2f' "$(echo "${med[$ours]} / ${med[$runc]}" | bc -l)")
else
	med[$ours]=missing lo[$ours]=missing hi[$ours]=missing rss[$ours]=missing
fi

if [ -n "${pt:-}" ]; then
	pooled=$(tr ' ' '\n' <<<"$pt" | grep . | stat_of median)
	pooled_runc=$(tr ' ' '\n' <<<"$prt" | grep . | stat_of median)
	pooled_ratio=$(printf '%.2f' "$(echo "$pooled / $pooled_runc" | bc -l)")
fi

echo "containerd $(containerd --version | awk '{print $3}'): ctr run --rm IMG ID true, median of $runs, interleaved"
printf '%-30s %9s %9s %9s %15s\n' runtime median_s min_s max_s shim_rss_kib
for r in "$ours" "$runc"; do
	printf '%-30s %9s %9s %9s %15s\n' "$r" "${med[$r]}" "${lo[$r]}" "${hi[$r]}" "${rss[$r]}"
done
printf '%-30s %9s   (runc in the same phase %s)\n' "$ours from the pool" "$pooled" "$pooled_runc"
echo "containerd ours_s=${med[$ours]} runc_s=${med[$runc]} ratio=$ratio" \
	"ours_shim_rss_kib=${rss[$ours]} runc_shim_rss_kib=${rss[$runc]}" \
	"pooled_s=$pooled pooled_runc_s=$pooled_runc pooled_ratio=$pooled_ratio"
