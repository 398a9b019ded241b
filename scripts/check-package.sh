#!/usr/bin/env bash
# `make check-package` (TAP; root; not part of `make check`, as it rebuilds everything): the
# Debian packages of the committed HEAD, built twice with `dpkg-buildpackage -b -us -uc` from
# two fresh clones in directories of different names (kata-guest-a, kata-guest-b), must be byte-identical and lintian-clean;
# then `apt-get install` them, run a container from the installed files alone, `apt-get purge`
# them and check that none of their files is left. Uncommitted changes are not packaged.
set -u
cd "$(dirname "$0")/.." || exit 2
src=$PWD
scripts/install-deps.sh --package || exit 2
. tests/lib/tap.sh
# `make check-package` fails when any check does.
failures=0
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $*"; }
pkgs=(kata-host kata-guest-image kata-guest-agent)
for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        echo "1..0 # skip $p is installed on this machine; not touching it"
        exit 0
    fi
done
work=$(mktemp -d /tmp/check-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

build() { # build DIR NAME: clone HEAD into DIR/NAME and build the binary packages there
    mkdir -p "$1" && git clone -q "$src" "$1/$2" &&
        (cd "$1/$2" && dpkg-buildpackage -b -us -uc) >"$1/build.log" 2>&1
}
for d in a b; do
    if build "$work/$d" "kata-guest-$d"; then
        ok "dpkg-buildpackage -b -us -uc (clone $d)"
    else
        not_ok "dpkg-buildpackage -b -us -uc (clone $d)"
        tail -5 "$work/$d/build.log" | sed 's/^/#   /'
    fi
done
for p in "${pkgs[@]}"; do
    d1=$(sha256sum <"$work/a/${p}_$(cat VERSION)_amd64.deb" 2>/dev/null | cut -d' ' -f1)
    d2=$(sha256sum <"$work/b/${p}_$(cat VERSION)_amd64.deb" 2>/dev/null | cut -d' ' -f1)
    check "$p .deb byte-identical across the two builds ($d1)" [ -n "$d1" -a "$d1" = "$d2" ]
done
lintian --tag-display-limit 0 "$work/a/kata-guest_$(cat VERSION)_amd64.changes" >"$work/lintian.log" 2>&1
rc=$?
sed 's/^/#   /' "$work/lintian.log" | grep -v 'root privileges'
check "lintian: no errors, no warnings (overrides carry their reasons)" \
    bash -c "[ $rc -eq 0 ] && ! grep -qE '^[EW]: ' '$work/lintian.log'"

debs=()
for p in "${pkgs[@]}"; do debs+=("$work/a/${p}_$(cat VERSION)_amd64.deb"); done
check "apt-get install ./*.deb" \
    bash -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${debs[*]} >'$work/install.log' 2>&1"
out=$(cd / && KATA_HOST_RUN_DIR=$work/run KATA_HOST_ACCEL=${KATA_HOST_ACCEL:-tcg} \
    timeout -k 5 120 /usr/bin/kata-host run --no-template -- uname -m 2>&1)
check "the installed kata-host runs a container from the installed guest ($out)" [ "$out" = x86_64 ]
check "the installed man pages are found by man" \
    bash -c "man -w kata-host kata-agent kata-init containerd-shim-kata-guest-v2 >/dev/null"
dpkg -L "${pkgs[@]}" >"$work/files" 2>/dev/null
check "apt-get purge" \
    bash -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ${pkgs[*]} >'$work/purge.log' 2>&1"
left=$(while read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && echo "$f"; done <"$work/files")
check "nothing of the packages left after purge (${left:-none})" [ -z "$left" ]
check "their directories are gone" [ ! -e /usr/share/kata-containers -a ! -e /usr/libexec/kata-guest ]
echo "1..$n"
[ "$failures" -eq 0 ]
