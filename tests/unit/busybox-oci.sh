#!/usr/bin/env bash
# TAP: tests/containerd/make-busybox-oci.sh writes the same bytes twice (two scratch dirs, a
# second apart), an OCI image layout whose digests, sizes and diff_id hold, and an image that
# Debian's containerd imports under local/busybox:latest and runs with its runc shim, through
# the containerd suites' own harness (tests/containerd/lib/containerd.bash). This runs whether
# or not our shim is built, so the image and the harness are checked on every `make check`.
set -u
cd "$(dirname "$0")/../.." || exit 1
export KATA_SRC=$PWD KATA_BUILD=${KATA_BUILD:-$PWD/build}

. tests/lib/tap.sh

mk=tests/containerd/make-busybox-oci.sh
work=$(mktemp -d /tmp/busybox-oci-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

check "the image script runs" "$mk" "$work/a.tar"
sleep 1
if [ -d /dev/shm ] && [ -w /dev/shm ]; then b=$(TMPDIR=/dev/shm mktemp -d); else b=$work/b; fi
TMPDIR=$b "$mk" "$b/b.tar" >/dev/null 2>&1
check "two builds are byte for byte the same" cmp -s "$work/a.tar" "$b/b.tar"
[ "$b" = "$work/b" ] || rm -rf "$b"

mkdir -p "$work/oci"
tar -xf "$work/a.tar" -C "$work/oci"
blob() { echo "$work/oci/blobs/sha256/${1#sha256:}"; }
# Every descriptor's digest is its blob's sha256 and its size the blob's size.
descriptor_ok() { # FILE JQ-PATH-TO-DESCRIPTOR
    local d s f
    d=$(jq -r "$2.digest" "$1") && s=$(jq -r "$2.size" "$1") || return 1
    f=$(blob "$d")
    [ -f "$f" ] && [ "sha256:$(sha256sum <"$f" | cut -d' ' -f1)" = "$d" ] && [ "$(stat -c %s "$f")" = "$s" ]
}
check "oci-layout says 1.0.0" test "$(jq -r .imageLayoutVersion "$work/oci/oci-layout")" = 1.0.0
check "index.json names the image local/busybox:latest" \
    test "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "$work/oci/index.json")" = local/busybox:latest
check "the manifest descriptor matches its blob" descriptor_ok "$work/oci/index.json" '.manifests[0]'
manifest=$(blob "$(jq -r '.manifests[0].digest' "$work/oci/index.json")")
check "the config descriptor matches its blob" descriptor_ok "$manifest" .config
check "the layer descriptor matches its blob" descriptor_ok "$manifest" '.layers[0]'
layer=$(blob "$(jq -r '.layers[0].digest' "$manifest")")
config=$(blob "$(jq -r .config.digest "$manifest")")
check "rootfs.diff_ids is the sha256 of the uncompressed layer" \
    test "$(jq -r '.rootfs.diff_ids[0]' "$config")" = "sha256:$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)"
listing=$(tar -tvzf "$layer")
has() { grep -qE "$1" <<<"$listing"; }
check "the layer holds busybox, its applet links, /etc/passwd and /etc/group" \
    eval 'has " \./bin/busybox$" && has " \./bin/sh -> \.\./bin/busybox$" && has " \./etc/passwd$" && has " \./etc/group$"'
check "every entry of the layer has mtime 0" eval '! grep -vq " 1970-01-01 00:00 " <<<"$listing"'

if [ "$(id -u)" != 0 ] || ! command -v containerd >/dev/null; then
    skip "import and run: needs root and containerd (scripts/install-deps.sh)"
    skip "nothing left"
else
    # shellcheck source=../containerd/lib/containerd.bash
    . tests/containerd/lib/containerd.bash
    export KG_CTR_RUNTIME=io.containerd.runc.v2
    ctr_setup busybox-oci-ctr
    run_it() {
        ctr_start && ctr_ images import "$work/a.tar" >/dev/null &&
            ctr_ images ls -q | grep -qx local/busybox:latest &&
            [ "$(ctr_run --rm "$IMG" "$(ctr_id t)" head -1 /etc/passwd </dev/null)" = root:x:0:0:root:/root:/bin/sh ]
    }
    check "a private containerd imports it and runs it with runc" run_it
    check "nothing of that containerd is left once the task is gone" ctr_nothing_left
    ctr_cleanup
fi
echo "1..$n"
