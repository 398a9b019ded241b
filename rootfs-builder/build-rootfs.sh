#!/usr/bin/env bash
# Assembles the guest root file system in a staging directory (later packed into the initrd
# and the disk image):
#   /init                      kata-init (the kernel runs /init from an initramfs)
#   /sbin/init -> ../init      what the kernel runs from a disk root
#   /usr/bin/kata-agent        the agent
#   /bin/busybox + applets     a shell and tools for debugging and for the agent's helpers
#   /etc                       passwd and group (root, nobody), hostname, empty resolv.conf
#   /var/run, /var/tmp         links to /run and /tmp (tmpfs: the image's root is read-only)
#   /opt/kata/rootfs           the default container rootfs (busybox-rootfs.sh), its busybox
#                              a hard link to /bin/busybox so the archive stores it once
#
#   build-rootfs.sh OUT_DIR KATA_INIT KATA_AGENT [BUSYBOX]
set -euo pipefail
umask 022

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
    echo "usage: $0 OUT_DIR KATA_INIT KATA_AGENT [BUSYBOX]" >&2
    exit 2
fi
out=$1 init=$2 agent=$3 busybox=${4:-/bin/busybox}
here=$(cd "$(dirname "$0")" && pwd)

for f in "$init" "$agent" "$busybox"; do
    if [ ! -f "$f" ] || [ ! -x "$f" ]; then
        echo "$0: $f: missing or not executable" >&2
        exit 1
    fi
done
# The guest has no dynamic loader: refuse anything that would fail there with a bare ENOENT.
for f in "$init" "$agent" "$busybox"; do
    if LC_ALL=C readelf -l "$f" 2>/dev/null | grep -q 'Requesting program interpreter'; then
        echo "$0: $f is dynamically linked; the guest needs static binaries" >&2
        exit 1
    fi
done

rm -rf "$out"
mkdir -p "$out"
"$here/busybox-rootfs.sh" -b "$busybox" "$out"
# The guest itself has no login user: drop what the container template adds for tests.
rm -rf "${out:?}/home"
rm -f "$out/sbin/init"
# The disk image is mounted read-only (Kata's `ro` root): whatever is written lives on the
# tmpfs mounts kata-init makes, /run and /tmp. /var/run and /var/tmp lead there, as on
# osbuilder's images.
rm -rf "${out:?}/var/tmp" "${out:?}/var/run"
ln -s ../tmp "$out/var/tmp"
ln -s ../run "$out/var/run"
install -m 0755 "$init" "$out/init"
ln -s ../init "$out/sbin/init"
install -d -m 0755 "$out/usr/bin" "$out/opt/kata"
install -m 0755 "$agent" "$out/usr/bin/kata-agent"

cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
echo "kata-guest" >"$out/etc/hostname"

"$here/busybox-rootfs.sh" -l -b "$out/bin/busybox" "$out/opt/kata/rootfs"

# With a /dev/console node in the archive the kernel gives init a console before /dev is
# mounted, so even a failure to mount /dev can be reported. Creating it needs root; without
# it kata-init opens the console itself once devtmpfs is up.
if [ "$(id -u)" = 0 ]; then
    mknod -m 0600 "$out/dev/console" c 5 1
fi
