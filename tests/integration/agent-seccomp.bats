#!/usr/bin/env bats
# Seccomp from the OCI spec (linux.seccomp), with crun as the oracle: every profile x syscall
# case runs once under crun on the host and once in a container of our agent, and both must
# give the expected outcome (ok / errno N / trap / killed by SIGSYS). The payload's `syscall`
# subcommand makes the call; the profiles are OCI JSON, read by crun from its config.json and
# by agentctl --seccomp into the protobuf spec.
load agent_helper

setup_file() {
    agent_setup_file
    [ -d "$ROOTFS" ] || return 0
    command -v crun >/dev/null && command -v jq >/dev/null || return 0
    mkdir -p "$WORK/crun" "$WORK/prof"
    (cd "$WORK/crun" && crun spec)
    # No terminal, no cgroup resources (crun runs with the cgroup manager disabled), the
    # agent's test rootfs.
    jq --arg root "$ROOTFS" '.process.terminal=false | del(.linux.resources) |
        .root.path=$root' "$WORK/crun/config.json" >"$WORK/crun/base.json"
    write_profiles "$WORK/prof"
}
teardown_file() { agent_teardown_file; }
setup() {
    agent_setup
    [ -s "$WORK/crun/base.json" ] || skip "crun or jq missing"
}
teardown() { agent_teardown; }

write_profiles() {
    # Every action once; an unknown name in a rule is skipped (as crun and libseccomp do).
    cat >"$1/actions.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
 "syscalls": [
  {"names": ["getppid", "no_such_syscall_xyz"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7},
  {"names": ["gettid"], "action": "SCMP_ACT_ERRNO"},
  {"names": ["getuid"], "action": "SCMP_ACT_KILL"},
  {"names": ["sched_yield"], "action": "SCMP_ACT_KILL_THREAD"},
  {"names": ["getgid"], "action": "SCMP_ACT_KILL_PROCESS"},
  {"names": ["geteuid"], "action": "SCMP_ACT_TRAP"},
  {"names": ["getegid"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
  {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
  {"names": ["getsid"], "action": "SCMP_ACT_ALLOW"}
 ]}
EOF
    # Every operator on its own syscall; two args ANDed; a 64-bit value; two rules ORed.
    cat >"$1/compare.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
 "syscalls": [
  {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_NE"}]},
  {"names": ["getgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_LT"}]},
  {"names": ["geteuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_LE"}]},
  {"names": ["getegid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 15,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GE"}]},
  {"names": ["gettid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 16,
   "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GT"}]},
  {"names": ["sched_yield"], "action": "SCMP_ACT_ERRNO", "errnoRet": 17,
   "args": [{"index": 0, "value": 240, "valueTwo": 48, "op": "SCMP_CMP_MASKED_EQ"}]},
  {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 19,
   "args": [{"index": 2, "value": 4294967297, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 20,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21,
   "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}
 ]}
EOF
    # Rules of one syscall that overlap: an unconditional rule wins; libseccomp's order (a rule
    # extending an earlier one is redundant; the other order libseccomp refuses, EEXIST).
    cat >"$1/overlap.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [
  {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6},
  {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
   "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
  {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}
 ]}
EOF
    # A default action that refuses: what is not allowed fails with EPERM, or kills.
    local allow='"execve", "arch_prctl", "set_tid_address", "rt_sigaction", "rt_sigprocmask",
        "write", "writev", "exit", "exit_group", "ioctl", "brk", "mmap", "munmap", "close",
        "close_range", "read", "fstat", "newfstatat", "getppid"'
    printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [%s], "action": "SCMP_ACT_ALLOW"}]}\n' \
        "$allow" >"$1/deny.json"
    printf '{"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [{"names": [%s], "action": "SCMP_ACT_ALLOW"}]}\n' \
        "$allow" >"$1/deny-kill.json"
    echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$1/bad-action.json"
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}' >"$1/bad-arch.json"
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}' >"$1/bad-flag.json"
    echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action":
        "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}' >"$1/bad-index.json"
    cat >"$1/bad-op.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]}
EOF
}

# outcome of the payload's exit status and output: killed-SIGSYS, or what it printed.
normalize() {
    case $2 in
    159) echo killed-SIGSYS ;;
    0) echo "$1" ;;
    *) echo "exit $2: $1" ;;
    esac
}

# crun_outcome PROFILE NNP SYSCALL [ARGS]
crun_outcome() {
    local prof=$1 nnp=$2 out rc=0
    shift 2
    jq --slurpfile p "$WORK/prof/$prof.json" --argjson nnp "$nnp" \
        '.linux.seccomp=$p[0] | .process.noNewPrivileges=$nnp |
         .process.args=["/bin/payload","syscall"]+$ARGS.positional' \
        "$WORK/crun/base.json" --args "$@" >"$WORK/crun/config.json"
    # Hybrid cgroup hosts: crun refuses a cgroup2 mount with controllers, so it does not see it.
    out=$(unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null
        exec timeout 20 crun --cgroup-manager=disabled run -b "$1" "$2"' sh "$WORK/crun" \
        "seccomp-oracle-$$-$RANDOM" 2>&1) || rc=$?
    normalize "$out" "$rc"
}

# agent_outcome PROFILE NNP SYSCALL [ARGS]
agent_outcome() {
    local prof=$1 nnp=$2 out rc=0 flag=
    shift 2
    [ "$nnp" = true ] && flag=--no-new-privs
    out=$(actl run --rootfs "$ROOTFS" --seccomp "$WORK/prof/$prof.json" $flag -- \
        /bin/payload syscall "$@" 2>&1) || rc=$?
    normalize "$out" "$rc"
}

# check_cases PROFILE NNP, then lines "EXPECTED | SYSCALL ARGS" on stdin: every case must give
# the expected outcome under crun and under the agent; all mismatches are listed.
check_cases() {
    local prof=$1 nnp=$2 expected call c a fails=0 n=0
    while IFS='|' read -r expected call; do
        expected=$(echo "$expected" | sed 's/ *$//')
        # shellcheck disable=SC2086
        c=$(crun_outcome "$prof" "$nnp" $call)
        # shellcheck disable=SC2086
        a=$(agent_outcome "$prof" "$nnp" $call)
        n=$((n + 1))
        if [ "$c" != "$expected" ] || [ "$a" != "$expected" ]; then
            echo "$prof nnp=$nnp:$call: expected '$expected', crun '$c', agent '$a'" >&2
            fails=$((fails + 1))
        fi
    done
    [ "$n" -gt 0 ] && [ "$fails" = 0 ]
}

@test "GetGuestDetails says seccomp is supported" {
    run actl guest-details
    assert_success
    assert_output --partial supports_seccomp=1
}

@test "every action: allow, errno (with and without errnoRet), kill, kill_thread, kill_process, trap, trace, log" {
    check_cases actions true <<'EOF'
errno 7        | getppid
errno 1        | gettid
killed-SIGSYS  | getuid
killed-SIGSYS  | sched_yield
killed-SIGSYS  | getgid
trap           | geteuid
errno 38       | getegid
ok             | getpid
ok             | getsid 0
ok             | getpgid 0
EOF
}

@test "without no_new_privs the filter is still loaded (before capabilities are dropped)" {
    check_cases actions false <<'EOF'
errno 7        | getppid
killed-SIGSYS  | getuid
ok             | getpid
EOF
}

@test "every comparison operator on both sides of its bound, ANDed args, 64-bit value, ORed rules" {
    check_cases compare true <<'EOF'
errno 11 | getppid 5
ok       | getppid 4
errno 12 | getuid 4
ok       | getuid 5
errno 13 | getgid 4
ok       | getgid 5
errno 14 | geteuid 5
ok       | geteuid 6
errno 15 | getegid 5
ok       | getegid 4
errno 16 | gettid 6
ok       | gettid 5
errno 17 | sched_yield 0x3f
ok       | sched_yield 0x40
errno 18 | getpid 1 2
ok       | getpid 1 3
errno 19 | getsid 0 0 0x100000001
ok       | getsid 0 0 1
ok       | getsid 0 0 0x200000001
errno 20 | getpgid 1
errno 21 | getpgid 2
ok       | getpgid 0
EOF
}

@test "overlapping rules of one syscall resolve as libseccomp does" {
    check_cases overlap true <<'EOF'
errno 6 | getppid 1
errno 6 | getppid 2
errno 5 | getpgid 1 2
errno 6 | getpgid 1 3
errno 6 | getsid 1 2
errno 3 | getsid 2 2
EOF
}

@test "the default action applies to every syscall the profile does not allow" {
    check_cases deny true <<'EOF'
ok            | getppid
errno 1       | getpid
errno 1       | gettid
EOF
    check_cases deny-kill true <<'EOF'
ok            | getppid
killed-SIGSYS | getpid
EOF
}

@test "an unknown action or operator fails CreateContainer with INVALID_ARGUMENT naming it" {
    run crun_outcome bad-action true getpid
    refute_output ok
    run actl create-container --id badact --rootfs "$ROOTFS" --seccomp "$WORK/prof/bad-action.json" \
        --no-new-privs -- /bin/payload syscall getpid
    assert_failure
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial SCMP_ACT_BOGUS
    run crun_outcome bad-op true getppid 1
    refute_output ok
    refute_output 'errno 1'
    run actl create-container --id badop --rootfs "$ROOTFS" --seccomp "$WORK/prof/bad-op.json" \
        -- /bin/payload syscall getppid
    assert_failure
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial SCMP_CMP_BOGUS
    # nothing was left behind
    run actl wait --id badact
    assert_output --partial InvalidContainerId
}

@test "an unknown architecture or flag, an argument index over 5: refused by both" {
    local prof want
    for prof in bad-arch:SCMP_ARCH_VAX bad-flag:SECCOMP_FILTER_FLAG_NOPE 'bad-index:index 6'; do
        want=${prof#*:}
        prof=${prof%%:*}
        run crun_outcome "$prof" true getpid
        assert_output --regexp '^exit 1: '
        run actl create-container --id "$prof" --rootfs "$ROOTFS" --seccomp "$WORK/prof/$prof.json" \
            --no-new-privs -- /bin/payload syscall getpid
        assert_failure
        assert_output --partial INVALID_ARGUMENT
        assert_output --partial "$want"
    done
}

@test "an exec'd process gets the container's profile" {
    actl create-container --id sx --rootfs "$ROOTFS" --seccomp "$WORK/prof/actions.json" \
        --no-new-privs -- /bin/payload pause
    actl start-container --id sx
    actl exec --id sx --exec-id e1 --no-new-privs -- /bin/payload syscall getppid
    run actl read-stdout --id sx --exec-id e1 --all
    assert_output 'errno 7'
    run actl wait --id sx --exec-id e1
    assert_output 0
    actl exec --id sx --exec-id e2 -- /bin/payload syscall getuid
    run actl wait --id sx --exec-id e2
    assert_output 159
    run actl remove --id sx
    assert_success
}

@test "a docker-sized allow list (every syscall name of both tables) behaves as under crun" {
    local names
    names=$(grep -o '{"[a-z0-9_]*"' "$KATA_BUILD/gen/syscall-names.h" | tr -d '{"' | sort -u |
        grep -vx 'getppid\|sched_yield\|gettid' | jq -R . | jq -s -c .)
    [ "$(echo "$names" | jq length)" -gt 300 ]
    jq -n --argjson n "$names" '{defaultAction: "SCMP_ACT_ERRNO",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [{names: $n, action: "SCMP_ACT_ALLOW"},
            {names: ["sched_yield"], action: "SCMP_ACT_ERRNO", errnoRet: 38},
            {names: ["gettid"], action: "SCMP_ACT_ALLOW",
             args: [{index: 0, value: 40, op: "SCMP_CMP_NE"}]}]}' >"$WORK/prof/big.json"
    check_cases big true <<'CASES'
ok       | getpid
errno 1  | getppid
errno 38 | sched_yield
ok       | gettid 0
errno 1  | gettid 40
CASES
}
