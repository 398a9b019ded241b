#!/usr/bin/env bats
# Debian's containerd 1.6 driving a runtime through `ctr`: what any shim v2 must get right.
# The runtime is KG_CTR_RUNTIME: ours (io.containerd.kata-guest.v2, the default) or
# io.containerd.runc.v2, which proves the harness and these tests themselves. A private
# containerd per file (lib/containerd.bash); every ctr call runs under `timeout`.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load lib/containerd

setup_file() { ctr_setup_file kg-ctr-basics; }
teardown_file() { ctr_cleanup; }
setup() { ctr_require; }
# Each test removes what it made; this catches what a failing one left (a `ctr events`
# reader included).
teardown() {
    ctr_events_stop
    ctr_remove_all
}

# Starts ID detached with no terminal and no stdin: ctr_run_d ID CMD...
ctr_run_d() {
    local id=$1
    shift
    ctr_run -d "$IMG" "$id" "$@" </dev/null
}

# ID not among the lines of `ctr_ ARGS...`
refute_listed() {
    local id=$1 out
    shift
    out=$(ctr_ "$@") || return 1
    if grep -qxF -- "$id" <<<"$out"; then
        echo "$id still listed by ctr $*" >&2
        return 1
    fi
}

# Copies FILE to stdout once task ID runs. ctr closes the task's stdin when its own stdin
# ends, but only once the task exists: an end of input seen earlier is lost and the task
# waits for it forever (ctr 1.6's stdinCloser has no closer yet).
feed_when_running() { # ID FILE
    ctr_wait_status "$1" RUNNING 60 >&2 || return 1
    cat "$2"
}

shim_of() { # ID: the pid of the shim containerd started for ID
    pgrep -f -- "containerd-shim.* -address $CTR_SOCK .*-id $1( |$)|containerd-shim.* -id $1 .*-address $CTR_SOCK( |$)"
}


@test "exit codes: 0, 3, and 137 (128+SIGKILL) for a container killed by SIGKILL" {
    run ctr_run --rm "$IMG" "$(ctr_id exit0)" true </dev/null
    assert_success
    run ctr_run --rm "$IMG" "$(ctr_id exit3)" sh -c 'exit 3' </dev/null
    assert_failure 3
    local id
    id=$(ctr_id exit137)
    ctr_run --rm "$IMG" "$id" sleep 1000 </dev/null >/dev/null 2>&1 &
    local pid=$!
    ctr_wait_status "$id" RUNNING 60
    ctr_ task kill -s SIGKILL "$id"
    local rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 137
    refute_listed "$id" containers ls -q
}

@test "stdout and stderr: exact bytes, binary included, each on its own stream" {
    local out=$CTR_WORK/bytes
    mkdir -p "$out"
    local rc=0
    ctr_run --rm "$IMG" "$(ctr_id bytes)" sh -c "printf 'out\\000\\001\\377\\n'; printf 'err\\000\\376' >&2" \
        </dev/null >"$out/stdout" 2>"$out/stderr" || rc=$?
    assert_equal "$rc" 0
    printf 'out\000\001\377\n' >"$out/stdout.want"
    printf 'err\000\376' >"$out/stderr.want"
    run cmp "$out/stdout" "$out/stdout.want"
    assert_success
    run cmp "$out/stderr" "$out/stderr.want"
    assert_success
}

@test "1 MiB on stdout and 256 KiB on stderr at once arrive whole (sha256)" {
    local out=$CTR_WORK/large
    mkdir -p "$out"
    local rc=0
    ctr_run --rm "$IMG" "$(ctr_id large)" sh -c \
        'yes 0123456789abcdef | head -c 262144 >&2 & yes fedcba9876543210 | head -c 1048576; wait' \
        </dev/null >"$out/stdout" 2>"$out/stderr" || rc=$?
    assert_equal "$rc" 0
    assert_equal "$(stat -c %s "$out/stdout")" 1048576
    assert_equal "$(sha256sum <"$out/stdout")" "$(yes fedcba9876543210 | head -c 1048576 | sha256sum)"
    assert_equal "$(sha256sum <"$out/stderr")" "$(yes 0123456789abcdef | head -c 262144 | sha256sum)"
}

@test "stdin: 1 MiB of random bytes piped in (no -t) come back out exactly, and EOF arrives" {
    local out=$CTR_WORK/stdin
    mkdir -p "$out"
    head -c 1048576 /dev/urandom >"$out/in"
    local rc=0 id
    id=$(ctr_id stdin)
    feed_when_running "$id" "$out/in" | ctr_run --rm "$IMG" "$id" cat >"$out/out" || rc=$?
    assert_equal "$rc" 0
    run cmp "$out/in" "$out/out"
    assert_success
    printf 'a\0b' >"$out/small"
    id=$(ctr_id stdin2)
    small() { feed_when_running "$id" "$out/small" | ctr_run --rm "$IMG" "$id" sh -c 'wc -c; echo after-eof'; }
    run small
    assert_success
    assert_line --regexp '^ *3$'
    assert_line after-eof
}

@test "-t: the container's terminal has ctr's size, and a resize reaches it" {
    local id
    id=$(ctr_id tty)
    echo "$id" >>"$CTR_WORK/words"
    run timeout -k 5 "$CTR_T" python3 "$KATA_SRC/tests/guest/helpers/winch.py" \
        ctr -a "$CTR_SOCK" -n "$CTR_NS" run --rm -t --runtime "$KG_CTR_RUNTIME" \
        --fifo-dir "$CTR_FIFO" "$IMG" "$id" sh
    assert_success
    assert_line "20 70"
    assert_line "40 120"
    assert_line mark-two
}

@test "-t: output comes through the terminal and the exit code is kept" {
    local id
    id=$(ctr_id tty2)
    echo "$id" >>"$CTR_WORK/words"
    run timeout -k 5 "$CTR_T" script -qec "ctr -a '$CTR_SOCK' -n '$CTR_NS' run --rm -t \
        --runtime '$KG_CTR_RUNTIME' --fifo-dir '$CTR_FIFO' '$IMG' '$id' \
        sh -c '[ -t 0 ] && [ -t 1 ] && echo on-a-tty; exit 4'" /dev/null </dev/null
    assert_failure 4
    assert_output --partial on-a-tty
}

@test "env and cwd: --env, --cwd and the image's PATH reach the process" {
    run ctr_run --rm --env FOO=bar --env 'SPACED=a b' --cwd /tmp "$IMG" "$(ctr_id env)" \
        sh -c 'echo "$FOO"; echo "$SPACED"; pwd; echo "$PATH"' </dev/null
    assert_success
    assert_line -n 0 bar
    assert_line -n 1 'a b'
    assert_line -n 2 /tmp
    assert_line -n 3 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

@test "run -d, task exec (output, exit code, stdin), task kill, task rm" {
    local id
    id=$(ctr_id detach)
    run ctr_run_d "$id" sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
    assert_success
    ctr_wait_status "$id" RUNNING 60
    run ctr_exec --exec-id e1 "$id" sh -c 'echo in-exec; echo to-err >&2; exit 5' </dev/null
    assert_failure 5
    assert_line in-exec
    assert_line to-err
    # The race feed_when_running avoids, for an exec: its input comes late.
    late_input() { { sleep 3; echo piped; } | ctr_exec --exec-id e2 "$id" cat; }
    run late_input
    assert_success
    assert_output piped
    # The default signal, SIGTERM, reaches the trap: a clean exit.
    run ctr_ task kill "$id"
    assert_success
    ctr_wait_status "$id" STOPPED 60
    run ctr_ task rm "$id"
    assert_success
    refute_listed "$id" task ls -q
    run ctr_ containers rm "$id"
    assert_success
}

@test "task ps lists the task's process, the pid task ls shows" {
    local id pid
    id=$(ctr_id ps)
    ctr_run_d "$id" sleep 1000
    ctr_wait_status "$id" RUNNING 60
    pid=$(ctr_ task ls | awk -v id="$id" '$1 == id {print $2}')
    [[ "$pid" =~ ^[1-9][0-9]*$ ]]
    run ctr_ task ps "$id"
    assert_success
    assert_line -n 0 --regexp '^PID +INFO'
    assert_line --regexp "^$pid "
    # Every line after the header is a pid.
    [ "${#lines[@]}" -ge 2 ]
    local l
    for l in "${lines[@]:1}"; do [[ "$l" =~ ^[0-9]+\  ]]; done
    ctr_rm_task "$id"
}

@test "pause stops the process (PAUSED, a gap in its clock log), resume continues it" {
    local id
    id=$(ctr_id pause)
    ctr_run_d "$id" sh -c 'while :; do date +%s >>/tmp/log; sleep 0.2; done'
    ctr_wait_status "$id" RUNNING 60
    sleep 1
    run ctr_ task pause "$id"
    assert_success
    assert_equal "$(ctr_task_status "$id")" PAUSED
    sleep 4
    assert_equal "$(ctr_task_status "$id")" PAUSED
    run ctr_ task resume "$id"
    assert_success
    assert_equal "$(ctr_task_status "$id")" RUNNING
    sleep 2
    run ctr_exec --exec-id log "$id" cat /tmp/log </dev/null
    assert_success
    # The largest step between consecutive lines is the pause; lines after it: it went on.
    run awk 'NR > 1 && $1 - p > gap {gap = $1 - p; at = NR} {p = $1} END {print gap, NR - at}' <<<"$output"
    local gap after
    read -r gap after <<<"$output"
    [ "$gap" -ge 3 ] || { echo "largest step in the log: ${gap}s" >&2; false; }
    [ "$after" -ge 2 ] || { echo "only $after lines after the pause" >&2; false; }
    ctr_rm_task "$id"
}

@test "task metrics prints figures: memory in use, cpu time, pids" {
    local id
    id=$(ctr_id metrics)
    ctr_run_d "$id" sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000'
    ctr_wait_status "$id" RUNNING 60
    sleep 1
    run ctr_ task metrics "$id"
    assert_success
    assert_line --regexp "^$id +[0-9]{4}-"
    # cgroup v1 names (the host's hierarchy) or v2 ones (a guest with the unified one).
    assert_line --regexp '^memory\.usage(_in_bytes)? +[1-9][0-9]* *$'
    assert_line --regexp '^(cpuacct\.usage|cpu\.usage_usec) +[1-9][0-9]* *$'
    assert_line --regexp '^pids\.current +[1-9][0-9]* *$'
    ctr_rm_task "$id"
}

@test "ctr events sees create, start, exec-added, exec-started, paused, resumed, exit, delete" {
    local id ev=$CTR_WORK/events.log
    id=$(ctr_id events)
    ctr_events_start "$ev"
    sleep 0.5
    ctr_run_d "$id" sleep 1000
    ctr_wait_status "$id" RUNNING 60
    run ctr_exec --exec-id ex1 "$id" true </dev/null
    assert_success
    ctr_ task pause "$id"
    ctr_ task resume "$id"
    ctr_ task kill -s SIGKILL "$id"
    ctr_wait_status "$id" STOPPED 60
    ctr_ task rm "$id"
    ctr_ containers rm "$id"
    local topic
    for _ in $(seq 50); do
        grep -q "/tasks/delete .*\"$id\"" "$ev" && break
        sleep 0.1
    done
    ctr_events_stop
    for topic in create start exec-added exec-started paused resumed delete; do
        grep -q " /tasks/$topic {\"container_id\":\"$id\"" "$ev" ||
            { echo "no /tasks/$topic for $id in:" >&2; cat "$ev" >&2; false; }
    done
    # One exit for the exec, one for the task (137), in that order.
    run grep -o " /tasks/exit {\"container_id\":\"$id\",\"id\":\"[^\"]*\"" "$ev"
    assert_line -n 0 --partial "\"id\":\"ex1\""
    assert_line -n 1 --partial "\"id\":\"$id\""
    grep -q " /tasks/exit {\"container_id\":\"$id\",\"id\":\"$id\",.*\"exit_status\":137" "$ev"
}

@test "ctr run --rootfs DIR: a plain directory as the root, writes land in it" {
    local dir=$CTR_WORK/plain-rootfs
    "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$dir" >/dev/null
    echo from-the-host >"$dir/marker"
    # No image, no image config: no PATH in the process's environment either.
    run ctr_run --rm --rootfs "$dir" "$(ctr_id rootfs)" /bin/sh -c 'cat /marker; echo from-the-container >/written' </dev/null
    assert_success
    assert_output from-the-host
    assert_equal "$(cat "$dir/written")" from-the-container
}

@test "containerd restart: the running task is still listed, can be exec'd into and killed" {
    local id shim
    id=$(ctr_id restart)
    ctr_run_d "$id" sleep 1000
    ctr_wait_status "$id" RUNNING 60
    shim=$(shim_of "$id")
    [[ "$shim" =~ ^[0-9]+$ ]]
    run ctr_restart
    assert_success
    ctr_wait_status "$id" RUNNING 30
    # containerd found the same shim again through the bundle's address file.
    assert_equal "$(shim_of "$id")" "$shim"
    run ctr_exec --exec-id after-restart "$id" echo alive </dev/null
    assert_success
    assert_output alive
    run ctr_ task kill -s SIGKILL "$id"
    assert_success
    ctr_wait_status "$id" STOPPED 60
    run ctr_ task rm "$id"
    assert_success
    run ctr_ containers rm "$id"
    assert_success
}

@test "the overlayfs and native snapshotters both run the image" {
    local sn id
    for sn in overlayfs native; do
        id=$(ctr_id "snap-$sn")
        run ctr_run --rm --snapshotter "$sn" "$IMG" "$id" \
            sh -c 'head -1 /etc/passwd; echo copy-up >>/etc/group; tail -1 /etc/group' </dev/null
        assert_success
        assert_line -n 0 root:x:0:0:root:/root:/bin/sh
        assert_line -n 1 copy-up
        # The image was unpacked for this snapshotter: its committed layer is there.
        run ctr_ snapshots --snapshotter "$sn" ls
        assert_success
        assert_line --regexp '^sha256:[0-9a-f]{64} +Committed'
    done
}

@test "after the tests: no shim, mount, socket or runc state of this run is left, no sanitizer report" {
    run ctr_nothing_left
    assert_success
    # The shims have exited: their leak checks have run.
    run ctr_sanitizer_reports
    assert_output ""
}
