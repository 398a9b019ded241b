#!/usr/bin/env bash
# TAP: kata-init (the ASan build) on the host, where it is not PID 1: a child subreaper that
# supervises its agent, reaps adopted orphans, passes SIGTERM on, gives up on a stubborn agent,
# and exits with the agent's status. KATA_INIT_CMDLINE stands in for /proc/cmdline (honoured
# only when not PID 1). The guest tests (tests/guest/init.bats) cover the PID 1 side.
set -u
cd "$(dirname "$0")/../.." || exit 1
bin=${KATA_BUILD:-$PWD/build}/asan/bin/kata-init
if [ ! -x "$bin" ]; then
    echo "1..1"
    echo "ok 1 # skip $bin not built (make init-tests)"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; sed 's/^/#   /' "$work/out" | tail -15; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# run_init CMDLINE: runs kata-init to its end; sets RC, output in $work/out.
run_init() {
    KATA_INIT_CMDLINE=$1 timeout -k 2 20 "$bin" >"$work/out" 2>&1
    RC=$?
}
has() { grep -qF -- "$1" "$work/out"; }

cat >"$work/exit3.sh" <<'EOF'
echo "agent args: $*"
exit 3
EOF
run_init "kata.agent=\"/bin/sh $work/exit3.sh a b\""
check "agent exit status 3 becomes init's (rc=$RC)" [ "$RC" = 3 ]
check "status line on the console" has "kata-init: agent exited with status 3"
check "agent got its arguments" has "agent args: a b"
check "no sanitizer report" bash -c "! grep -q Sanitizer '$work/out'"

cat >"$work/kill9.sh" <<'EOF'
kill -9 $$
EOF
run_init "kata.agent=\"/bin/sh $work/kill9.sh\""
check "agent killed by SIGKILL gives 137 (rc=$RC)" [ "$RC" = 137 ]
check "signal line on the console" has "kata-init: agent killed by signal 9 (SIGKILL)"

# Orphans: each `sh -c 'sleep 5 &'` leaves a sleep that is re-parented to the nearest
# subreaper, kata-init. Once they end only kata-init can reap them. The sleeps outlast the
# spawning and counting even on a loaded machine (with 1 s, some had ended before the count).
cat >"$work/reap.sh" <<'EOF'
init=$PPID
i=0
while [ $i -lt 10 ]; do sh -c 'sleep 5 &'; i=$((i + 1)); done
count() {
    pat=$1 n=0
    for f in /proc/[0-9]*/stat; do
        line=$(cat "$f" 2>/dev/null) || continue
        set -- $line
        [ "$4" = "$init" ] || continue
        case "$2:$3" in $pat) n=$((n + 1)) ;; esac
    done
    echo $n
}
adopted=$(count '(sleep):*')
# until they have ended (at most 20 s), then nothing of kata-init's may be left unreaped
t=0
while [ "$(count '(sleep):[!Z]*')" -gt 0 ] && [ $t -lt 100 ]; do sleep 0.2; t=$((t + 1)); done
sleep 0.5
zombies=$(count '*:Z')
echo "REAP adopted=$adopted zombies=$zombies"
[ "$adopted" -ge 10 ] && [ "$zombies" -eq 0 ]
EOF
run_init "kata.agent=\"/bin/sh $work/reap.sh\" kata.init_debug"
check "orphans adopted by kata-init and reaped" grep -qE '^REAP adopted=(1[0-9]|[2-9][0-9]) zombies=0$' "$work/out"
check "reap test agent exited 0 (rc=$RC)" [ "$RC" = 0 ]
check "debug mode logs each reaped orphan" [ "$(grep -cE 'kata-init: debug: \[[0-9]+\.[0-9]{6}\] reaped pid' "$work/out")" -ge 10 ]

# SIGTERM to init reaches the agent, which exits 0.
cat >"$work/told.sh" <<'EOF'
trap 'echo AGENT-GOT-SIGTERM; exit 0' TERM
echo READY
while :; do sleep 0.1; done
EOF
KATA_INIT_CMDLINE="kata.agent=\"/bin/sh $work/told.sh\"" "$bin" >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q READY "$work/out" && break; sleep 0.05; done
kill -TERM $pid
wait $pid
RC=$?
check "SIGTERM: init asks the agent to stop" has "kata-init: shutdown requested by signal: stopping the agent for power-off"
check "SIGTERM: the agent got SIGTERM" has "AGENT-GOT-SIGTERM"
check "SIGTERM: init exits with the agent's 0 (rc=$RC)" [ "$RC" = 0 ]

# An agent that ignores SIGTERM and has a child: both are SIGKILLed after the grace period.
cat >"$work/stubborn.sh" <<EOF
trap '' TERM
sleep 300 &
echo \$! >"$work/child.pid"
echo READY
while :; do sleep 0.1; done
EOF
KATA_INIT_CMDLINE="kata.agent=\"/bin/sh $work/stubborn.sh\"" "$bin" >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q READY "$work/out" && break; sleep 0.05; done
start=$(date +%s%N)
kill -TERM $pid
wait $pid
RC=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "stubborn agent: killed after the grace period (${ms} ms)" [ "$ms" -ge 1900 -a "$ms" -lt 6000 ]
check "stubborn agent: warning printed" has "agent did not stop within 2 s; killing everything"
check "stubborn agent: 137 (rc=$RC)" [ "$RC" = 137 ]
child=$(cat "$work/child.pid" 2>/dev/null)
child_gone() { [ -n "$child" ] && ! kill -0 "$child" 2>/dev/null; }
check "stubborn agent: its child is gone too" child_gone

run_init "kata.agent=/nonexistent/agent"
check "unstartable agent: exit 1 (rc=$RC)" [ "$RC" = 1 ]
check "unstartable agent: says why" has "kata-init: error: start agent /nonexistent/agent: No such file or directory"
run_init "kata.agent=relative/agent"
check "relative agent path refused (rc=$RC)" [ "$RC" = 1 ]
check "relative agent path: says why" has "the agent path must be absolute"
run_init "kata.init_debug=perhaps"
check "bad boolean refused (rc=$RC)" [ "$RC" = 1 ]
check "bad boolean: names the parameter" has "kata.init_debug=perhaps: not a boolean"

echo "1..$n"
