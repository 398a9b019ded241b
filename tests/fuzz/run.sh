#!/usr/bin/env bash
# Runs libFuzzer targets (build/fuzz/fuzz-<target>) one at a time, seeded with the committed
# corpus tests/fuzz/corpus/<target>/, and prints TAP: one line per target with its executions.
#   run.sh check [TARGET...]   each for FUZZ_SECONDS (default 10) seconds (make check)
#   run.sh long [TARGET...]    each for FUZZ_RUNS executions (default 10 M; make fuzz)
# Without targets: every tests/fuzz/fuzz-<target>.c.
# Fails on any crash, sanitizer report, leak or timeout; the input is printed in hex and kept
# under build/fuzz/artifacts/. New inputs found are not written to the committed corpus.
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=$1
shift
if [ $# -eq 0 ]; then
  for f in tests/fuzz/fuzz-*.c; do
    f=${f#tests/fuzz/fuzz-}
    set -- "$@" "${f%.c}"
  done
fi
build=${KATA_BUILD:-build}
art=$build/fuzz/artifacts
mkdir -p "$art"
echo "1..$#"
i=0 failed=0
for t in "$@"; do
  i=$((i + 1))
  bin=$build/fuzz/fuzz-$t
  if [ ! -x "$bin" ]; then
    echo "not ok $i - $t: $bin not built (make fuzz-bins)"
    failed=1
    continue
  fi
  work=$(mktemp -d)
  if [ "$mode" = long ]; then
    limit=(-runs="${FUZZ_RUNS:-10000000}")
  else
    limit=(-max_total_time="${FUZZ_SECONDS:-10}")
  fi
  start=$(date +%s)
  # The committed seeds are read-only input; new units go to the scratch directory.
  "$bin" "${limit[@]}" -seed=1 -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$art/$t-" "$work" "tests/fuzz/corpus/$t" \
    >"$work.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "ok $i - $t: ${runs:-?} executions in ${secs}s, ${cov:-cov: ?}, 0 crashes"
  else
    failed=1
    echo "not ok $i - $t: crash after ${runs:-?} executions (exit $rc)"
    grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written' "$work.log" | head -8 |
      sed 's/^/# /'
    for f in $(grep -o "$art/$t-[a-z]*-[0-9a-f]*" "$work.log" | sort -u); do
      [ -f "$f" ] && echo "# input $f: $(od -An -tx1 -v "$f" | tr -d ' \n' | head -c 400)"
    done
  fi
  rm -rf "$work" "$work.log"
done
exit $failed
