#!/usr/bin/env bash
# TAP: the debian/ source package's structure, without building it (dpkg-buildpackage rebuilds
# everything, the kernel included: run it by hand, see debian/rules). Its version is the VERSION
# file's, its build dependencies are ones scripts/install-deps.sh installs, and its .install
# lists name exactly what `make install` installs.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

changelog_version=$(dpkg-parsechangelog -S Version 2>/dev/null)
check "debian/changelog version ($changelog_version) is VERSION ($(cat VERSION))" \
    [ -n "$changelog_version" -a "$changelog_version" = "$(cat VERSION)" ]

# Build-Depends names, less debhelper (only the package build needs it) and git (the commit
# in --version; any checkout has it).
sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed '$d' | sed 's/^Build-Depends://' |
    tr ',' '\n' | sed 's/(.*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep . |
    grep -vxE 'debhelper-compat|git' | LC_ALL=C sort -u >"$work/build-deps"
sed -n '/^PKGS=(/,/^)/p' scripts/install-deps.sh | sed '1d;$d' | tr ' ' '\n' | grep . |
    LC_ALL=C sort -u >"$work/install-deps"
LC_ALL=C comm -23 "$work/build-deps" "$work/install-deps" >"$work/undeclared"
if [ -s "$work/build-deps" ] && [ ! -s "$work/undeclared" ]; then
    ok "every build dependency ($(wc -l <"$work/build-deps")) is installed by scripts/install-deps.sh"
else
    not_ok "build dependencies scripts/install-deps.sh does not install:"
    sed 's/^/#   /' "$work/undeclared"
fi

# make install's copying (install-files: what test-deps built, nothing remade) into a scratch
# root, against the .install lists.
if make -s --no-print-directory install-files DESTDIR="$work/root" PREFIX=/usr >"$work/make.log" 2>&1; then
    ok "make install-files DESTDIR=... PREFIX=/usr"
    (cd "$work/root" && find . -type f -o -type l) | sed 's|^\./||' | LC_ALL=C sort >"$work/installed"
    cat debian/*.install | LC_ALL=C sort >"$work/listed"
    check "the .install lists name exactly the installed files ($(wc -l <"$work/installed"))" \
        bash -c "diff '$work/listed' '$work/installed' | sed 's/^/#   /'; cmp -s '$work/listed' '$work/installed'"
    check "man pages installed under share/man/man1 and man8" \
        [ -f "$work/root/usr/share/man/man1/kata-host.1" -a -f "$work/root/usr/share/man/man8/kata-agent.8" \
          -a -f "$work/root/usr/share/man/man8/kata-init.8" ]
else
    not_ok "make install-files DESTDIR=... PREFIX=/usr"
    tail -5 "$work/make.log" | sed 's/^/#   /'
fi

echo "1..$n"
