#!/usr/bin/env bash
# Makes Kata's guest disk image from a root file system directory, in the layout of
# osbuilder's image_builder.sh (image/layout.h): an MBR with one partition p1 holding ext4
# (4 KiB blocks), preceded by the 2 MiB DAX header (a second MBR and the nd_pfn info block)
# unless --no-dax-header; the size a multiple of 128 MiB. It boots as the runtime attaches it:
# a read-only NVDIMM (root=/dev/pmem0p1 rootflags=dax) or virtio-blk (root=/dev/vda1); the
# kernel runs /sbin/init, which is kata-init. Reproducible: fixed UUID, directory hash seed
# and disk signature, all timestamps from SOURCE_DATE_EPOCH (E2FSPROGS_FAKE_TIME for the
# superblock, file mtimes reset, ctimes rewritten), files added in sorted order from a copy
# made in that order.
#
#   mk-image.sh [--no-dax-header] ROOTFS_DIR OUT_FILE  (SOURCE_DATE_EPOCH from the environment;
#                                  KATA_IMAGE_LAYOUT: the layout tool, default build/tools/)
set -euo pipefail
umask 022

layout_args=()
if [ "${1:-}" = --no-dax-header ]; then
    layout_args=(--no-dax-header)
    shift
fi
if [ $# -ne 2 ]; then
    echo "usage: $0 [--no-dax-header] ROOTFS_DIR OUT_FILE" >&2
    exit 2
fi
rootfs=$1 out=$2
layout=${KATA_IMAGE_LAYOUT:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/kata-image-layout}
if [ ! -x "$layout" ]; then
    echo "$0: $layout is missing (make build/tools/kata-image-layout)" >&2
    exit 1
fi
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

# Size: content plus a third for metadata and a little free space; the file system then fills
# p1, whose end the 128 MiB step of the whole image sets.
kib=$(du -s --apparent-size --block-size=1K "$work/root" | cut -f1)
need=$(((kib * 4 / 3 + 8 * 1024) * 1024))
fs_bytes=$("$layout" "${layout_args[@]}" --fs-size "$need")
fs=$work/rootfs.ext4
rm -f "$out.tmp"
E2FSPROGS_FAKE_TIME=$epoch mke2fs -q -F -t ext4 -b 4096 -L kata-rootfs -U "$uuid" -m 0 \
    -E "hash_seed=$hash_seed,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" \
    -d "$work/root" "$fs" "$((fs_bytes / 1024))k" >/dev/null
# mke2fs copies each inode's ctime and atime from the staging files. ctime cannot be set from
# user space, and reading the files for the copy moves atime again (relatime); rewrite both in
# the image instead.
(
    echo "/"
    cd "$work/root" && find . -mindepth 1 -printf '/%P\n' | LC_ALL=C sort
) | sed -e 's/["\\]/\\&/g' \
    -e "s|.*|sif \"&\" ctime @$epoch\nsif \"&\" atime @$epoch|" >"$work/debugfs.cmds"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$work/debugfs.cmds" "$fs" >"$work/debugfs.log" 2>&1
if grep -v '^debugfs' "$work/debugfs.log" | grep -q .; then
    echo "$0: debugfs could not set every ctime:" >&2
    grep -v '^debugfs' "$work/debugfs.log" | head -5 >&2
    exit 1
fi
"$layout" "${layout_args[@]}" "$fs" "$out.tmp"
mv -f "$out.tmp" "$out"
