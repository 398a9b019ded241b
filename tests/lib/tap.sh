# TAP helpers for the shell test scripts (tests/unit/*.sh): source it, then report with ok,
# not_ok, skip or check, and end with `echo "1..$n"` (TAP allows the plan last).
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n # skip $*"; }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
