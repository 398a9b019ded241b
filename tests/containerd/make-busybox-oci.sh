#!/usr/bin/env bash
# Writes an OCI image layout tarball of a busybox container, offline, from Debian's
# busybox-static: one layer (rootfs-builder/busybox-rootfs.sh: applet links, /etc/passwd,
# /etc/group), its config, manifest, index.json and oci-layout. index.json names the image
# with the annotation io.containerd.image.name=local/busybox:latest, which is the name
# `ctr images import OUT.tar` gives it (no flags needed).
#
#   make-busybox-oci.sh [-b BUSYBOX] OUT.tar
#
# The same busybox gives the same bytes: sorted tar entries, every mtime 0, numeric owners,
# gzip without name or time, JSON written in a fixed form. The digests are what containerd
# checks on import: each blob's sha256, and rootfs.diff_ids = the sha256 of the layer before
# compression.
set -euo pipefail

usage() {
	echo "usage: $0 [-b BUSYBOX] OUT.tar" >&2
	exit 2
}

busybox=${BUSYBOX:-/bin/busybox}
while getopts "b:h" opt; do
	case $opt in
	b) busybox=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
out=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-oci.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$src/rootfs-builder/busybox-rootfs.sh" -b "$busybox" "$work/rootfs" >/dev/null

# Only what a reader of the layer needs: the GNU format stores no atime/ctime, unlike pax.
tar --sort=name --mtime=@0 --numeric-owner --format=gnu -C "$work/rootfs" -cf "$work/layer.tar" .
mkdir -p "$work/oci/blobs/sha256"
blobs=$work/oci/blobs/sha256

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# Stores FILE as a blob; prints "DIGEST SIZE".
put_blob() {
	local d
	d=$(sha "$1")
	mv "$1" "$blobs/$d"
	echo "sha256:$d $(size "$blobs/$d")"
}
blob() { # VAR_DIGEST VAR_SIZE FILE: put_blob's answer into two variables, failing with it
	local r
	r=$(put_blob "$3")
	read -r "$1" "$2" <<<"$r"
}

diff_id=sha256:$(sha "$work/layer.tar")
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
blob layer_digest layer_size "$work/layer.tar.gz"

cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["$diff_id"]},"history":[{"created_by":"tests/containerd/make-busybox-oci.sh"}]}
EOF
blob config_digest config_size "$work/config.json"

cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer_digest","size":$layer_size}]}
EOF
blob manifest_digest manifest_size "$work/manifest.json"

cat >"$work/oci/index.json" <<EOF
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest_digest","size":$manifest_size,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"local/busybox:latest"}}]}
EOF
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"

mkdir -p "$(dirname "$out")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
	-C "$work/oci" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
