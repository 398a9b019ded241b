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
)
# `--bench`: what only `make bench` needs. Debian's stock kernel is the boot-time baseline;
# it is kept out of the default set because installing it takes minutes.
if [ "${1:-}" = --bench ]; then PKGS+=(linux-image-amd64); fi
# `--package`: what only `make check-package` (the Debian package build) needs.
if [ "${1:-}" = --package ]; then PKGS+=(debhelper dpkg-dev fakeroot lintian git); fi
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
