#!/usr/bin/env bash
# kata-agent on the host: stripped size and static check of build/bin/kata-agent, its idle RSS
# with a breakdown from /proc/PID/smaps, and the time of N (default 100) sequential
# create+start+wait+remove of /bin/true through the agent next to N `crun run` of the same
# busybox bundle. Three figures per round, rounds interleaved (the machine is shared), medians:
#   one_conn: `agentctl run --runs N`, one client connection for the N containers
#             (CreateContainer, StartContainer, ReadStdout/ReadStderr to EOF, WaitProcess,
#             RemoveContainer); its mean per-phase times are printed too.
#   per_proc: N `agentctl run`, a client process and a connection per container.
#   crun:     N `crun run` (crun's own process per container, cgroup v1 as the agent).
# Targets (issue 13): size <= 400 KB, idle RSS <= 256 KiB, one_conn/crun <= 0.33.
# CPU time (the agent with its reaped containers, the client apart, against crun with its
# containers) is printed as well: it suffers less than wall time from the other load.
#   bench/agent.sh [--runs N] [--rounds R] [--profile]     (root)
# --profile: one more one_conn loop under `strace -f -c` of the agent: its syscalls by time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
b=$root/build
runs=100 rounds=5 profile=
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a number}; shift 2 ;;
	--rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
	--profile) profile=1; shift ;;
	-h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "agent-bench: unknown argument $1" >&2; exit 1 ;;
	esac
done
name=agent-bench
# shellcheck source=bench/lib/host-agent.bash
. "$root/bench/lib/host-agent.bash"
bench_require "$b/bin/kata-agent" "$b/bin/agentctl"
bench_workdir

size=$(stat -c %s "$b/bin/kata-agent")
static=no
file -b "$b/bin/kata-agent" | grep -q 'statically linked' && static=yes
printf 'agent size_B=%d target_B<=409600 %s static=%s (%s)\n' "$size" \
	"$([ "$size" -le 409600 ] && echo ok || echo OVER)" "$static" "$(file -b "$b/bin/kata-agent" | cut -d, -f1-2)"

"$root/rootfs-builder/busybox-rootfs.sh" "$work/bundle/rootfs" >/dev/null
bench_start_agent 0
sleep 0.3

# RSS by mapping: the binary's text (r-x), read-only data (r--: .rodata, and the header page)
# and writable segment (rw-: .data.rel.ro, i.e. the protobuf descriptors and other pointer
# tables, then .data/.bss) are file pages mapped from the page cache; the rest is anonymous.
rss_breakdown() {
	awk -v exe="$(readlink "/proc/$1/exe")" '
		/^[0-9a-f]+-[0-9a-f]+ / { perm = $2; name = $6; next }
		/^Rss:/ {
			if (name == exe) k = (perm ~ /x/ ? "text" : perm ~ /w/ ? "data+relro" : "rodata")
			else if (name == "[heap]" || name == "[stack]") k = substr(name, 2, length(name) - 2)
			else if (name == "[vdso]" || name == "[vvar]" || name == "[vvar_vclock]") k = "vdso"
			else k = "anon_other"
			s[k] += $2
		}
		END {
			printf "text %d rodata %d data+relro %d heap %d stack %d anon_other %d vdso %d",
				s["text"], s["rodata"], s["data+relro"], s["heap"], s["stack"], s["anon_other"], s["vdso"]
		}' "/proc/$1/smaps"
}
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
rss=$(status_kib "$agent_pid" VmRSS)
printf 'agent idle_rss_KiB=%d target_KiB<=256 %s (RssFile %d RssAnon %d; %s; page tables VmPTE %d, not in RSS)\n' \
	"$rss" "$([ "$rss" -le 256 ] && echo ok || echo OVER)" "$(status_kib "$agent_pid" RssFile)" \
	"$(status_kib "$agent_pid" RssAnon)" "$(rss_breakdown "$agent_pid")" "$(status_kib "$agent_pid" VmPTE)"

ctl() { "$b/bin/agentctl" -a "unix://$sock" "$@"; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }
median() { sort -n | awk '{v[NR] = $1} END {if (NR) printf "%.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

have_crun=
if command -v crun >/dev/null; then
	(cd "$work/bundle" && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' config.json)
	have_crun=1
fi
crun_loop() {
	# crun refuses this host's hybrid cgroup layout unless the cgroup2 mount is hidden
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private sh -c '
		umount /sys/fs/cgroup/unified 2>/dev/null || true
		crun run --bundle "$1" "w$3" >/dev/null 2>&1 || exit 1
		t0=$(date +%s%N)
		i=0
		while [ $i -lt "$2" ]; do crun run --bundle "$1" "c$3-$i" || exit 1; i=$((i + 1)); done
		t1=$(date +%s%N)
		awk -v a="$t0" -v b="$t1" "BEGIN {printf \"%.3f \", (b - a) / 1e9}"
		times' sh "$work/bundle" "$runs" "$1"
}
# `times` prints the shell's "XmY.YYYs XmY.YYYs" (user, system), then its children's: the
# last line's sum in seconds
times_s() { awk '{ s = 0; for (i = 1; i <= 2; i++) { x = $i; sub(/s$/, "", x); split(x, p, "m"); s += p[1] * 60 + p[2] } printf "%.3f", s }'; }
agent_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$agent_pid/stat"; }

ctl run --id warm --rootfs "$work/bundle/rootfs" -- /bin/true
: >"$work/one" && : >"$work/proc" && : >"$work/crun" && : >"$work/phases"
: >"$work/one_cpu" && : >"$work/client_cpu" && : >"$work/crun_cpu"
for r in $(seq "$rounds"); do
	t0=$(now)
	a0=$(agent_ticks)
	client=$(
		ctl run --runs "$runs" --id "o$r" --rootfs "$work/bundle/rootfs" -- /bin/true 2>>"$work/phases"
		times
	)
	secs "$t0" "$(now)" >>"$work/one" && echo >>"$work/one"
	# the agent's CPU and its reaped children's (the containers), the client's apart
	awk -v a="$a0" -v b="$(agent_ticks)" 'BEGIN {printf "%.3f\n", (b - a) / 100}' >>"$work/one_cpu"
	times_s <<<"${client##*$'\n'}" >>"$work/client_cpu" && echo >>"$work/client_cpu"
	t0=$(now)
	for i in $(seq "$runs"); do
		ctl run --id "p$r-$i" --rootfs "$work/bundle/rootfs" -- /bin/true
	done
	secs "$t0" "$(now)" >>"$work/proc" && echo >>"$work/proc"
	if [ -n "$have_crun" ]; then
		c=$(crun_loop "$r") || { have_crun=; echo "agent-bench: crun failed; no crun figures" >&2; }
		if [ -n "$c" ]; then
			echo "${c%% *}" >>"$work/crun"
			times_s <<<"${c##*$'\n'}" >>"$work/crun_cpu" && echo >>"$work/crun_cpu"
		fi
	fi
done
one_s=$(median <"$work/one")
proc_s=$(median <"$work/proc")
# "agentctl: ms per container: create A start B output+wait C remove D", median per phase
phases=$(for f in 6 8 10 12; do awk -v f="$f" '{print $f}' "$work/phases" | median; echo -n " "; done)
read -r p_create p_start p_wait p_remove <<<"$phases"
rss_after=$(status_kib "$agent_pid" VmRSS)
printf 'agent runs=%d rounds=%d (interleaved, medians) one_conn_s=%s per_proc_s=%s' "$runs" "$rounds" "$one_s" "$proc_s"
if [ -n "$have_crun" ] && [ -s "$work/crun" ]; then
	crun_s=$(median <"$work/crun")
	ratio=$(awk -v a="$one_s" -v c="$crun_s" 'BEGIN {printf "%.2f", a / c}')
	printf ' crun_s=%s ratio=%s target<=0.33 %s per_proc_ratio=%s' "$crun_s" "$ratio" \
		"$(awk -v r="$ratio" 'BEGIN {print (r <= 0.33 ? "ok" : "OVER")}')" \
		"$(awk -v a="$proc_s" -v c="$crun_s" 'BEGIN {printf "%.2f", a / c}')"
else
	printf ' crun_s=n/a (crun missing or failed)'
fi
printf ' rss_after_KiB=%d\n' "$rss_after"
# CPU time is less sensitive than wall time to the other load on a shared machine.
one_cpu=$(median <"$work/one_cpu")
client_cpu=$(median <"$work/client_cpu")
if [ -s "$work/crun_cpu" ]; then
	crun_cpu=$(median <"$work/crun_cpu")
	printf 'agent cpu (medians) one_conn: agent+containers_s=%s client_s=%s; crun+containers_s=%s; cpu_ratio=%s (with the client %s)\n' \
		"$one_cpu" "$client_cpu" "$crun_cpu" "$(awk -v a="$one_cpu" -v c="$crun_cpu" 'BEGIN {printf "%.2f", a / c}')" \
		"$(awk -v a="$one_cpu" -v b="$client_cpu" -v c="$crun_cpu" 'BEGIN {printf "%.2f", (a + b) / c}')"
fi
printf 'agent one_conn ms per container: create %s start %s output+wait %s remove %s; all rounds: one_conn %s per_proc %s crun %s\n' \
	"$p_create" "$p_start" "$p_wait" "$p_remove" "$(tr '\n' ' ' <"$work/one")" "$(tr '\n' ' ' <"$work/proc")" \
	"$(tr '\n' ' ' <"$work/crun")"

if [ -n "$profile" ] && command -v strace >/dev/null; then
	strace -f -c -S time -e trace='!wait4,poll,epoll_pwait' -o "$work/strace" -p "$agent_pid" 2>/dev/null &
	spid=$!
	sleep 0.5
	ctl run --runs "$runs" --id prof --rootfs "$work/bundle/rootfs" -- /bin/true 2>/dev/null
	kill -INT "$spid"
	wait "$spid" || true
	echo "agent profile (strace -f -c of the agent and its children, $runs containers; strace inflates each call):"
	sed -n '1,16p' "$work/strace"
fi
