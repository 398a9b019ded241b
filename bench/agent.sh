#!/usr/bin/env bash
# kata-agent on the host: stripped size and static check of build/bin/kata-agent, idle RSS,
# and the time of N (default 100) sequential create+start+wait of /bin/true through the agent
# (agentctl run: CreateContainer, StartContainer, ReadStdout/ReadStderr to EOF, WaitProcess,
# RemoveContainer) next to N `crun run` of the same busybox bundle, in the same run, as a ratio.
# Targets (issue 2): size <= 400 KB, idle RSS <= 1 MiB, ratio <= 1.
#   bench/agent.sh [--runs N]          (root)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
b=$root/build
runs=100
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	-h | --help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "agent-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
for f in "$b/bin/kata-agent" "$b/bin/agentctl"; do
	[ -x "$f" ] || { echo "agent-bench: $f missing (make bins build/bin/agentctl)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "agent-bench: needs root" >&2; exit 1; }

work=$(mktemp -d /tmp/agent-bench.XXXXXX)
agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && sleep 0.2
	rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"

size=$(stat -c %s "$b/bin/kata-agent")
static=no
file -b "$b/bin/kata-agent" | grep -q 'statically linked' && static=yes
printf 'agent size_B=%d target_B<=409600 %s static=%s (%s)\n' "$size" \
	"$([ "$size" -le 409600 ] && echo ok || echo OVER)" "$static" "$(file -b "$b/bin/kata-agent" | cut -d, -f1-2)"

"$root/rootfs-builder/busybox-rootfs.sh" "$work/bundle/rootfs" >/dev/null
sock=$work/agent.sock
KATA_AGENT_SERVER_ADDR=unix://$sock KATA_AGENT_LOG_LEVEL=warn \
	unshare -m --propagation private "$b/bin/kata-agent" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "agent-bench: the agent did not start" >&2; cat "$work/agent.log" >&2; exit 1; }
sleep 0.3
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
printf 'agent idle_rss_KiB=%d target_KiB<=1024 %s\n' "$rss" "$([ "$rss" -le 1024 ] && echo ok || echo OVER)"

ctl() { "$b/bin/agentctl" -a "unix://$sock" "$@"; }
ctl run --id warm --rootfs "$work/bundle/rootfs" -- /bin/true
t0=$(date +%s%N)
for i in $(seq "$runs"); do
	ctl run --id "b$i" --rootfs "$work/bundle/rootfs" -- /bin/true
done
t1=$(date +%s%N)
agent_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")

crun_s=
if command -v crun >/dev/null; then
	(cd "$work/bundle" && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
	# crun refuses this host's hybrid cgroup layout unless the cgroup2 mount is hidden
	# shellcheck disable=SC2016 # expanded by the inner shell
	crun_s=$(unshare -m --propagation private sh -c '
		umount /sys/fs/cgroup/unified 2>/dev/null || true
		crun run --bundle "$1" warm >/dev/null 2>&1 || exit 1
		t0=$(date +%s%N)
		i=0
		while [ $i -lt "$2" ]; do crun run --bundle "$1" "c$i" || exit 1; i=$((i + 1)); done
		t1=$(date +%s%N)
		awk -v a="$t0" -v b="$t1" "BEGIN {printf \"%.3f\", (b - a) / 1e9}"' sh "$work/bundle" "$runs") || crun_s=
fi
if [ -n "$crun_s" ]; then
	ratio=$(awk -v a="$agent_s" -v c="$crun_s" 'BEGIN {printf "%.2f", a / c}')
	verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 1 ? "ok" : "SLOWER")}')
	printf 'agent runs=%d agent_s=%s crun_s=%s ratio=%s target<=1 %s rss_after_KiB=%d\n' "$runs" "$agent_s" \
		"$crun_s" "$ratio" "$verdict" "$rss_after"
else
	printf 'agent runs=%d agent_s=%s crun_s=n/a (crun missing or failed) rss_after_KiB=%d\n' "$runs" "$agent_s" "$rss_after"
fi
