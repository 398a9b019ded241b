#!/usr/bin/env bash
# Cross-check of our ttRPC library with containerd's Go ttrpc (Debian's
# golang-github-containerd-ttrpc-dev): the Go client against our C test server, and our C
# client against a Go server. Binaries come from `make test-deps`. TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${KATA_BUILD:-$PWD/build}
SRV=$B/asan/tools/ttrpc-testsrv
CLI=$B/asan/tools/ttrpc-testcli
GOCHECK=$B/go/bin/ttrpccheck

for f in "$SRV" "$CLI" "$GOCHECK"; do
  if [ ! -x "$f" ]; then
    echo "1..1"
    echo "not ok 1 - $f is missing (make test-deps)"
    exit 1
  fi
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_socket() {
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  return 1
}

out=$tmp/out
: >"$out"

# Go client -> C server
"$SRV" "$tmp/c.sock" 2>"$tmp/srv.err" &
srv=$!
pids+=("$srv")
if wait_socket "$tmp/c.sock"; then
  timeout 60 "$GOCHECK" client "$tmp/c.sock" >>"$out" 2>"$tmp/goclient.err" ||
    echo "not ok - go client exited with status $? ($(tail -1 "$tmp/goclient.err"))" >>"$out"
else
  echo "not ok - C test server did not start ($(tail -1 "$tmp/srv.err"))" >>"$out"
fi
kill -TERM "$srv" 2>/dev/null
wait "$srv"
rc=$?
# ASan's leak check runs at exit: a clean exit means every connection and call was freed.
if [ "$rc" -eq 0 ]; then
  echo "ok - C test server shut down cleanly (ASan: no leaks, no errors)" >>"$out"
else
  echo "not ok - C test server exited with status $rc" >>"$out"
  sed 's/^/# /' "$tmp/srv.err" | head -30 >>"$out"
fi

# C client -> Go server
"$GOCHECK" server "$tmp/g.sock" 2>"$tmp/goserver.err" &
gsrv=$!
pids+=("$gsrv")
if wait_socket "$tmp/g.sock"; then
  timeout 60 "$CLI" "$tmp/g.sock" >>"$out" 2>"$tmp/cli.err" ||
    { echo "not ok - C client exited with status $?" >>"$out"; sed 's/^/# /' "$tmp/cli.err" | head -30 >>"$out"; }
else
  echo "not ok - Go server did not start ($(tail -1 "$tmp/goserver.err"))" >>"$out"
fi
kill "$gsrv" 2>/dev/null
wait "$gsrv" 2>/dev/null

n=0
while IFS= read -r line; do
  case "$line" in
    "ok - "*) n=$((n + 1)); echo "ok $n - ${line#ok - }" ;;
    "not ok - "*) n=$((n + 1)); echo "not ok $n - ${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$out"
echo "1..$n"
! grep -q '^not ok' "$out"
