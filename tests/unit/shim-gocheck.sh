#!/usr/bin/env bash
# What the shim's metrics.c and events.c put on the wire, decoded by containerd's own Go types
# (build/go/bin/shimcheck, built offline from Debian's packages): the Metrics Any as ctr task
# metrics decodes it, compared with tests/fixtures/shim-metrics.txt; and every task event, sent
# through events.c to a Go server of containerd's ttRPC events service, decoded with typeurl.
# TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${KATA_BUILD:-$PWD/build}
TOOL=$B/asan/tools/shim-events-tool
GOCHECK=$B/go/bin/shimcheck

. tests/lib/tap.sh
diag() { sed 's/^/# /'; }
finish() { echo "1..$n"; exit 0; } # tests/run counts the "not ok" lines

for f in "$TOOL" "$GOCHECK"; do
  if [ ! -x "$f" ]; then
    not_ok "$f is missing (make host-tools-tests)"
    finish
  fi
done

tmp=$(mktemp -d)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- metrics
if "$TOOL" metrics >"$tmp/metrics.any" 2>"$tmp/tool.err"; then
  ok "shim-events-tool wrote the Metrics Any ($(stat -c %s "$tmp/metrics.any") bytes)"
else
  not_ok "shim-events-tool metrics"
  diag <"$tmp/tool.err"
fi
"$GOCHECK" metrics "$tmp/metrics.any" >"$tmp/metrics.out" 2>"$tmp/go.err"
rc=$?
# The Go program's own TAP lines, renumbered into ours.
while IFS= read -r line; do
  case "$line" in
    "ok "*) ok "go: ${line#ok [0-9]* - }" ;;
    "not ok "*) not_ok "go: ${line#not ok [0-9]* - }" ;;
  esac
done < <(sed '/^--- metrics$/,$d' "$tmp/metrics.out")
[ "$rc" -eq 0 ] || { not_ok "shimcheck metrics exited with status $rc"; diag <"$tmp/go.err"; }
sed '1,/^--- metrics$/d' "$tmp/metrics.out" >"$tmp/metrics.txt"
if diff -u <(grep -v '^#' tests/fixtures/shim-metrics.txt) "$tmp/metrics.txt" >"$tmp/metrics.diff"; then
  ok "containerd's Metrics holds every figure where tests/fixtures/shim-metrics.txt expects it"
else
  not_ok "containerd's Metrics holds every figure where tests/fixtures/shim-metrics.txt expects it"
  diag <"$tmp/metrics.diff"
fi

# ---- events
events=(create:gc-1 start:gc-1:101 exec-added:gc-1:e1 exec-started:gc-1:e1:102 paused:gc-1
  resumed:gc-1 oom:gc-1 exit:gc-1:137 delete:gc-1:137)
"$GOCHECK" events "$tmp/events.sock" "${#events[@]}" >"$tmp/events.out" 2>"$tmp/go.err" &
srv=$!
for _ in $(seq 100); do [ -S "$tmp/events.sock" ] && break; sleep 0.05; done
out=$("$TOOL" publish --ns gocheck --ttrpc "unix://$tmp/events.sock" "${events[@]}" 2>"$tmp/tool.err")
if [ "$out" = "forwarded ${#events[@]} published 0 dropped 0" ]; then
  ok "events.c forwarded ${#events[@]} events to containerd's Go events service ($out)"
else
  not_ok "events.c forwarded ${#events[@]} events to containerd's Go events service ($out)"
  diag <"$tmp/tool.err"
fi
wait "$srv"
rc=$?
srv=
[ "$rc" -eq 0 ] || { not_ok "shimcheck events exited with status $rc"; diag <"$tmp/go.err"; }

# topic, Go type, and a piece of the JSON containerd's type decodes, per event in order
expect=(
  "/tasks/create TaskCreate \"bundle\":\"/run/bundles/gc-1\""
  "/tasks/start TaskStart \"pid\":101"
  "/tasks/exec-added TaskExecAdded \"exec_id\":\"e1\""
  "/tasks/exec-started TaskExecStarted \"exec_id\":\"e1\",\"pid\":102"
  "/tasks/paused TaskPaused \"container_id\":\"gc-1\""
  "/tasks/resumed TaskResumed \"container_id\":\"gc-1\""
  "/tasks/oom TaskOOM \"container_id\":\"gc-1\""
  "/tasks/exit TaskExit \"exit_status\":137"
  "/tasks/delete TaskDelete \"exit_status\":137"
)
mapfile -t got <"$tmp/events.out"
for i in "${!expect[@]}"; do
  read -r topic type frag <<<"${expect[$i]}"
  line=${got[$i]:-}
  read -r g_ns g_topic g_url g_type g_age g_rt g_json <<<"$line"
  if [ "${g_ns:-}" = gocheck ] && [ "${g_topic:-}" = "$topic" ] &&
    [ "${g_url:-}" = "containerd.events.$type" ] && [ "${g_type:-}" = "*events.$type" ] &&
    [ "${g_rt:-}" = roundtrip-same ] && [[ "${g_age:-x}" =~ ^[0-9]+$ ]] && [ "$g_age" -lt 10000 ] &&
    [[ "${g_json:-}" == *"\"container_id\":\"gc-1\""* ]] && [[ "${g_json:-}" == *"$frag"* ]]; then
    ok "event $((i + 1)): $topic in namespace gocheck decodes as *events.$type, same bytes again, timestamp ${g_age} ms old"
  else
    not_ok "event $((i + 1)): $topic in namespace gocheck decodes as *events.$type"
    echo "got: $line" | diag
  fi
done
[ "${#got[@]}" -eq "${#expect[@]}" ] && ok "no other events arrived" ||
  { not_ok "no other events arrived (${#got[@]} lines)"; diag <"$tmp/events.out"; }

finish
