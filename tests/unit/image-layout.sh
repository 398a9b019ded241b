#!/usr/bin/env bash
# TAP: the disk image's layout, read from outside with nothing of image/ (kata-runtime-facts.md
# §2.1): both MBRs and their one partition, the nd_pfn info block (signature, version, mode,
# dataoff, align, and the fletcher64 checksum recomputed here), the size a multiple of
# 128 MiB, and the ext4 in p1 mountable through a loop device at 3 MiB. Then the same for an
# image built with --no-dax-header (p1 at 1 MiB, no info block).
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${KATA_BUILD:-$PWD/build}
img=$build/kata-containers.img
PY=/usr/bin/python3

. tests/lib/tap.sh

if [ ! -f "$img" ] || [ ! -x "$build/tools/kata-image-layout" ] || [ ! -d "$build/rootfs" ]; then
    echo "1..1"
    echo "ok 1 # skip $img not built (make image)"
    exit 0
fi
work=$(mktemp -d /tmp/image-layout.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
trap 'mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"' EXIT

# layout.py IMAGE dax|plain: prints one "name value" line per fact; exits 1 on a mismatch.
cat >"$work/layout.py" <<'PYEOF'
import struct, sys
path, kind = sys.argv[1], sys.argv[2]
MIB = 1 << 20
data = open(path, "rb").read(4 * MIB)
size = __import__("os").stat(path).st_size
print("size", size, "aligned" if size % (128 * MIB) == 0 else "UNALIGNED")

def mbr(off):
    m = data[off:off + 512]
    assert m[510:512] == b"\x55\xaa", "no boot signature at %d" % off
    entries = [m[446 + 16 * i:462 + 16 * i] for i in range(4)]
    used = [e for e in entries if e[4] != 0]
    e = entries[0]
    start, count = struct.unpack("<II", e[8:16])
    return len(used), e[4], start, count

def fletcher64(buf):
    lo = hi = 0
    for (w,) in struct.iter_unpack("<I", buf):
        lo = (lo + w) & 0xffffffff
        hi = (hi + lo) & 0xffffffff
    return hi << 32 | lo

if kind == "dax":
    n, typ, start, count = mbr(0)
    print("outer", n, hex(typ), start * 512, (start + count) * 512 == size)
    n, typ, start, count = mbr(2 * MIB)
    print("inner", n, hex(typ), start * 512, 2 * MIB + (start + count) * 512 == size)
    sb = bytearray(data[4096:8192])
    sig = bytes(sb[0:16])
    vmaj, vmin = struct.unpack("<HH", sb[52:56])
    dataoff, npfns, mode = struct.unpack("<QQI", sb[56:76])
    align = struct.unpack("<I", sb[84:88])[0]
    stored = struct.unpack("<Q", sb[4088:4096])[0]
    sb[4088:4096] = b"\0" * 8
    print("pfn", sig.decode(errors="replace").rstrip("\0"), "%d.%d" % (vmaj, vmin), mode, dataoff, align)
    print("checksum", "ok" if stored == fletcher64(bytes(sb)) and stored else "BAD %x" % stored)
else:
    n, typ, start, count = mbr(0)
    print("outer", n, hex(typ), start * 512, (start + count) * 512 == size)
    print("pfn-area", "empty" if data[4096:8192] == b"\0" * 4096 else "NOT EMPTY")
PYEOF

run_layout() { $PY "$work/layout.py" "$@" >"$work/facts" 2>&1; }
fact() { grep -qx -- "$1" "$work/facts"; }

check "the image's first 4 MiB parse" run_layout "$img" dax
check "size is a multiple of 128 MiB" grep -q '^size [0-9]* aligned$' "$work/facts"
check "outer MBR: one Linux partition at 3 MiB, to the end of the file" fact "outer 1 0x83 3145728 True"
check "inner MBR (at 2 MiB): one Linux partition at 1 MiB, to the end" fact "inner 1 0x83 1048576 True"
check "nd_pfn info block at 4 KiB: NVDIMM_PFN_INFO 0.2, mode RAM, dataoff and align 2 MiB" \
    fact "pfn NVDIMM_PFN_INFO 0.2 1 2097152 2097152"
check "nd_pfn checksum matches fletcher64 recomputed here" fact "checksum ok"

loop=$(losetup --find --show --read-only --offset $((3 << 20)) "$img" 2>/dev/null)
check "loop device at offset 3 MiB" [ -n "$loop" ]
check "p1 mounts read-only as ext4" mount -t ext4 -o ro "${loop:-/nonexistent}" "$mnt"
check "it holds /sbin/init -> ../init and the agent" \
    bash -c "[ \"\$(readlink '$mnt/sbin/init')\" = ../init ] && [ -x '$mnt/usr/bin/kata-agent' ]"
check "ext4 block size 4096" bash -c "dumpe2fs -h '${loop:-/nonexistent}' 2>/dev/null | grep -q '^Block size: *4096$'"
mountpoint -q "$mnt" && umount "$mnt"
[ -n "$loop" ] && losetup -d "$loop"

# The comparison can fail: a flipped byte in the info block breaks the checksum.
cp --sparse=always "$img" "$work/bad.img"
printf '\x01' | dd of="$work/bad.img" bs=1 seek=$((4096 + 100)) conv=notrunc status=none
run_layout "$work/bad.img" dax
check "a flipped byte in the info block is caught" bash -c "grep -q '^checksum BAD' '$work/facts'"

check "image without the DAX header builds" \
    env KATA_IMAGE_LAYOUT="$build/tools/kata-image-layout" \
    image/mk-image.sh --no-dax-header "$build/rootfs" "$work/plain.img"
check "its first 4 MiB parse" run_layout "$work/plain.img" plain
check "plain image: size a multiple of 128 MiB" grep -q '^size [0-9]* aligned$' "$work/facts"
check "plain image: one Linux partition at 1 MiB, to the end" fact "outer 1 0x83 1048576 True"
check "plain image: no info block" fact "pfn-area empty"
check "plain image: p1 is the same ext4" \
    bash -c "dumpe2fs -h '$work/plain.img?offset=1048576' 2>/dev/null | grep -q 'Filesystem UUID: *6b617461-2d67-7565-7374-2d726f6f7466'"

echo "1..$n"
