#!/usr/bin/env bash
# Packs a root file system directory into a gzip'd cpio (newc) initrd that is byte-identical
# whenever the directory's content is: entries in `LC_ALL=C sort` order, every mtime set to
# SOURCE_DATE_EPOCH, owners 0:0, inode and device numbers renumbered (cpio --reproducible),
# and no name or time in the gzip header (-n). Hard links stay hard links, so a file linked
# twice (busybox) is stored once.
#
#   mk-initrd.sh ROOTFS_DIR OUT_FILE        (SOURCE_DATE_EPOCH from the environment, default 0)
# Note: resets the mtimes inside ROOTFS_DIR.
set -euo pipefail
umask 022

if [ $# -ne 2 ]; then
    echo "usage: $0 ROOTFS_DIR OUT_FILE" >&2
    exit 2
fi
rootfs=$1 out=$2
epoch=${SOURCE_DATE_EPOCH:-0}
if [ ! -x "$rootfs/init" ]; then
    echo "$0: $rootfs/init is missing or not executable: the kernel would have nothing to run" >&2
    exit 1
fi
case $epoch in
'' | *[!0-9]*)
    echo "$0: SOURCE_DATE_EPOCH='$epoch' is not a number of seconds" >&2
    exit 1
    ;;
esac

find "$rootfs" -exec touch -h -d "@$epoch" {} +
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
    cd "$rootfs"
    find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
        cpio --create --format=newc --owner=0:0 --reproducible --quiet
) | gzip -9 -n >"$tmp"
mv -f "$tmp" "$out"
trap - EXIT
