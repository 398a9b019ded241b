#!/usr/bin/env bash
# The warm VM pool and template memory under TCG: wall time of `kata-host run -- true` taking a
# VM from a pool of warmed VMs, from a pool of unwarmed ones (KATA_HOST_POOL_WARM=0, a second
# pool in its own run directory), starting from the VM template (KATA_HOST_POOL=0), and booting
# (--no-template), interleaved, median of N (default 11); the -v stages of the warmed pooled
# runs (what the remainder is spent on); the client's floor (`kata-host --version` timed the
# same way); and the memory of idle sandboxes: 5 `run -d -- sleep 1000` from the template,
# QEMU's PSS (and its parts) from /proc/PID/smaps_rollup, per sandbox. Before each timed run
# the pools are full again, so their refills do not compete with the run. Walls are taken with
# bash's EPOCHREALTIME around `timeout ... kata-host` (no `date` processes in the interval).
#   pool wall_pool_s=… wall_pool_unwarmed_s=… wall_template_s=… wall_boot_s=… wall_floor_s=… \
#        pool_taken_ms=… pool_refreshed_ms=… pool_sandbox_created_ms=… \
#        pool_container_created_ms=… pool_container_started_ms=… pool_exit_status_ms=… \
#        pool_torn_down_ms=… pss_MiB=… pss_anon_MiB=… pss_file_MiB=… pss_shmem_MiB=… \
#        rss_MiB=…   (per idle sandbox)
# Targets (issue 13): wall_pool_s < 0.1; pss_MiB <= 20.
#   bench/pool.sh [--runs N]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
b=${KATA_BUILD:-$root/build}
runs=11
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "pool-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "pool-bench: --runs wants a positive number" >&2; exit 1; }
for f in "$b/bin/kata-host" "$b/vmlinux.container" "$b/kata-containers-initrd.img"; do
	[ -e "$f" ] || { echo "pool-bench: $f missing (make bins guest)" >&2; exit 1; }
done
export KATA_HOST_ACCEL=${KATA_HOST_ACCEL:-tcg}
export KATA_HOST_RUN_DIR=$(mktemp -d /tmp/kata-pool-bench.XXXXXX)
export KATA_HOST_TEMPLATE_DIR=$KATA_HOST_RUN_DIR/templates
export KATA_HOST_BENCH_COLD=$KATA_HOST_RUN_DIR/cold # the unwarmed pool's run directory
kh() { timeout -k 5 120 "$b/bin/kata-host" "$@"; }
cold() { KATA_HOST_RUN_DIR=$KATA_HOST_BENCH_COLD KATA_HOST_POOL_WARM=0 kh "$@"; }
cleanup() {
	cold pool stop >/dev/null 2>&1 || true
	kh pool stop >/dev/null 2>&1 || true
	for n in $(kh ps -q 2>/dev/null); do kh stop -t 0 "$n" >/dev/null 2>&1 || true; done
	rm -rf "$KATA_HOST_RUN_DIR"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
pools_full() {
	for _ in $(seq 300); do
		kh pool status | grep -qx "ready 2" && cold pool status | grep -qx "ready 2" && return 0
		sleep 0.05
	done
	echo "pool-bench: the pools did not refill" >&2
	return 1
}
timed() { # timed CMD ARGS...: wall seconds of one command
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	local t1=$EPOCHREALTIME
	printf '%.3f\n' "$(echo "$t1 - $t0" | bc -l)"
}
stage() { sed -n "s/.*kata-host: $1 *\([0-9.]*\) ms.*/\1/p" <<<"$2"; }

kh run -- true >/dev/null # warm the page cache; build the VM template
mkdir -p "$KATA_HOST_BENCH_COLD"
kh pool start --size 2 >/dev/null
cold pool start --size 2 >/dev/null
pools=() colds=() templates=() boots=() floors=() taken=() refreshed=() created=() ccreated=()
started=() statuses=() downs=()
for _ in $(seq "$runs"); do
	pools_full
	pools+=("$(timed kh run -- true)")
	pools_full
	colds+=("$(timed cold run -- true)")
	pools_full
	templates+=("$(KATA_HOST_POOL=0 timed kh run -- true)")
	pools_full
	boots+=("$(timed kh run --no-template -- true)")
	floors+=("$(timed kh --version)")
	pools_full
	out=$(kh run -v -- true 2>&1 >/dev/null)
	grep -q "from the VM pool: .*, warmed, " <<<"$out" || { echo "pool-bench: a run did not take a warmed VM" >&2; exit 1; }
	taken+=("$(stage "vm taken" "$out")")
	refreshed+=("$(stage "clone refreshed" "$out")")
	created+=("$(stage "sandbox created" "$out")")
	ccreated+=("$(stage "container created" "$out")")
	started+=("$(stage "container started" "$out")")
	statuses+=("$(stage "exit status" "$out")")
	downs+=("$(stage "torn down" "$out")")
done
cold pool stop >/dev/null
kh pool stop >/dev/null

# Idle sandboxes from the template: QEMU's PSS shares the template's unchanged pages.
names=()
for _ in 1 2 3 4 5; do names+=("$(KATA_HOST_POOL=0 kh run -d -- sleep 1000)"); done
sleep 2
pss=0 anon=0 file=0 shmem=0 rss=0
for n in "${names[@]}"; do
	pid=$(kh ps | awk -v n="$n" '$1 == n {print $3}')
	eval "$(awk '/^Pss:/ {printf "p=%s;", $2} /^Pss_Anon:/ {printf "a=%s;", $2}
		/^Pss_File:/ {printf "f=%s;", $2} /^Pss_Shmem:/ {printf "s=%s;", $2}
		/^Rss:/ {printf "r=%s;", $2}' "/proc/$pid/smaps_rollup")"
	pss=$((pss + p)) anon=$((anon + a)) file=$((file + f)) shmem=$((shmem + s)) rss=$((rss + r))
done
mib() { echo "scale=1; $1 / 5 / 1024" | bc -l; }
med() { printf '%s\n' "$@" | median; }
printf 'pool wall_pool_s=%s wall_pool_unwarmed_s=%s wall_template_s=%s wall_boot_s=%s wall_floor_s=%s pool_taken_ms=%s pool_refreshed_ms=%s pool_sandbox_created_ms=%s pool_container_created_ms=%s pool_container_started_ms=%s pool_exit_status_ms=%s pool_torn_down_ms=%s pss_MiB=%s pss_anon_MiB=%s pss_file_MiB=%s pss_shmem_MiB=%s rss_MiB=%s\n' \
	"$(med "${pools[@]}")" "$(med "${colds[@]}")" "$(med "${templates[@]}")" \
	"$(med "${boots[@]}")" "$(med "${floors[@]}")" "$(med "${taken[@]}")" \
	"$(med "${refreshed[@]}")" "$(med "${created[@]}")" "$(med "${ccreated[@]}")" \
	"$(med "${started[@]}")" "$(med "${statuses[@]}")" "$(med "${downs[@]}")" \
	"$(mib $pss)" "$(mib $anon)" "$(mib $file)" "$(mib $shmem)" "$(mib $rss)"
echo "pool walls_pool_s=${pools[*]} walls_pool_unwarmed_s=${colds[*]} walls_template_s=${templates[*]} walls_boot_s=${boots[*]}"
