#!/usr/bin/env bash
# Makes a raw ext4 disk image (no partition table) from a root file system directory, for
# booting with the rootfs on a virtio-blk disk (kernel: root=/dev/vda rootfstype=ext4; the
# kernel then runs /sbin/init, which is kata-init). Reproducible: fixed UUID and directory
# hash seed, all timestamps from SOURCE_DATE_EPOCH (E2FSPROGS_FAKE_TIME for the superblock,
# file mtimes reset, ctimes rewritten), files added in sorted order from a copy made in that
# order.
#
#   mk-image.sh ROOTFS_DIR OUT_FILE          (SOURCE_DATE_EPOCH from the environment)
set -euo pipefail
umask 022

if [ $# -ne 2 ]; then
    echo "usage: $0 ROOTFS_DIR OUT_FILE" >&2
    exit 2
fi
rootfs=$1 out=$2
epoch=${SOURCE_DATE_EPOCH:-0}
# Any fixed values do; these are ours (and show up in blkid output as such).
uuid=6b617461-2d67-7565-7374-2d726f6f7466
hash_seed=6b617461-6861-7368-2d73-656564303030
if [ ! -x "$rootfs/sbin/init" ]; then
    echo "$0: $rootfs/sbin/init is missing: the kernel would have nothing to run" >&2
    exit 1
fi

# mke2fs -d adds entries in readdir order, which depends on the file system the staging
# directory lives on; a copy made entry by entry in sorted order (on a tmpfs-like dir) does
# not, and the image then has the same layout everywhere.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$rootfs" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --pass-through --preserve-modification-time --make-directories --quiet "$work/root")
find "$work/root" -exec touch -h -d "@$epoch" {} +

# Size: content plus a third for metadata and a little free space, rounded up to 8 MiB.
kib=$(du -s --apparent-size --block-size=1K "$work/root" | cut -f1)
mib=$(((kib * 4 / 3 / 1024 + 8 + 7) / 8 * 8))
rm -f "$out.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -b 4096 -L kata-rootfs -U "$uuid" -m 0 \
    -E "hash_seed=$hash_seed,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" \
    -d "$work/root" "$out.tmp" "${mib}M" >/dev/null
# mke2fs copies each inode's ctime and atime from the staging files. ctime cannot be set from
# user space, and reading the files for the copy moves atime again (relatime); rewrite both in
# the image instead.
(
    echo "/"
    cd "$work/root" && find . -mindepth 1 -printf '/%P\n' | LC_ALL=C sort
) | sed -e 's/["\\]/\\&/g' \
    -e "s|.*|sif \"&\" ctime @$epoch\nsif \"&\" atime @$epoch|" >"$work/debugfs.cmds"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$work/debugfs.cmds" "$out.tmp" >"$work/debugfs.log" 2>&1
if grep -v '^debugfs' "$work/debugfs.log" | grep -q .; then
    echo "$0: debugfs could not set every ctime:" >&2
    grep -v '^debugfs' "$work/debugfs.log" | head -5 >&2
    exit 1
fi
mv -f "$out.tmp" "$out"
