#!/usr/bin/env bash
# pbrt against Debian's libprotobuf-c: both runtimes pack the same sample messages, the bytes
# must be identical, and each runtime must decode the other's bytes back into the sample.
# Then both decode the same 20000 mutated inputs: they must agree on accepting or rejecting
# each one, and on what an accepted one contains.
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

fuzz_n=20000
"$ours" fuzz $fuzz_n >"$tmp/fuzz-ours" 2>>"$tmp/ours.err"
"$ref" fuzz $fuzz_n >"$tmp/fuzz-ref" 2>>"$tmp/ref.err"

mapfile -t names < <(cut -d' ' -f1 "$tmp/ref")
echo "1..$((3 * ${#names[@]} + 3))"
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

# The one tolerated disagreement: a bool field arriving with a non-varint wire type, which
# libprotobuf-c accepts (reading arbitrary bytes as the flag) and pbrt rejects.
pairs=$(paste -d'|' <(cut -d' ' -f1,2 "$tmp/fuzz-ours") <(cut -d' ' -f1,2 "$tmp/fuzz-ref"))
verdicts=$(echo "$pairs" | sort | uniq -c | tr '\n' ' ' | tr -s ' ')
disagree=$(echo "$pairs" | grep -c -v -e '^accept [a-z]*|accept' -e '^reject [a-z]*|reject' -e '^reject boolwire|accept boolwire$')
lines_ok=$([ "$(wc -l <"$tmp/fuzz-ours")" -eq $fuzz_n ] && [ "$(wc -l <"$tmp/fuzz-ref")" -eq $fuzz_n ] && echo 1 || echo 0)
[ "$lines_ok" = 1 ] && [ "$disagree" -eq 0 ]
result $((! $?)) "$fuzz_n mutated inputs: pbrt and libprotobuf-c accept/reject alike except bool wire-type leniency ($verdicts)" \
    "$disagree disagreements, e.g. $(paste -d'|' "$tmp/fuzz-ours" "$tmp/fuzz-ref" | grep -n -m3 -v -e '^accept.*|accept' -e '^reject [a-z]* [a-z_0-9]*|reject' | cut -c1-300)"

# libprotobuf-c keeps unknown fields and re-sends them; pbrt drops them. Where the re-packed
# bytes differ, pbrt decoding libprotobuf-c's output must give exactly pbrt's own result.
paste -d'|' "$tmp/fuzz-ours" "$tmp/fuzz-ref" | awk -F'|' '$1 != $2 && $1 ~ /^accept/' >"$tmp/fuzz-diff"
cut -d'|' -f2 "$tmp/fuzz-diff" >"$tmp/fuzz-diff-ref"
"$ours" repack "$tmp/fuzz-diff-ref" >"$tmp/fuzz-diff-ref2" 2>>"$tmp/ours.err"
unexplained=$(paste -d'|' <(cut -d'|' -f1 "$tmp/fuzz-diff") "$tmp/fuzz-diff-ref2" | awk -F'|' '$1 != $2' | wc -l)
accepted=$(grep -c '^accept' "$tmp/fuzz-ours")
[ "$accepted" -gt 0 ] && [ "$unexplained" -eq 0 ]
result $((! $?)) "accepted mutations decode to the same message in both runtimes ($accepted accepted, $(wc -l <"$tmp/fuzz-diff") differ only by unknown fields libprotobuf-c keeps)" \
    "$unexplained unexplained differences"
