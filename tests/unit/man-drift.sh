#!/usr/bin/env bash
# TAP: the man pages cannot drift from the programs. Every option, subcommand, kernel parameter
# and environment variable a page documents is compared, both ways, with the list the program
# prints from its own tables (kata-host and the containerd shim --list-options, kata-agent/kata-init
# --list-parameters); and --version prints the VERSION file's version and the build's commit.
#
# What a page documents, by the pages' convention (man/*.scd): in GLOBAL OPTIONS, COMMANDS,
# KERNEL PARAMETERS and ENVIRONMENT, a definition's term line starts with a bold name, and
# further names on the same line follow ", ". Under COMMANDS each "## NAME ..." is a
# subcommand whose options follow.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${KATA_BUILD:-$PWD/build}
. tests/lib/tap.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

shim=containerd-shim-kata-guest-v2
for f in "$build/bin/kata-host" "$build/bin/kata-agent" "$build/bin/kata-init" "$build/bin/$shim"; do
    if [ ! -x "$f" ]; then
        echo "1..1"
        echo "ok 1 # skip $f not built (make bins)"
        exit 0
    fi
done

# documented PAGE.scd PROGRAM: "SCOPE NAME" lines, in the programs' list format.
documented() {
    awk -v prog="$2" '
    function term(line,    n, parts, i, tok) {
        n = split(line, parts, /, /)
        for (i = 1; i <= n; i++)
            if (match(parts[i], /^\*[^*]+\*/)) {
                tok = substr(parts[i], 2, RLENGTH - 2)
                print scope " " tok
            }
    }
    /^# / {
        sec = substr($0, 3); scope = ""; cmds = 0
        if (sec == "GLOBAL OPTIONS") scope = prog
        else if (sec == "COMMANDS") cmds = 1
        else if (sec == "KERNEL PARAMETERS") scope = "param"
        else if (sec == "ENVIRONMENT") scope = "env"
        else if (sec == "CONFIGURATION") scope = "config"
        prev = ""; next
    }
    /^## / && cmds { print "command " $2; scope = $2; prev = ""; next }
    # a term line is an unindented line starting with a bold name, followed by its
    # tab-indented definition
    /^\t/ && prev ~ /^\*/ && scope != "" { term(prev) }
    { prev = $0 }
    ' "$1" | LC_ALL=C sort -u
}

# compare NAME DOCUMENTED ACCEPTED: two TAP lines, one per direction.
compare() {
    local name=$1 doc=$2 acc=$3
    LC_ALL=C comm -23 "$doc" "$acc" >"$work/extra"
    LC_ALL=C comm -13 "$doc" "$acc" >"$work/missing"
    if [ -s "$doc" ] && [ ! -s "$work/extra" ]; then
        ok "$name: everything documented is accepted ($(wc -l <"$doc") names)"
    else
        not_ok "$name: documented but not accepted:"
        sed 's/^/#   /' "$work/extra"
    fi
    if [ -s "$acc" ] && [ ! -s "$work/missing" ]; then
        ok "$name: everything accepted is documented ($(wc -l <"$acc") names)"
    else
        not_ok "$name: accepted but not documented:"
        sed 's/^/#   /' "$work/missing"
    fi
}

"$build/bin/kata-host" --list-options | LC_ALL=C sort -u >"$work/host.acc"
# kata-host's environment is not in a table of its own: its page's ENVIRONMENT is not checked.
documented man/kata-host.1.scd kata-host | grep -v '^env ' >"$work/host.doc"
compare "kata-host(1) options and subcommands" "$work/host.doc" "$work/host.acc"
check "kata-host lists the subcommands it dispatches (run, exec, ps, stop, console)" \
    bash -c "[ \$(grep -cE '^command (run|exec|ps|stop|console)\$' '$work/host.acc') -eq 5 ]"
check "kata-host lists run's options (--kernel-params, -m)" \
    bash -c "grep -qx 'run --kernel-params' '$work/host.acc' && grep -qx 'run -m' '$work/host.acc'"

"$build/bin/kata-agent" --list-parameters | LC_ALL=C sort -u >"$work/agent.acc"
documented man/kata-agent.8.scd kata-agent >"$work/agent.doc"
compare "kata-agent(8) kernel parameters and environment" "$work/agent.doc" "$work/agent.acc"

"$build/bin/kata-init" --list-parameters | LC_ALL=C sort -u >"$work/init.acc"
documented man/kata-init.8.scd kata-init >"$work/init.doc"
compare "kata-init(8) kernel parameters and environment" "$work/init.doc" "$work/init.acc"

"$build/bin/$shim" --list-options | LC_ALL=C sort -u >"$work/shim.acc"
documented man/$shim.8.scd $shim >"$work/shim.doc"
compare "$shim(8) flags, commands, environment and configuration keys" "$work/shim.doc" "$work/shim.acc"

# The comparison can fail: a page with one option dropped and one invented is caught both ways.
grep -v '^\*--dry-run\*' man/kata-host.1.scd | sed 's/^\*--no-template\*$/*--no-template*, *--bogus*/' \
    >"$work/drifted.scd"
documented "$work/drifted.scd" kata-host | grep -v '^env ' >"$work/drifted.doc"
n_before=$n
compare "drifted copy of kata-host(1)" "$work/drifted.doc" "$work/host.acc" >"$work/drift.tap"
n=$n_before
check "a drifted page fails both ways (run --bogus documented, run --dry-run not)" \
    bash -c "grep -q '^not ok.*documented but not accepted' '$work/drift.tap' &&
             grep -q '^#   run --bogus\$' '$work/drift.tap' &&
             grep -q '^not ok.*accepted but not documented' '$work/drift.tap' &&
             grep -q '^#   run --dry-run\$' '$work/drift.tap'"

# The pages render, without groff warnings.
for p in kata-host.1 kata-agent.8 kata-init.8 $shim.8; do
    if [ -s "$build/man/$p" ]; then
        check "$p renders without warnings" \
            bash -c "out=\$(groff -man -Tutf8 -ww -z '$build/man/$p' 2>&1) && [ -z \"\$out\" ]"
    else
        not_ok "$p rendered into build/man/ (make man)"
    fi
done

# --version: the VERSION file's version and the commit of the tree the build came from.
version=$(cat VERSION)
commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
for b in "$build/bin" "$build/asan/bin"; do
    for p in kata-host kata-agent kata-init $shim; do
        [ -x "$b/$p" ] || continue
        out=$("$b/$p" --version 2>&1)
        rc=$?
        check "${b#"$build"/} $p --version: '$out' (want $version, commit $commit; stale? make bins)" \
            bash -c "[ $rc -eq 0 ] && [[ \"\$1\" == \"$p $version (commit $commit\"[,\)]* ]]" _ "$out"
    done
done
if [ -x "$build/asan/bin/agentctl" ]; then
    out=$("$build/asan/bin/agentctl" -V 2>&1)
    check "agentctl -V: '$out'" [ "$out" = "agentctl $version (commit $commit)" ]
fi
check "kata-host -V is --version" [ "$("$build/bin/kata-host" -V)" = "$("$build/bin/kata-host" --version)" ]
out=$("$build/bin/kata-host" --bogus 2>&1)
rc=$?
check "kata-host --bogus: exit 125 and a clear error ($out)" \
    bash -c "[ $rc -eq 125 ] && [[ \"\$1\" == *\"unknown option '--bogus'\"* ]]" _ "$out"

echo "1..$n"
