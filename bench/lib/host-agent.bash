# Sourced by the benchmarks that drive the release kata-agent on the host (bench/agent.sh,
# bench/soak.sh). The caller sets `b` (the build directory) and `name` (its message prefix).

# bench_require FILE...: every file built, and root.
bench_require() {
	: "${name:?the benchmark sets name}" "${b:?the benchmark sets b}"
	local f
	for f in "$@"; do
		[ -x "$f" ] || { echo "$name: $f missing (make bins test-deps)" >&2; exit 1; }
	done
	[ "$(id -u)" = 0 ] || { echo "$name: needs root" >&2; exit 1; }
}

# bench_workdir: sets `work`, a scratch directory removed (with the agent stopped) on exit.
bench_workdir() {
	work=$(mktemp -d "/tmp/$name.XXXXXX")
	agent_pid=
	trap bench_cleanup EXIT
	chmod 755 "$work"
}

bench_cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && sleep 0.2
	rm -rf "$work"
}

# bench_start_agent [PRIVATE_RUN]: the agent on unix://$work/agent.sock in its own mount
# namespace, log level warn; with PRIVATE_RUN=1 a tmpfs on its /run for the bundles. Sets
# `sock` and `agent_pid`; fails with the agent's log if the socket does not appear.
bench_start_agent() {
	sock=$work/agent.sock
	# shellcheck disable=SC2016 # expanded by the inner shell
	local prelude='exec "$0"'
	# shellcheck disable=SC2016
	[ "${1:-0}" = 1 ] && prelude='mount -t tmpfs -o mode=755 bench-run /run && exec "$0"'
	KATA_AGENT_SERVER_ADDR=unix://$sock KATA_AGENT_LOG_LEVEL=warn \
		unshare -m --propagation private sh -c "$prelude" "$b/bin/kata-agent" 2>"$work/agent.log" &
	agent_pid=$!
	local _
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	echo "$name: the agent did not start" >&2
	cat "$work/agent.log" >&2
	exit 1
}
