#!/usr/bin/env bash
# The shim's event publisher (host-tools/shim/events.c) against a real containerd: a private
# instance (own root, state and sockets in a temp dir, CRI plugin disabled) with `ctr events`
# watching, fed by build/asan/tools/shim-events-tool over containerd's ttRPC events socket, over
# the publish binary when that socket cannot be reached, across a containerd restart (the
# publisher reconnects), and with a namespace containerd rejects. TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${KATA_BUILD:-$PWD/build}
TOOL=$B/asan/tools/shim-events-tool

. tests/lib/tap.sh
diag() { sed 's/^/# /'; }
finish() { echo "1..$n"; exit 0; } # tests/run counts the "not ok" lines

if [ ! -x "$TOOL" ]; then
  not_ok "$TOOL is missing (make host-tools-tests)"
  finish
fi
for bin in containerd ctr; do
  if ! command -v "$bin" >/dev/null; then
    # Installed by scripts/install-deps.sh; without it this suite cannot run, which is a failure.
    not_ok "$bin is installed (scripts/install-deps.sh installs Debian's containerd)"
    finish
  fi
done
CONTAINERD=$(command -v containerd)

tmp=$(mktemp -d /tmp/shim-events.XXXXXX)
had_run_containerd=false
[ -e /run/containerd ] && had_run_containerd=true
ctd_pid=
watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  if [ -n "$ctd_pid" ]; then
    kill "$ctd_pid" 2>/dev/null
    wait "$ctd_pid" 2>/dev/null
  fi
  # containerd keeps some paths under /run/containerd whatever its state dir; remove what is
  # left only when the directory was not there before (then nobody else's files are in it).
  if ! $had_run_containerd && [ -d /run/containerd ]; then
    find /run/containerd -depth -type d -empty -delete 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

SOCK=$tmp/containerd.sock
cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
EOF

start_containerd() {
  rm -f "$SOCK" "$SOCK.ttrpc"
  "$CONTAINERD" --config "$tmp/config.toml" >>"$tmp/containerd.log" 2>&1 3>&- &
  ctd_pid=$!
  for _ in $(seq 200); do
    [ -S "$SOCK" ] && [ -S "$SOCK.ttrpc" ] && return 0
    kill -0 "$ctd_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
stop_containerd() {
  kill "$ctd_pid" 2>/dev/null
  wait "$ctd_pid" 2>/dev/null
  ctd_pid=
}
# `ctr events` prints one line per event: date time zone UTC namespace topic json.
start_watch() {
  : >"$tmp/events.$1"
  ctr -a "$SOCK" events >"$tmp/events.$1" 2>&1 3>&- &
  watch_pid=$!
  sleep 0.3 # ctr subscribes asynchronously; no event published before it listens is shown
}
stop_watch() {
  kill "$watch_pid" 2>/dev/null
  wait "$watch_pid" 2>/dev/null
  watch_pid=
}
# seen FILE NS TOPIC ID: waits up to 5 s for the event line.
seen() {
  local file=$1 ns=$2 topic=$3 id=$4
  for _ in $(seq 100); do
    awk -v ns="$ns" -v topic="$topic" -v id="\"container_id\":\"$id\"" \
      '$5 == ns && $6 == topic && index($0, id) { found = 1 } END { exit !found }' "$file" &&
      return 0
    sleep 0.05
  done
  return 1
}
# in_order FILE TOPIC...: the topics appear in this order.
in_order() {
  local file=$1
  shift
  [ "$(awk '{ print $6 }' "$file" | tr '\n' ' ')" = "$* " ]
}

if start_containerd; then
  ok "private containerd started (sockets $SOCK and $SOCK.ttrpc)"
else
  not_ok "private containerd started"
  tail -20 "$tmp/containerd.log" | diag
  finish
fi

# 1. ttRPC, the way containerd 1.6 shims publish.
start_watch ttrpc
out=$("$TOOL" publish --ns shimev-a --ttrpc "$SOCK.ttrpc" --binary "$CONTAINERD" --address "$SOCK" \
  create:ev-a start:ev-a:4242 exec-added:ev-a:x1 exec-started:ev-a:x1:4343 exit:ev-a:7 \
  delete:ev-a:7 2>"$tmp/tool.err")
rc=$?
check "ttrpc: the tool published 6 events over ttRPC, none through the binary ($out)" \
  [ "$rc" -eq 0 ] && [ "$out" = "forwarded 6 published 0 dropped 0" ]
for topic in /tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit \
  /tasks/delete; do
  check "ttrpc: ctr events shows $topic for ev-a in namespace shimev-a" \
    seen "$tmp/events.ttrpc" shimev-a "$topic" ev-a
done
check "ttrpc: ctr events decodes TaskExit's exit_status and exec's ids" \
  grep -q '"exit_status":7' "$tmp/events.ttrpc"
check "ttrpc: exec-started carries exec id and pid" \
  grep -q '/tasks/exec-started {"container_id":"ev-a","exec_id":"x1","pid":4343}' "$tmp/events.ttrpc"
if in_order "$tmp/events.ttrpc" /tasks/create /tasks/start /tasks/exec-added /tasks/exec-started \
  /tasks/exit /tasks/delete; then
  ok "ttrpc: events arrive in publishing order"
else
  not_ok "ttrpc: events arrive in publishing order"
  diag <"$tmp/events.ttrpc"
  diag <"$tmp/tool.err"
fi
stop_watch

# 2. The publish binary, when the ttRPC socket cannot be reached.
start_watch binary
out=$("$TOOL" publish --ns shimev-b --ttrpc "$tmp/no-such.sock.ttrpc" --binary "$CONTAINERD" \
  --address "$SOCK" create:ev-b exit:ev-b:9 2>"$tmp/tool.err")
rc=$?
check "binary: both events went through '$CONTAINERD publish' ($out)" \
  [ "$rc" -eq 0 ] && [ "$out" = "forwarded 0 published 2 dropped 0" ]
check "binary: ctr events shows /tasks/create for ev-b in namespace shimev-b" \
  seen "$tmp/events.binary" shimev-b /tasks/create ev-b
check "binary: ctr events shows /tasks/exit for ev-b with exit_status 9" \
  seen "$tmp/events.binary" shimev-b /tasks/exit ev-b
check "binary: exit status decoded" grep -q '"exit_status":9' "$tmp/events.binary"
check "binary: events arrive in publishing order" in_order "$tmp/events.binary" /tasks/create /tasks/exit
stop_watch

# Only the binary given (no TTRPC_ADDRESS at all).
start_watch binonly
out=$("$TOOL" publish --ns shimev-c --binary "$CONTAINERD" --address "$SOCK" oom:ev-c 2>"$tmp/tool.err")
check "binary only: /tasks/oom published ($out)" [ "$out" = "forwarded 0 published 1 dropped 0" ]
check "binary only: ctr events shows /tasks/oom for ev-c" seen "$tmp/events.binonly" shimev-c /tasks/oom ev-c
stop_watch

# 3. containerd restarts between two events: the kept connection is dead; the publisher
# reconnects over ttRPC (the binary stays unused).
mkfifo "$tmp/in"
"$TOOL" publish --ns shimev-r --ttrpc "$SOCK.ttrpc" --binary "$CONTAINERD" --address "$SOCK" \
  <"$tmp/in" >"$tmp/restart.out" 2>"$tmp/restart.err" &
tool_pid=$!
exec 3>"$tmp/in"
start_watch before
echo "create:ev-r" >&3
echo "flush" >&3
for _ in $(seq 100); do grep -q '^flushed' "$tmp/restart.out" && break; sleep 0.05; done
check "restart: first event delivered before the restart" seen "$tmp/events.before" shimev-r /tasks/create ev-r
stop_watch
stop_containerd
if start_containerd; then
  ok "restart: containerd started again"
else
  not_ok "restart: containerd started again"
  tail -20 "$tmp/containerd.log" | diag
fi
start_watch after
echo "exit:ev-r:3" >&3
exec 3>&-
wait "$tool_pid"
rc=$?
out=$(tail -1 "$tmp/restart.out")
check "restart: both events forwarded over ttRPC, the second on a new connection ($out)" \
  [ "$rc" -eq 0 ] && [ "$out" = "forwarded 2 published 0 dropped 0" ]
check "restart: ctr events on the new containerd shows /tasks/exit for ev-r" \
  seen "$tmp/events.after" shimev-r /tasks/exit ev-r
stop_watch

# 4. An envelope containerd refuses (an invalid namespace) is dropped, not sent again by the
# binary: containerd's answer is final.
out=$("$TOOL" publish --ns 'bad namespace!' --ttrpc "$SOCK.ttrpc" --binary "$CONTAINERD" \
  --address "$SOCK" exit:ev-x:1 2>"$tmp/tool.err")
check "rejected: an invalid namespace is dropped without trying the binary ($out)" \
  [ "$out" = "forwarded 0 published 0 dropped 1" ]
if grep -q 'rejected /tasks/exit' "$tmp/tool.err"; then
  ok "rejected: the log line names containerd's reason"
else
  not_ok "rejected: the log line names containerd's reason"
  diag <"$tmp/tool.err"
fi

# 5. Bad configuration is a clear error.
"$TOOL" publish --ns x --ttrpc "vsock://3:1024" exit:a:1 >/dev/null 2>"$tmp/tool.err"
check "config: a non-unix TTRPC_ADDRESS is refused" grep -q 'not a unix socket' "$tmp/tool.err"
"$TOOL" publish --ns x --binary "$CONTAINERD" exit:a:1 >/dev/null 2>"$tmp/tool.err"
check "config: a publish binary without containerd's address is refused" \
  grep -q "needs containerd's address" "$tmp/tool.err"

stop_containerd
gone() { ! pgrep -f -- "--config $tmp/config.toml" >/dev/null; }
check "no containerd process of this test is left" gone
finish
