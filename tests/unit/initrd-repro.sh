#!/usr/bin/env bash
# TAP: the guest initrd and disk image are reproducible and hold what the guest needs.
# Builds the rootfs and both images twice, from the same inputs, in two scratch directories on
# different file systems when possible (/tmp and /dev/shm: different readdir orders), a second
# apart (different file times), and compares them byte for byte; then reads the initrd's cpio
# headers itself to check entry order, owners, times and hard links.
set -u
cd "$(dirname "$0")/../.." || exit 1
src=$PWD
build=${KATA_BUILD:-$src/build}
init_bin=$build/bin/kata-init
agent_bin=$build/bin/kata-agent
PY=/usr/bin/python3

. tests/lib/tap.sh

for f in "$init_bin" "$agent_bin" "$build/tools/kata-image-layout"; do
    if [ ! -x "$f" ]; then
        echo "1..1"
        echo "ok 1 # skip $f not built (make bins)"
        exit 0
    fi
done

export SOURCE_DATE_EPOCH=1700000000
work1=$(mktemp -d /tmp/initrd-repro.XXXXXX)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    work2=$(mktemp -d /dev/shm/initrd-repro.XXXXXX)
else
    work2=$(mktemp -d /tmp/initrd-repro.XXXXXX)
fi
trap 'rm -rf "$work1" "$work2"' EXIT

build_all() { # build_all DIR
    rootfs-builder/build-rootfs.sh "$1/rootfs" "$init_bin" "$agent_bin" >"$1/log" 2>&1 &&
        image/mk-initrd.sh "$1/rootfs" "$1/initrd.img" >>"$1/log" 2>&1 &&
        KATA_IMAGE_LAYOUT=$build/tools/kata-image-layout \
            image/mk-image.sh "$1/rootfs" "$1/disk.img" >>"$1/log" 2>&1
}

check "first build" build_all "$work1"
sleep 1
check "second build (other directory, other file system, a second later)" build_all "$work2"

h1=$(sha256sum <"$work1/initrd.img" | cut -d' ' -f1)
h2=$(sha256sum <"$work2/initrd.img" | cut -d' ' -f1)
check "initrd byte-identical across builds ($h1)" [ -n "$h1" -a "$h1" = "$h2" ]
d1=$(sha256sum <"$work1/disk.img" | cut -d' ' -f1)
d2=$(sha256sum <"$work2/disk.img" | cut -d' ' -f1)
check "disk image byte-identical across builds ($d1)" [ -n "$d1" -a "$d1" = "$d2" ]

# The comparison must be able to fail: one changed byte of input changes the output.
echo "different" >"$work2/rootfs/etc/hostname"
image/mk-initrd.sh "$work2/rootfs" "$work2/changed.img"
h3=$(sha256sum <"$work2/changed.img" | cut -d' ' -f1)
check "a changed input gives a different initrd" [ "$h3" != "$h1" ]
SOURCE_DATE_EPOCH=1700000001 image/mk-initrd.sh "$work1/rootfs" "$work1/later.img"
h4=$(sha256sum <"$work1/later.img" | cut -d' ' -f1)
check "another SOURCE_DATE_EPOCH gives a different initrd" [ "$h4" != "$h1" ]

size=$(stat -c %s "$work1/initrd.img")
check "initrd is at most 2 MiB compressed ($size bytes)" [ "$size" -le $((2 * 1024 * 1024)) ]
check "gzip header carries no name and no time" \
    [ "$(od -An -tx1 -j3 -N5 "$work1/initrd.img" | tr -d ' \n')" = "0000000000" ]

# Parse the newc headers: name, mode, uid, gid, nlink, mtime, size per entry.
zcat "$work1/initrd.img" >"$work1/initrd.cpio"
$PY - "$work1/initrd.cpio" >"$work1/entries" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
off = 0
while True:
    h = data[off:off + 110]
    assert h[:6] == b"070701", "bad magic at %d" % off
    f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
    ino, mode, uid, gid, nlink, mtime, size, namesize = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[11]
    name = data[off + 110:off + 110 + namesize - 1].decode()
    off = (off + 110 + namesize + 3) & ~3
    if name == "TRAILER!!!":
        break
    off = (off + size + 3) & ~3
    print("%s\t%o\t%d\t%d\t%d\t%d\t%d\t%d" % (name, mode, uid, gid, nlink, mtime, size, ino))
EOF
check "cpio headers parse" [ -s "$work1/entries" ]
has() { awk -F'\t' -v n="$1" -v m="$2" '$1 == n && index($2, m) == 1 { f = 1 } END { exit !f }' "$work1/entries"; }
check "/init is a regular executable file" has init 1007
check "/sbin/init is a symlink (to init)" has sbin/init 12
check "/usr/bin/kata-agent is a regular executable file" has usr/bin/kata-agent 1007
check "/bin/sh (busybox applet link)" has bin/sh 12
check "/opt/kata/rootfs/bin/sh (default container rootfs)" has opt/kata/rootfs/bin/sh 12
check "/opt/kata/rootfs/etc/passwd" has opt/kata/rootfs/etc/passwd 10
check "/etc/hostname" has etc/hostname 10
check "every entry is owned by 0:0" awk -F'\t' '$3 != 0 || $4 != 0 { bad = 1 } END { exit bad }' "$work1/entries"
check "every mtime is SOURCE_DATE_EPOCH" awk -F'\t' -v t="$SOURCE_DATE_EPOCH" '$6 != t { bad = 1 } END { exit bad }' "$work1/entries"
# cpio writes a hard-linked file's earlier links next to its last one: leave those out.
awk -F'\t' '$5 == 1 || $2 ~ /^4/ { print $1 }' "$work1/entries" >"$work1/names"
check "entries are in LC_ALL=C sort order" cmp -s "$work1/names" <(LC_ALL=C sort "$work1/names")
# busybox is linked twice (/bin and the container rootfs): newc stores the data once.
bb=$(stat -c %s /bin/busybox)
check "busybox data stored once for its two hard links" \
    [ "$(awk -F'\t' -v s="$bb" '$7 == s' "$work1/entries" | wc -l)" -eq 1 ]
check "the two busybox links share one inode" \
    [ "$(awk -F'\t' '$1 == "bin/busybox" || $1 == "opt/kata/rootfs/bin/busybox" { print $8 "/" $5 }' "$work1/entries" | sort -u | wc -l)" -eq 1 ]

# The disk image: ext4 with the fixed identity, holding init, in p1 at 3 MiB (the layout itself
# is checked by image-layout.sh).
fs="$work1/disk.img?offset=$((3 << 20))"
check "disk image is ext4 with the fixed UUID" \
    bash -c "dumpe2fs -h '$fs' 2>/dev/null | grep -q 'Filesystem UUID: *6b617461-2d67-7565-7374-2d726f6f7466'"
check "disk image has /sbin/init -> ../init" \
    bash -c "debugfs -R 'stat /sbin/init' '$fs' 2>/dev/null | grep -q 'Fast link dest: \"../init\"'"

echo "1..$n"
