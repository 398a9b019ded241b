#!/usr/bin/env bash
# Soak and back-pressure of the release kata-agent on the host (issue 11 item 5), through
# agentctl's soak subcommands (tests/tools/agentctl-soak.c), one agent for all three:
#   cycles  N (default 1000) create/start/read/wait/remove after 20 warm-up ones: the agent's
#           fd count must not change and its VmRSS grow by <= 64 KiB
#   execs   M (default 200) concurrent ExecProcess in one container on one connection: all
#           exit with their own status and output
#   slow    a container writing B bytes (default 1 GiB) of a counted pattern, read 64 KiB per
#           ReadStdout with a pause between calls: every byte checked, the agent's VmRSS
#           (sampled every 64 calls) <= 8 MiB
# Prints one line per scenario with the figures and ok / NOT MET against the target.
#   bench/soak.sh [--cycles N] [--execs M] [--bytes B] [--delay-us D]    (root)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
b=$root/build
cycles=1000 execs=200 bytes=$((1 << 30)) delay_us=100
while [ $# -gt 0 ]; do
	case "$1" in
	--cycles) cycles=${2:?}; shift 2 ;;
	--execs) execs=${2:?}; shift 2 ;;
	--bytes) bytes=${2:?}; shift 2 ;;
	--delay-us) delay_us=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "soak-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
name=soak-bench
# shellcheck source=bench/lib/host-agent.bash
. "$root/bench/lib/host-agent.bash"
bench_require "$b/bin/kata-agent" "$b/bin/agentctl" "$b/tests-bin/payload"
bench_workdir
"$root/rootfs-builder/busybox-rootfs.sh" "$work/rootfs" >/dev/null
cp "$b/tests-bin/payload" "$work/rootfs/bin/payload"

# As bench/agent.sh starts it, plus a private /run for its bundles.
bench_start_agent 1

ctl() { "$b/bin/agentctl" -a "unix://$sock" -T 120 "$@"; }
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
verdict() { if [ "$1" = 1 ]; then echo ok; else echo "NOT MET"; fi; }

out=$(ctl soak-cycles --rootfs "$work/rootfs" --count "$cycles" --warmup 20 --pid "$agent_pid") || {
	echo "soak cycles=$cycles FAILED: $out"
	exit 1
}
fds0=$(field fds_before "$out") fds1=$(field fds_after "$out")
growth=$(($(field rss_after_KiB "$out") - $(field rss_before_KiB "$out")))
printf 'soak cycles=%d secs=%s fds=%d->%d rss_growth_KiB=%d (rss %d->%d) target: fds unchanged, growth<=64 %s\n' \
	"$cycles" "$(field secs "$out")" "$fds0" "$fds1" "$growth" "$(field rss_before_KiB "$out")" \
	"$(field rss_after_KiB "$out")" "$(verdict $((fds0 == fds1 && growth <= 64)))"

out=$(ctl soak-execs --rootfs "$work/rootfs" --count "$execs") || true
ok=$(field ok "$out")
printf 'soak execs=%d ok=%s secs=%s target: all right %s\n' "$execs" "${ok:-0}" "$(field secs "$out")" \
	"$(verdict $((${ok:-0} == execs)))"

out=$(ctl soak-slow-read --rootfs "$work/rootfs" --bytes "$bytes" --len 65536 --delay-us "$delay_us" \
	--pid "$agent_pid") || true
got=$(field bytes "$out") max=$(field rss_max_KiB "$out")
printf 'soak slow_read_bytes=%s of %d secs=%s rss_start_KiB=%s rss_max_KiB=%s target: every byte, rss<=8192 %s\n' \
	"${got:-0}" "$bytes" "$(field secs "$out")" "$(field rss_start_KiB "$out")" "${max:-?}" \
	"$(verdict $((${got:-0} == bytes && ${max:-99999} <= 8192)))"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
echo "soak agent_peak_rss_KiB=$hwm (VmHWM over the whole run)"
