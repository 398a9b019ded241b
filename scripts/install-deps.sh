#!/usr/bin/env bash
# Installs what building and testing need (`--bench`: also what benchmarks need), from Debian's archive only. Idempotent and quick
# when everything is present.
set -euo pipefail
PKGS=(
  make gcc musl-tools protobuf-c-compiler libprotobuf-c-dev
  busybox-static cpio gzip xz-utils zstd e2fsprogs
  linux-source-6.1 flex bison bc libelf-dev libssl-dev
  qemu-system-x86 socat
  bats bats-assert bats-support crun jq util-linux iproute2 procps bsdutils
  containerd
  golang-go golang-github-containerd-ttrpc-dev protoc-gen-go golang-google-protobuf-dev protobuf-compiler
  containerd golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
  golang-github-containerd-typeurl-dev golang-github-gogo-protobuf-dev
  python3-protobuf python3-prometheus-client iptables
  file
  scdoc
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  # The aarch64 guest (mk/aarch64.mk): the cross compiler, Debian's musl for arm64 (its
  # aarch64-linux-musl-gcc wrapper), arm64 kernel UAPI headers, and the TCG emulator.
  gcc-aarch64-linux-gnu musl-dev:arm64 linux-libc-dev:arm64 qemu-system-arm
)
# `--bench`: what only `make bench` needs. Debian's stock kernel is the boot-time baseline;
# it is kept out of the default set because installing it takes minutes.
if [ "${1:-}" = --bench ]; then PKGS+=(linux-image-amd64); fi
# `--package`: what only `make check-package` (the Debian package build) needs.
if [ "${1:-}" = --package ]; then PKGS+=(debhelper dpkg-dev fakeroot lintian git); fi
# arm64 packages come through multiarch.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" != 0 ]; then echo "install-deps: must run as root to add the arm64 architecture" >&2; exit 1; fi
  dpkg --add-architecture arm64
  apt-get update -qq
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then echo "install-deps: must run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# busybox-static:arm64 shares its paths with the amd64 one, so it is not installed: its .deb
# (the same version as the installed amd64 one, whose applet list the aarch64 rootfs uses) is
# kept where mk/aarch64.mk unpacks it from.
debs=${KATA_CACHE_DIR:-/var/cache/kata-guest}/debs
bb_version=$(dpkg-query -W -f='${Version}' busybox-static)
have_bb=
for f in "$debs"/busybox-static_*_arm64.deb; do
  [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$bb_version" ] && have_bb=$f
done
if [ -z "$have_bb" ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-deps: must run as root to fetch busybox-static:arm64" >&2; exit 1; fi
  mkdir -p "$debs"
  (cd "$debs" && apt-get download -qq "busybox-static:arm64=$bb_version" 2>/dev/null) || {
    apt-get update -qq
    (cd "$debs" && apt-get download -qq "busybox-static:arm64=$bb_version")
  }
fi
