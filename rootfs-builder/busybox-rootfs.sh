#!/usr/bin/env bash
# Makes a minimal busybox container rootfs in DIR: the busybox binary, one relative symlink per
# applet (so the tree also works when it is not the root, e.g. DIR/bin/sh run from the host),
# /etc/{passwd,group,hostname,hosts,resolv.conf} with root, nobody and a test user (uid 1000
# "user"), and the mount-point directories a runtime expects to find.
#
#   busybox-rootfs.sh [-b BUSYBOX] [-l] DIR
#     -b FILE  the busybox binary to install (default: $BUSYBOX, else /bin/busybox)
#     -l       hard-link FILE into DIR instead of copying it (same filesystem required); the
#              guest image uses this so the initrd stores busybox once
# BUSYBOX_APPLETS_FROM=FILE: a busybox that runs here and has the same applets, asked for the
# list instead of FILE (a cross-arch FILE cannot run on the build host; the aarch64 guest
# uses Debian's amd64 busybox-static of the same version).
#
# Used by the guest image (/opt/kata/rootfs) and by the agent's host integration tests.
# Running it again over an existing DIR refreshes it.
set -euo pipefail

usage() {
    echo "usage: $0 [-b BUSYBOX] [-l] DIR" >&2
    exit 2
}

busybox=${BUSYBOX:-/bin/busybox}
hardlink=0
while getopts "b:lh" opt; do
    case $opt in
    b) busybox=$OPTARG ;;
    l) hardlink=1 ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
dir=$1

if [ ! -x "$busybox" ]; then
    echo "$0: busybox binary '$busybox' not found or not executable (apt-get install busybox-static)" >&2
    exit 1
fi
lister=${BUSYBOX_APPLETS_FROM:-$busybox}
# A dynamically linked busybox would not run inside a rootfs without its libraries.
if ! "$lister" --list-full >/dev/null 2>&1; then
    echo "$0: '$lister' does not support --list-full" >&2
    exit 1
fi

busybox=$(readlink -f -- "$busybox")
lister=$(readlink -f -- "$lister")
mkdir -p "$dir"
cd "$dir"
install -d -m 0755 bin sbin usr/bin usr/sbin etc proc sys dev run root home home/user var
install -d -m 1777 tmp var/tmp
chmod 0700 root
chown 1000:1000 home/user

if [ "$hardlink" = 1 ]; then
    ln -f "$busybox" bin/busybox
else
    rm -f bin/busybox
    cp "$busybox" bin/busybox
    chmod 0755 bin/busybox
fi

# Applet links, relative to their own directory: usr/bin/env -> ../../bin/busybox.
"$lister" --list-full | while read -r applet; do
    case $applet in
    bin/busybox | linuxrc | */ | "") continue ;;
    esac
    slashes=${applet//[^\/]/}
    up=""
    for ((i = 0; i < ${#slashes}; i++)); do up="../$up"; done
    [ -d "${applet%/*}" ] || mkdir -p "${applet%/*}"
    ln -sfn "${up}bin/busybox" "$applet"
done

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
user:x:1000:
nobody:x:65534:
EOF
cat >etc/hosts <<'EOF'
127.0.0.1	localhost
::1	localhost
EOF
echo "container" >etc/hostname
: >etc/resolv.conf
chmod 0644 etc/passwd etc/group etc/hosts etc/hostname etc/resolv.conf
