#!/usr/bin/env bash
# TAP: kernel/prune-cache.sh keeps the installed kernel's cache entry and the most recently
# used others, and leaves builds in progress alone. Runs on a fake cache (no kernel build).
set -u
cd "$(dirname "$0")/../.." || exit 1
src=$PWD

. tests/lib/tap.sh

tmp=$(mktemp -d /tmp/kernel-prune.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cache=$tmp/cache/kernel out=$tmp/out
mkdir -p "$cache" "$out"
key() { printf '%064d' "$1"; }
# Entries 1 (oldest) .. 6 (newest); the installed kernel is entry 1's.
for i in 1 2 3 4 5 6; do
    d=$cache/$(key "$i")
    mkdir -p "$d"
    echo "bzImage $i" >"$d/bzImage"
    : >"$cache/.lock-$(key "$i")"
    touch -d "@$((1700000000 + i * 60))" "$d"
done
mkdir -p "$cache/.work-$(key 7)"
touch -d "@1600000000" "$cache/.work-$(key 7)"
cp "$cache/$(key 1)/bzImage" "$out/vmlinuz.container"

run=$(KATA_CACHE_DIR=$tmp/cache "$src/kernel/prune-cache.sh" --keep 2 "$out" 2>&1)
check "prune-cache.sh succeeds" test $? = 0
check "the installed kernel's entry is kept although it is the oldest" test -d "$cache/$(key 1)"
check "the two most recently used others are kept" test -d "$cache/$(key 6)" -a -d "$cache/$(key 5)"
check "older entries and their lock files are removed" \
    test ! -e "$cache/$(key 2)" -a ! -e "$cache/$(key 3)" -a ! -e "$cache/$(key 4)" -a \
    ! -e "$cache/.lock-$(key 3)"
check "it says what it removed" grep -q "pruned old cache entry $(key 4)" <<<"$run"
check "a build in progress (.work-*) is left alone" test -d "$cache/.work-$(key 7)"
check "the installed kernel's entry counts as just used (touched)" \
    test "$(stat -c %Y "$cache/$(key 1)")" -gt 1700000400

# The next prune with KEEP from the environment: the touched entry is now the newest.
cp "$cache/$(key 6)/bzImage" "$out/vmlinuz.container"
KATA_CACHE_DIR=$tmp/cache KATA_KERNEL_CACHE_KEEP=1 "$src/kernel/prune-cache.sh" "$out" >/dev/null
check "KATA_KERNEL_CACHE_KEEP=1: the installed entry and the most recently used other remain" \
    test -d "$cache/$(key 6)" -a -d "$cache/$(key 1)" -a ! -e "$cache/$(key 5)"
if "$src/kernel/prune-cache.sh" --keep x "$out" 2>/dev/null; then
    not_ok "a non-numeric --keep is refused"
else
    ok "a non-numeric --keep is refused"
fi
echo "1..$n"
