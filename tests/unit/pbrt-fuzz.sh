#!/usr/bin/env bash
# A bounded coverage-guided libFuzzer session on pbrt's decoder (see tests/unit/fuzz-pbrt.c),
# seeded with the cross-check samples. Skipped when clang/libFuzzer is not installed.
set -u
build=${KATA_BUILD:-$(dirname "$0")/../../build}
fuzzer=$build/fuzz/fuzz-pbrt
samples=$build/asan/test-helpers/pbrt-xcheck-ours
seconds=${PBRT_FUZZ_SECONDS:-20}
echo "1..1"
if [ ! -x "$fuzzer" ]; then
    echo "ok 1 # skip libFuzzer target not built (needs clang)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
i=0
"$samples" pack | while read -r name hex; do
    # The first byte picks the message type (sample order), the rest is the packed sample.
    printf '%b' "$(printf '\\x%02x' "$i")$(sed 's/../\\x&/g' <<<"$hex")" >"$tmp/corpus/$name"
    i=$((i + 1))
done
if "$fuzzer" -max_total_time="$seconds" -seed=1 -rss_limit_mb=2048 -max_len=4096 \
    -artifact_prefix="$tmp/" "$tmp/corpus" >"$tmp/log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$tmp/log" | tail -1)
    echo "ok 1 - libFuzzer on the pbrt decoder for ${seconds}s: ${runs:-finished}, no crash or mismatch"
else
    echo "not ok 1 - libFuzzer found a failing input"
    grep -E 'ERROR|SUMMARY|differs|Test unit written' "$tmp/log" | head -10 | sed 's/^/# /'
    for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-*; do
        [ -f "$f" ] && echo "# input: $(od -An -tx1 -v "$f" | tr -d ' \n' | head -c 400)"
    done
    exit 1
fi
