#!/usr/bin/env bash
# pbrt against Debian's libprotobuf-c: both runtimes pack the same sample messages, the bytes
# must be identical, and each runtime must decode the other's bytes back into the sample.
# The two programs are built by `make test-deps` (protocol/protocol.mk, "pbrt tests").
set -u
build=${KATA_BUILD:-$(dirname "$0")/../../build}
ours=$build/asan/test-helpers/pbrt-xcheck-ours
ref=$build/asan/test-helpers/pbrt-xcheck-ref
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$ours" ] || [ ! -x "$ref" ]; then
    echo "1..1"
    echo "not ok 1 - pbrt cross-check programs missing (run make test-deps)"
    exit 1
fi

"$ours" pack >"$tmp/ours" 2>"$tmp/ours.err"; rc_ours=$?
"$ref" pack >"$tmp/ref" 2>"$tmp/ref.err"; rc_ref=$?
"$ours" decode "$tmp/ref" >"$tmp/ours-decodes-ref" 2>>"$tmp/ours.err"
"$ref" decode "$tmp/ours" >"$tmp/ref-decodes-ours" 2>>"$tmp/ref.err"

mapfile -t names < <(cut -d' ' -f1 "$tmp/ref")
echo "1..$((3 * ${#names[@]} + 1))"
t=0
result() { # result OK DESCRIPTION [DIAGNOSTIC]
    t=$((t + 1))
    if [ "$1" = 1 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; [ -n "${3:-}" ] && echo "# $3"; fi
}

[ "$rc_ours" -eq 0 ] && [ "$rc_ref" -eq 0 ] && [ ${#names[@]} -gt 10 ]
result $((! $?)) "both runtimes packed ${#names[@]} samples consistently (pack, size, buffer)" \
    "$(head -c 600 "$tmp/ours.err" "$tmp/ref.err")"
for name in "${names[@]}"; do
    a=$(grep -m1 "^$name " "$tmp/ours")
    b=$(grep -m1 "^$name " "$tmp/ref")
    [ -n "$a" ] && [ "$a" = "$b" ]
    result $((! $?)) "$name: identical bytes from pbrt and libprotobuf-c ($(( (${#b} - ${#name} - 1) / 2 )) bytes)" \
        "pbrt: ${a:0:200} libprotobuf-c: ${b:0:200}"
    line=$(grep -m1 "^$name " "$tmp/ours-decodes-ref")
    [ "$line" = "$name ok" ]
    result $((! $?)) "$name: pbrt decodes libprotobuf-c's bytes" "$line"
    line=$(grep -m1 "^$name " "$tmp/ref-decodes-ours")
    [ "$line" = "$name ok" ]
    result $((! $?)) "$name: libprotobuf-c decodes pbrt's bytes" "$line"
done
