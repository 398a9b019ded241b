#!/usr/bin/env bats
# agent/linux on the host, as root: real containers from a busybox rootfs, created through the
# spawn API by tests/tools/spawn-run. Each run is in its own private mount namespace so nothing
# can leak into the host's. spawn.bats uses the ASan build (build/asan/tests-bin/spawn-run);
# spawn-musl.bats, a link to this file, the static musl build that matches the shipped agent.

bats_load_library bats-support
bats_load_library bats-assert

setup_file() {
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    if [[ $BATS_TEST_FILENAME == *-musl.bats ]]; then
        export SPAWN_RUN=${SPAWN_RUN:-$KATA_BUILD/tests-bin/spawn-run}
    else
        export SPAWN_RUN=${SPAWN_RUN:-$KATA_BUILD/asan/tests-bin/spawn-run}
    fi
    export ASAN_OPTIONS=detect_leaks=0
    ROOTFS=$(mktemp -d /tmp/spawn-bats.XXXXXX)
    chmod 755 "$ROOTFS"
    export ROOTFS
    if [ "$(id -u)" = 0 ] && [ -x "$SPAWN_RUN" ]; then
        "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" "$ROOTFS" >/dev/null
    fi
}

teardown_file() {
    [ -n "${ROOTFS:-}" ] && rm -rf "$ROOTFS"
}

setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -x "$SPAWN_RUN" ] || skip "spawn-run not built"
    [ -x "$ROOTFS/bin/busybox" ] || skip "no busybox rootfs"
}

ctr() {
    unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" "$@"
}

@test "pid namespace: the command is pid 1" {
    run ctr -- sh -c 'echo $$; ps -o pid,comm | sed -n 2p'
    assert_success
    assert_line --index 0 "1"
    assert_line --index 1 --regexp '^ *1 +sh$'
}

@test "exit status and signals propagate" {
    run ctr -- sh -c 'exit 7'
    assert_equal "$status" 7
    # Without its own pid namespace, so the shell is not an init immune to SIGKILL.
    run ctr -n mount,uts,ipc -- sh -c 'kill -9 $$'
    assert_equal "$status" 137
}

@test "stdin, stdout and stderr are separate pipes" {
    run bash -c "echo hello-in | unshare -m '$SPAWN_RUN' -r '$ROOTFS' -- sh -c 'cat; echo to-err >&2' 2>/dev/null"
    assert_success
    assert_output "hello-in"
    run bash -c "unshare -m '$SPAWN_RUN' -r '$ROOTFS' -- sh -c 'echo to-out; echo to-err >&2' 2>&1 >/dev/null </dev/null"
    assert_output "to-err"
}

@test "uts namespace: hostname" {
    run ctr -h spawn-host -- hostname
    assert_success
    assert_output "spawn-host"
    [ "$(hostname)" != spawn-host ]
}

@test "read-only rootfs" {
    run ctr -R -- touch /newfile
    assert_failure
    assert_output --partial "Read-only file system"
    run ctr -- sh -c 'touch /tmp/x && echo writable'
    assert_output "writable"
}

@test "tmpfs mount with options" {
    run ctr -m /mnt/t:tmpfs:tmpfs:nosuid,size=1m -- sh -c 'grep " /mnt/t " /proc/mounts'
    assert_success
    assert_output --regexp '^tmpfs /mnt/t tmpfs rw,nosuid,.*size=1024k'
}

@test "rootfs propagation: slave by default, as requested otherwise; nothing leaks to the caller" {
    # The caller's namespace is made shared, so a mount leaking from the container would show
    # up in it (the leak check runs there, after the container).
    root_line='awk "\$5 == \"/\"" /proc/self/mountinfo'
    in_shared() {
        unshare -m --propagation shared sh -c "\"\$0\" \"\$@\"; grep -c '$ROOTFS' /proc/self/mountinfo || true" "$SPAWN_RUN" -r "$ROOTFS" "$@"
    }
    run in_shared -m /mnt/t:tmpfs:tmpfs: -- sh -c "$root_line"
    assert_success
    assert_line --index 0 --partial " master:"
    assert_line --index 1 "0"
    run in_shared -q rprivate -- sh -c "$root_line"
    refute_line --index 0 --partial " master:"
    refute_line --index 0 --partial " shared:"
    assert_line --index 1 "0"
    run in_shared -q rshared -m /mnt/t:tmpfs:tmpfs: -- sh -c "$root_line"
    assert_line --index 0 --partial " shared:"
    assert_line --index 1 "0"
    run ctr -q sideways -- true
    assert_equal "$status" 125
    assert_output --partial "invalid rootfs propagation 'sideways'"
}

@test "read-only bind mount of a host directory" {
    src=$(mktemp -d)
    echo from-host >"$src/f"
    run ctr -m "/data:bind:$src:rbind,ro" -- sh -c 'cat /data/f; touch /data/g'
    rm -rf "$src"
    assert_failure
    assert_line --index 0 "from-host"
    assert_output --partial "Read-only file system"
}

@test "bind onto a dangling symlink creates its target inside the rootfs" {
    ln -sfn ../run/resolv-target "$ROOTFS/etc/dangling"
    ln -sfn /../../../../tmp/escape-target "$ROOTFS/etc/dangling-abs"
    src=$(mktemp)
    echo "nameserver 192.0.2.1" >"$src"
    run ctr -m "/etc/dangling:bind:$src:rbind,ro" -m "/etc/dangling-abs:bind:$src:rbind,ro" -- sh -c 'cat /etc/dangling; ls /run/resolv-target /tmp/escape-target'
    rm -f "$src" "$ROOTFS/etc/dangling" "$ROOTFS/etc/dangling-abs" "$ROOTFS/run/resolv-target" "$ROOTFS/tmp/escape-target"
    assert_success
    assert_line --index 0 "nameserver 192.0.2.1"
    [ ! -e /tmp/escape-target ]
}

@test "default devices, /dev links and devpts" {
    run ctr -- sh -c 'stat -c "%n %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in ptmx fd stdin; do readlink /dev/$l; done; echo x >/dev/null && echo ok'
    assert_success
    assert_line "/dev/null 1:3 666"
    assert_line "/dev/urandom 1:9 666"
    assert_line "/dev/tty 5:0 666"
    assert_line "pts/ptmx"
    assert_line "/proc/self/fd"
    assert_line "/proc/self/fd/0"
    assert_line "ok"
}

@test "masked paths: file reads empty, directory is empty and read-only" {
    run ctr -k /proc/timer_list -k /etc -k /does/not/exist -- sh -c 'wc -c </proc/timer_list; ls -A /etc | wc -l; touch /etc/x'
    assert_failure
    assert_line --index 0 "0"
    assert_line --index 1 "0"
    assert_output --partial "Read-only file system"
}

@test "read-only paths" {
    run ctr -o /proc/sys -o /home -- sh -c 'cat /proc/sys/kernel/ostype; touch /home/x'
    assert_failure
    assert_line --index 0 "Linux"
    assert_output --partial "Read-only file system"
}

@test "env and cwd; HOME defaults from passwd" {
    run ctr -e FOO=bar -e PATH=/bin -c /tmp -U user -- sh -c 'echo $FOO $PATH; pwd; echo $HOME'
    assert_success
    assert_line --index 0 "bar /bin"
    assert_line --index 1 "/tmp"
    assert_line --index 2 "/home/user"
}

@test "missing cwd is a clear error" {
    run ctr -c /nonexistent -- true
    assert_equal "$status" 125
    assert_output --partial 'chdir to cwd "/nonexistent"'
}

@test "numeric uid, gid and additional gids" {
    run ctr -u 1000:1000 -g 10 -g 20 -- id
    assert_success
    assert_output "uid=1000(user) gid=1000(user) groups=10,20"
}

@test "string user resolved in the container's passwd and group" {
    run ctr -U user -- id
    assert_success
    assert_output "uid=1000(user) gid=1000(user)"
    run ctr -U nobody:root -- id
    assert_output --regexp '^uid=65534\(nobody\) gid=0\(root\)'
    run ctr -U ghost -- id
    assert_equal "$status" 125
    assert_output --partial "unable to find user ghost"
}

@test "rlimits" {
    run ctr -l RLIMIT_NOFILE=123:456 -- sh -c 'ulimit -n; ulimit -Hn'
    assert_success
    assert_line --index 0 "123"
    assert_line --index 1 "456"
    run ctr -l RLIMIT_BOGUS=1:1 -- true
    assert_equal "$status" 125
    assert_output --partial "unknown rlimit 'RLIMIT_BOGUS'"
}

@test "capabilities: the five sets" {
    run ctr -- grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status
    assert_line --regexp '^CapEff:\s+00000000a80425fb$'
    assert_line --regexp '^CapBnd:\s+00000000a80425fb$'
    run ctr -C CAP_NET_RAW -- grep -E '^Cap(Eff|Bnd)' /proc/self/status
    assert_line --regexp '^CapEff:\s+0000000000002000$'
    assert_line --regexp '^CapBnd:\s+0000000000002000$'
    run ctr -u 1000:1000 -C CAP_NET_BIND_SERVICE -A CAP_NET_BIND_SERVICE -- grep -E '^Cap(Eff|Amb)' /proc/self/status
    assert_line --regexp '^CapEff:\s+0000000000000400$'
    assert_line --regexp '^CapAmb:\s+0000000000000400$'
    run ctr -u 1000:1000 -- grep -E '^CapEff' /proc/self/status
    assert_line --regexp '^CapEff:\s+0000000000000000$'
    run ctr -C CAP_BOGUS -- true
    assert_equal "$status" 125
    assert_output --partial "unknown capability 'CAP_BOGUS' [3]"
}

@test "no_new_privileges and oom_score_adj" {
    run ctr -P -O 300 -- sh -c 'grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj'
    assert_line --index 0 --regexp 'NoNewPrivs:\s+1'
    assert_line --index 1 "300"
    run ctr -- grep NoNewPrivs /proc/self/status
    assert_output --regexp 'NoNewPrivs:\s+0'
}

@test "sysctl in the container's network namespace" {
    run ctr -n pid,mount,uts,ipc,network -s net.ipv4.ip_forward=1 -- cat /proc/sys/net/ipv4/ip_forward
    assert_success
    assert_output "1"
    run ctr -s ../../etc=1 -- true
    assert_equal "$status" 125
}

@test "user namespace with uid/gid maps" {
    run ctr -n pid,mount,uts,ipc,user,network -x 0:100000:65536 -y 0:100000:65536 -- sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; echo x >/dev/null && echo devnull-ok'
    assert_success
    assert_line --index 0 --regexp '^ +0 +100000 +65536$'
    assert_line --index 1 --regexp '^ +0 +100000 +65536$'
    assert_line --index 2 "0"
    assert_line --index 3 "devnull-ok"
}

@test "terminal: a pty from the container's devpts, with its size" {
    run ctr -t -T 30x100 -- sh -c 'tty; stty size; [ -t 0 ] && [ -t 2 ] && echo all-tty' </dev/null
    assert_success
    assert_line --index 0 --regexp '^/dev/pts/0.?$'
    assert_line --index 1 --regexp '^30 100.?$'
    assert_line --index 2 --regexp '^all-tty.?$'
    run ctr -- tty </dev/null
    assert_output "not a tty"
}

@test "missing command fails at create with NOT_FOUND" {
    run ctr -H -- nosuchcmd
    assert_equal "$status" 125
    assert_output 'spawn-run: exec: "nosuchcmd": executable file not found in $PATH [5]'
    run ctr -- /bin/nosuchcmd
    assert_output 'spawn-run: exec: "/bin/nosuchcmd": no such file or directory [5]'
}

@test "non-executable command fails with PERMISSION_DENIED" {
    run ctr -- /etc/passwd
    assert_equal "$status" 125
    assert_output 'spawn-run: exec: "/etc/passwd": permission denied [7]'
}

@test "invalid specs are clear errors, nothing is left running" {
    run ctr -n pid,mount,user -- true
    assert_equal "$status" 125
    assert_output "spawn-run: a new user namespace needs uid and gid mappings [3]"
    run ctr -n pid,mount,bogus -- true
    assert_equal "$status" 125
    assert_output "spawn-run: unsupported namespace type 'bogus' [3]"
    run ctr -m /x:bind:/nonexistent-src: -- true
    assert_equal "$status" 125
    assert_output --partial "bind mount source /nonexistent-src: No such file or directory"
    run ctr -n pid,uts,ipc -- true
    assert_equal "$status" 125
    assert_output --partial "needs a new mount namespace"
    run ctr -m /proc:proc:proc:nosuid -m /dev/x:devpts:devpts:bogusopt=1 -- true
    assert_equal "$status" 125
    assert_output --partial "mount devpts (devpts) on /dev/x: Invalid argument"
}

@test "held process runs only after release" {
    run ctr -H -- echo released
    assert_success
    assert_output "released"
}

@test "exec joins the namespaces and root of a running container" {
    pidfile=$(mktemp)
    unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" -h held-host -w "$pidfile" -- sleep 30 3>&- &
    bg=$!
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    init=$(cat "$pidfile")
    run "$SPAWN_RUN" -E "$init" -u 1000:1000 -C none -- sh -c 'hostname; cat /proc/1/comm; id -u; ls /bin/busybox; echo $$'
    kill -9 "$init"
    wait "$bg" || true
    rm -f "$pidfile"
    assert_success
    assert_line --index 0 "held-host"
    assert_line --index 1 "sleep"
    assert_line --index 2 "1000"
    assert_line --index 3 "/bin/busybox"
    refute_line --index 4 "1"
}

@test "create joins namespaces by path (shared pid and uts, as for sandbox_pidns)" {
    pidfile=$(mktemp)
    unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" -h shared-host -w "$pidfile" -- sleep 30 3>&- &
    bg=$!
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    init=$(cat "$pidfile")
    run ctr -n mount,ipc -j pid=/proc/$init/ns/pid -j uts=/proc/$init/ns/uts -h ignored -- sh -c 'hostname; cat /proc/1/comm; echo $$'
    kill -9 "$init"
    wait "$bg" || true
    rm -f "$pidfile"
    assert_success
    assert_line --index 0 "shared-host"
    assert_line --index 1 "sleep"
    refute_line --index 2 "1"
}

@test "exec: terminal, and a missing command is an error" {
    pidfile=$(mktemp)
    unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" -w "$pidfile" -- sleep 30 3>&- &
    bg=$!
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    init=$(cat "$pidfile")
    run "$SPAWN_RUN" -E "$init" -t -- tty </dev/null
    run2_status=0
    out2=$("$SPAWN_RUN" -E "$init" -- nosuchcmd 2>&1) || run2_status=$?
    kill -9 "$init"
    wait "$bg" || true
    rm -f "$pidfile"
    assert_success
    assert_output --regexp '^/dev/pts/[0-9]+.?$'
    assert_equal "$run2_status" 125
    assert_equal "$out2" 'spawn-run: exec: "nosuchcmd": executable file not found in $PATH [5]'
}

@test "cgroup v1: memory and pids limits applied, cgroup removed afterwards" {
    [ -d /sys/fs/cgroup/memory ] || skip "host has no cgroup v1 memory hierarchy"
    cg=spawn-bats-$$
    run ctr -G "/$cg/c1" -L 104857600 -p 50 -m /sys/fs/cgroup:cgroup:cgroup:ro,nosuid -- sh -c "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; grep -c $cg/c1 /proc/self/cgroup"
    assert_success
    assert_line --index 0 "104857600"
    assert_line --index 1 "50"
    [ "${lines[2]}" -ge 2 ]
    [ ! -d "/sys/fs/cgroup/memory/$cg/c1" ]
    rmdir /sys/fs/cgroup/*/"$cg" 2>/dev/null || true
}

@test "cgroup v1: OOM kill is reported, stats read" {
    [ -d /sys/fs/cgroup/memory ] || skip "host has no cgroup v1 memory hierarchy"
    cg=spawn-bats-oom-$$
    run ctr -G "/$cg" -L 16777216 -p 20 -S -- sh -c 'tail /dev/zero'
    rmdir /sys/fs/cgroup/*/"$cg" 2>/dev/null || true
    assert_equal "$status" 137
    assert_output --regexp 'oom=1 memory.limit=16777216 memory.max_usage=[1-9][0-9]* pids.limit=20 cpu.total=[1-9]'
    run ctr -G "/$cg" -L 16777216 -S -- true
    rmdir /sys/fs/cgroup/*/"$cg" 2>/dev/null || true
    assert_success
    assert_output --partial "oom=0 "
}

@test "cgroup: kill every process (freeze, kill, thaw)" {
    [ -d /sys/fs/cgroup/freezer ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || skip "no freezer"
    cg=spawn-bats-kill-$$
    run ctr -G "/$cg" -K 9 -- sh -c 'sleep 100 & sleep 100 & wait'
    rmdir /sys/fs/cgroup/*/"$cg" 2>/dev/null || true
    assert_equal "$status" 137
    assert_output --partial "signalled 3 processes"
}

@test "cgroup v2 (the host's controller-less unified tree): enter, kill all, remove" {
    [ -f /sys/fs/cgroup/unified/cgroup.controllers ] || skip "no cgroup2 hierarchy at /sys/fs/cgroup/unified"
    cg=spawn-bats-v2-$$
    run ctr -Z /sys/fs/cgroup/unified -G "/$cg/c1" -K 9 -- sh -c "grep '^0::' /proc/self/cgroup; sleep 100 & sleep 100 & wait"
    rmdir /sys/fs/cgroup/unified/"$cg" 2>/dev/null || true
    assert_equal "$status" 137
    assert_line "0::/$cg/c1"
    assert_output --partial "signalled 3 processes"
    [ ! -d "/sys/fs/cgroup/unified/$cg/c1" ]
}

@test "cgroup v1 and v2: a signal other than SIGKILL goes through freeze, kill, thaw" {
    for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        [ -d "$root/freezer" ] || [ -f "$root/cgroup.controllers" ] || continue
        cg=spawn-bats-term-$$
        # The shell is its pid namespace's init and ignores SIGTERM: it must survive, thawed.
        run timeout 20 unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" -Z "$root" -G "/$cg" -K 15 -- sh -c 'sleep 100 & sleep 100 & wait; echo survived'
        rmdir "$root"/*/"$cg" "$root/$cg" 2>/dev/null || true
        assert_success
        assert_output --partial "signalled 3 processes"
        assert_line "survived"
    done
}

@test "exec into a container with its own user namespace" {
    pidfile=$(mktemp)
    unshare -m --propagation private "$SPAWN_RUN" -r "$ROOTFS" -n pid,mount,uts,ipc,user,network -x 0:100000:65536 -y 0:100000:65536 -w "$pidfile" -- sleep 30 3>&- &
    bg=$!
    for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    init=$(cat "$pidfile")
    run "$SPAWN_RUN" -E "$init" -- sh -c 'cat /proc/self/uid_map; id -u; cat /proc/1/comm'
    kill -9 "$init"
    wait "$bg" || true
    rm -f "$pidfile"
    assert_success
    assert_line --index 0 --regexp '^ +0 +100000 +65536$'
    assert_line --index 1 "0"
    assert_line --index 2 "sleep"
}

@test "a caller with its stdio closed still gives the process exactly fds 0-2" {
    run bash -c "unshare -m '$SPAWN_RUN' -r '$ROOTFS' -- sh -c 'cat; ls /proc/self/fd | wc -l' <&-"
    assert_success
    # 0, 1, 2 and the directory fd of ls itself
    assert_output "4"
}

@test "no pivot_root possible (initrd guest): the rootfs is moved over / and chrooted" {
    static=$KATA_BUILD/tests-bin/spawn-run
    [ -x "$static" ] || skip "static spawn-run not built"
    d=$(mktemp -d)
    mkdir -p "$d/proc" "$d/bin" "$d/run" "$d/mnt"
    cp "$static" "$d/bin/spawn-run"
    # A chroot into a directory that is not a mount point makes pivot_root fail with EINVAL,
    # as the initial ramfs does. The rootfs sits on another mount (/run), like the agent's
    # bundles; /mnt stands for the rest of the guest's mounts.
    run unshare -m --propagation private sh -c "mount -t proc proc '$d/proc' && mount -t tmpfs run '$d/run' && mount -t tmpfs mnt '$d/mnt' && mkdir '$d/run/ctr' && mount --bind '$ROOTFS' '$d/run/ctr' && chroot '$d' /bin/spawn-run -r /run/ctr -R -h moved -- sh -c 'hostname; ls /bin/busybox; wc -l </proc/self/mountinfo; touch /x'"
    rm -rf "$d"
    assert_failure
    assert_line --index 0 "moved"
    assert_line --index 1 "/bin/busybox"
    # only the container's mounts remain: root, proc, dev, pts, shm, mqueue, sys
    assert_line --index 2 "7"
    assert_output --partial "Read-only file system"
}
