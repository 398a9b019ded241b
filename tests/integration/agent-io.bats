#!/usr/bin/env bats
# kata-agent on the host: stdio bytes, terminals, parked calls, several clients.
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

@test "stdin to stdout is byte-exact, NULs and all 256 byte values included" {
    head -c 4096 /dev/urandom >"$WORK/bin.in"
    printf '\0\0\0a\0' >>"$WORK/bin.in"
    for i in $(seq 0 255); do printf "\\$(printf %o "$i")"; done >>"$WORK/bin.in"
    actl run -i --id bin --rootfs "$ROOTFS" -- /bin/payload cat <"$WORK/bin.in" >"$WORK/bin.out"
    cmp "$WORK/bin.in" "$WORK/bin.out"
}

@test "10 MiB through cat arrive intact" {
    head -c 10485760 /dev/urandom >"$WORK/big.in"
    actl run -i --id big --rootfs "$ROOTFS" -- /bin/payload cat <"$WORK/big.in" >"$WORK/big.out"
    cmp "$WORK/big.in" "$WORK/big.out"
}

@test "10 MiB of output from the process arrive intact and in order" {
    actl run --id pat --rootfs "$ROOTFS" -- /bin/payload pattern 10485760 >"$WORK/pat.out"
    "$PAYLOAD" pattern 10485760 | cmp - "$WORK/pat.out"
}

@test "stdout and stderr stay apart" {
    actl create-container --id split --rootfs "$ROOTFS" -- /bin/sh -c 'echo one; echo two >&2; echo three'
    actl start-container --id split
    run actl read-stdout --id split --all
    assert_output $'one\nthree'
    run actl read-stderr --id split --all
    assert_output two
    actl wait --id split
    actl remove --id split
}

@test "ReadStdout honours len and returns empty data at EOF" {
    actl create-container --id rlen --rootfs "$ROOTFS" -- /bin/payload echo abcdefghij
    actl start-container --id rlen
    actl wait --id rlen >/dev/null &
    sleep 0.3
    run actl read-stdout --id rlen --len 4
    assert_output abcd
    run actl read-stdout --id rlen --all
    assert_output efghij
    run actl read-stdout --id rlen
    assert_equal "$status" 3 # EOF
    actl remove --id rlen
}

@test "WriteStdin answers the length; an empty WriteStdin and CloseStdin close stdin" {
    actl create-container --id win --rootfs "$ROOTFS" -- /bin/payload cat
    actl start-container --id win
    run actl write-stdin --id win --data hello
    assert_output 5
    run actl write-stdin --id win </dev/null # nothing, then the empty write: EOF
    assert_success
    run actl read-stdout --id win --all
    assert_output hello
    run actl wait --id win
    assert_output 0
    actl remove --id win

    actl create-container --id cin --rootfs "$ROOTFS" -- /bin/payload cat
    actl start-container --id cin
    actl write-stdin --id cin --data abc
    run actl close-stdin --id cin
    assert_success
    run actl read-stdout --id cin --all
    assert_output abc
    run actl write-stdin --id cin --data more
    assert_failure
    actl remove --id cin
}

@test "a large WriteStdin to a process that reads slowly is queued, not lost" {
    head -c 3000000 /dev/urandom >"$WORK/slow.in"
    actl create-container --id slow --rootfs "$ROOTFS" -- /bin/sh -c 'sleep 1; exec /bin/payload cat'
    actl start-container --id slow
    (actl read-stdout --id slow --all >"$WORK/slow.out") &
    run actl write-stdin --id slow <"$WORK/slow.in"
    assert_output 3000000
    wait
    cmp "$WORK/slow.in" "$WORK/slow.out"
    actl remove --id slow
}

@test "tty: output comes on stdout, isatty, and TtyWinResize changes the size" {
    actl create-container -t --rows 10 --cols 20 --id tty --rootfs "$ROOTFS" -- /bin/sh -c 'payload isatty 0; stty size; read x; stty size'
    actl start-container --id tty
    sleep 0.3
    run actl resize --id tty --rows 33 --cols 111
    assert_success
    actl write-stdin --id tty --data $'go\n'
    run actl read-stdout --id tty --all
    assert_output --partial tty
    assert_output --partial '10 20'
    assert_output --partial '33 111'
    run actl wait --id tty
    assert_output 0
    actl remove --id tty
}

@test "TtyWinResize on a process without a terminal is UNAVAILABLE" {
    actl create-container --id notty --rootfs "$ROOTFS" -- /bin/payload pause
    run actl resize --id notty --rows 5 --cols 5
    assert_equal "$status" 2
    assert_output --partial UNAVAILABLE
    actl remove --id notty
}

@test "exec with a terminal" {
    actl create-container --id etty --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id etty
    actl exec -t --id etty --exec-id t1 -- /bin/payload isatty 1
    run actl read-stdout --id etty --exec-id t1 --all
    assert_output --partial tty
    refute_output --partial notty
    actl remove --id etty
}

@test "a parked ReadStdout does not hold up other calls on the same connection" {
    actl create-container --id park -i --rootfs "$ROOTFS" -- /bin/sh -c 'read x; echo late'
    actl start-container --id park
    actl blocked-read-check --id park >"$WORK/park.out" &
    local bg=$!
    sleep 1.2
    # the Checks ran while the read was parked; now let it complete
    actl write-stdin --id park --data $'x\n'
    wait $bg
    run cat "$WORK/park.out"
    assert_line --index 0 'checks answered while the read was parked'
    assert_line --index 1 late
    actl remove --id park
}

@test "WaitProcess and ReadStdout from two connections at once" {
    actl create-container --id two --rootfs "$ROOTFS" -- /bin/sh -c 'sleep 0.5; echo done'
    actl start-container --id two
    actl read-stdout --id two --all >"$WORK/two.read" &
    actl wait --id two >"$WORK/two.wait" &
    wait
    run cat "$WORK/two.read" "$WORK/two.wait"
    assert_output $'done\n0'
    actl remove --id two
}

@test "output still readable after the exit was collected by WaitProcess" {
    actl create-container --id late --rootfs "$ROOTFS" -- /bin/payload echo kept
    actl start-container --id late
    run actl wait --id late
    assert_output 0
    run actl read-stdout --id late --all
    assert_output kept
    actl remove --id late
}

@test "after exit, readers get EOF within the drain window even if an orphan keeps the pipe open" {
    actl create-container --id orphan --ns mount,ipc,uts --rootfs "$ROOTFS" -- /bin/sh -c '(sleep 5 &) ; echo bye'
    actl start-container --id orphan
    SECONDS=0
    run actl read-stdout --id orphan --all
    assert_output bye
    [ "$SECONDS" -lt 4 ]
    actl remove --id orphan
}

@test "a client killed in the middle of a parked call leaves the agent healthy" {
    actl create-container --id vanish --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id vanish
    "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" read-stdout --id vanish &
    local r=$!
    "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" wait --id vanish &
    local w=$!
    sleep 0.3
    kill -9 $r $w
    wait $r $w 2>/dev/null || true
    run actl check
    assert_output SERVING
    # the process and its streams are still usable by a new client
    actl signal --id vanish --signal 9
    run actl wait --id vanish
    assert_output 137
    actl remove --id vanish
}

@test "many containers at once" {
    for i in $(seq 1 10); do
        actl run --id many$i --rootfs "$ROOTFS" -- /bin/payload echo "n$i" >"$WORK/many$i" &
    done
    wait
    for i in $(seq 1 10); do
        run cat "$WORK/many$i"
        assert_output "n$i"
    done
}

@test "parked calls whose deadline (timeout_nano) passes are dropped cleanly" {
    actl create-container --id dl --rootfs "$ROOTFS" -- /bin/payload cat
    actl start-container --id dl
    run actl -T 0.3 wait --id dl
    assert_failure
    run actl -T 0.3 read-stdout --id dl
    assert_failure
    # the process is unaffected: it still echoes, and exits normally
    actl write-stdin --id dl --data ping
    run actl read-stdout --id dl
    assert_output ping
    actl close-stdin --id dl
    run actl wait --id dl
    assert_output 0
    actl remove --id dl
}
