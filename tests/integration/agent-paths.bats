#!/usr/bin/env bats
# Hostile paths and ids: crafted rootfses whose symlinks and ".." chains try to send a mount, a
# device node, the cwd or a masked/read-only path out of the container root, storages whose
# mount points go through a symlink or "..", ids with "/" and "..". Each is refused with a
# clear error or confined inside the root, and nothing outside is touched: canaries on the
# host are unchanged, no file appears outside the rootfs, and the host's and the agent's mount
# tables gain nothing. crun, given the same crafted rootfs, confines the same way.
load agent_helper
load agent_spec

setup_file() { agent_setup_file; }
teardown_file() {
    rm -rf /tmp/kata-paths-canary /etc/kata-paths-escape* /kata-paths-escape* 2>/dev/null
    agent_teardown_file
}
setup() {
    agent_setup
    command -v protoc >/dev/null || skip "protoc missing"
    RF=$WORK/rf-$BATS_TEST_NUMBER
    rm -rf "$RF"
    cp -a "$ROOTFS" "$RF"
    export SPEC_ROOT=$RF
    mkdir -p /tmp/kata-paths-canary
    echo canary >/tmp/kata-paths-canary/file
    HOST_MOUNTS=$(grep -c -e kata-paths -e "$RF" -e ' / / ' /proc/self/mountinfo)
    AGENT_MOUNTS=$(grep -vc ' /run/kata-containers/' "/proc/$(agent_pid)/mountinfo")
}
teardown() {
    unset SPEC_ROOT SPEC_CWD OCI_EXTRA LINUX_EXTRA
    agent_teardown
}

# Nothing escaped: no file named kata-paths-escape* outside the rootfs, the canary intact, and
# no mount added to the host's table (none naming the crafted rootfs or a kata-paths file, no
# second one on /) or, outside container bundles, to the agent's.
assert_nothing_outside() {
    run sh -c 'ls -d /kata-paths-escape* /etc/kata-paths-escape* /tmp/kata-paths-escape* \
        /tmp/kata-paths-canary/kata-paths-escape* 2>/dev/null'
    assert_output ''
    run cat /tmp/kata-paths-canary/file
    assert_output canary
    # (other work on this host mounts too: only what could be ours is counted there)
    run grep -c -e kata-paths -e "$RF" -e ' / / ' /proc/self/mountinfo
    assert_output "$HOST_MOUNTS"
    run grep -vc ' /run/kata-containers/' "/proc/$(agent_pid)/mountinfo"
    [ "$output" = "$AGENT_MOUNTS" ] || cat "/proc/$(agent_pid)/mountinfo" >&3
    assert_output "$AGENT_MOUNTS"
}

# run_in ID ARGS...: create, start, collect stdout, remove.
run_in() {
    local id=$1
    shift
    spec_create "$id" "$@" >/dev/null || return 1
    actl start-container --id "$id" || return 1
    actl read-stdout --id "$id" --all
    actl wait --id "$id" >/dev/null
    actl remove --id "$id"
}

bind_text() { # bind_text SOURCE DEST
    printf 'Mounts { destination: "%s" source: "%s" type: "bind" options: "rbind" }' "$2" "$1"
}

@test "a mount destination through a symlink to / lands inside the root" {
    ln -s / "$RF/evil"
    mkdir -p "$WORK/src" && echo from-host >"$WORK/src/marker"
    OCI_EXTRA=$(bind_text "$WORK/src" /evil/kata-paths-escape) \
        run run_in sym-root /bin/cat /kata-paths-escape/marker
    assert_success
    assert_output from-host
    # the mount point was created in the rootfs, not at the host's /
    [ -d "$RF/kata-paths-escape" ]
    assert_nothing_outside
}

@test "a mount destination through a symlink to /etc stays inside; one to a missing directory is refused" {
    ln -s /etc "$RF/hostetc"
    ln -s /tmp/kata-paths-canary "$RF/canary"
    mkdir -p "$WORK/src"
    OCI_EXTRA=$(bind_text "$WORK/src" /hostetc/kata-paths-escape) run run_in sym-etc /bin/true
    assert_success
    [ -d "$RF/etc/kata-paths-escape" ]
    # the host has /tmp/kata-paths-canary, the rootfs not: refused, naming the symlink
    OCI_EXTRA=$(bind_text "$WORK/src" /canary/kata-paths-escape) run run_in sym-tmp /bin/true
    assert_failure
    assert_output 'NOT_FOUND: open canary in the container root: No such file or directory'
    [ ! -e "$RF/tmp/kata-paths-canary" ]
    assert_nothing_outside
}

@test "'..' chains in destinations and in symlinks stop at the root" {
    mkdir -p "$WORK/src"
    ln -s ../../../../../../../.. "$RF/up"
    OCI_EXTRA="$(bind_text "$WORK/src" /../../../../../../kata-paths-escape-a)
        $(bind_text "$WORK/src" /up/tmp/kata-paths-escape-b)
        $(bind_text "$WORK/src" /bin/../../../etc/kata-paths-escape-c)" \
        run run_in dotdot /bin/true
    assert_success
    [ -d "$RF/kata-paths-escape-a" ] && [ -d "$RF/tmp/kata-paths-escape-b" ] &&
        [ -d "$RF/etc/kata-paths-escape-c" ]
    assert_nothing_outside
}

@test "a dangling symlink as the destination gets its target created inside the root" {
    # images ship /etc/resolv.conf -> /run/...: runc and the agent create the target, inside
    ln -s /tmp/kata-paths-canary/kata-paths-escape-file "$RF/dangling"
    echo x >"$WORK/srcfile"
    OCI_EXTRA=$(bind_text "$WORK/srcfile" /dangling) run run_in dangling /bin/cat /dangling
    assert_success
    assert_output x
    [ -f "$RF/tmp/kata-paths-canary/kata-paths-escape-file" ]
    assert_nothing_outside
}

@test "a symlinked cwd resolves inside the container" {
    echo inside >"$RF/etc/kata-marker"
    ln -s ../../../../../etc "$RF/wd"
    run run_in cwd-up /bin/sh -c 'cd /wd && cat kata-marker && readlink /proc/self/cwd'
    assert_success
    assert_output $'inside\n/etc'
    # the spec's cwd through an absolute symlink naming the host's canary: the container's
    mkdir -p "$RF/tmp/kata-paths-canary"
    echo inside >"$RF/tmp/kata-paths-canary/file"
    ln -s /tmp/kata-paths-canary "$RF/wd2"
    SPEC_CWD=/wd2 run run_in cwd-abs /bin/cat file
    assert_success
    assert_output inside
    # and one that leads nowhere inside is refused, naming it
    ln -s /tmp/kata-paths-canary/nothere "$RF/wd3"
    SPEC_CWD=/wd3 run spec_create cwd-none /bin/true
    assert_failure
    assert_output --partial 'chdir to cwd "/wd3"'
    assert_nothing_outside
}

@test "device nodes whose path goes through symlinks are made inside the root" {
    ln -s / "$RF/evil"
    ln -s /etc/kata-paths-escape-passwd "$RF/etc/kata-dev-link"
    local before
    before=$(stat -c '%a %u' /etc/passwd)
    LINUX_EXTRA='Devices { Path: "/evil/kata-paths-escape-dev" Type: "c" Major: 1 Minor: 3 FileMode: 438 }
        Devices { Path: "/etc/kata-dev-link" Type: "c" Major: 1 Minor: 5 FileMode: 384 }
        Devices { Path: "/../../kata-paths-escape-dev2" Type: "c" Major: 1 Minor: 3 }' \
        run run_in dev-sym /bin/sh -c 'ls -l /kata-paths-escape-dev /etc/kata-dev-link /kata-paths-escape-dev2 | cut -c1'
    assert_success
    assert_output $'c\nc\nc'
    # the symlink itself was replaced; what it pointed at was not created nor chmod'ed
    [ -c "$RF/etc/kata-dev-link" ]
    run stat -c '%a %u' /etc/passwd
    assert_output "$before"
    assert_nothing_outside
}

@test "masked and read-only paths through symlinks act inside the container only" {
    echo secret >"$RF/etc/kata-secret"
    ln -s /etc/kata-secret "$RF/mask-link"
    ln -s ../../../../tmp "$RF/ro-link"
    LINUX_EXTRA='MaskedPaths: "/mask-link" ReadonlyPaths: "/ro-link"' run run_in masked \
        /bin/sh -c 'cat /etc/kata-secret; echo "[$?]"; touch /tmp/x 2>/dev/null; echo "[$?]"'
    assert_success
    # /etc/kata-secret of the container is masked (empty), its /tmp read-only
    assert_output $'[0]\n[1]'
    run cat "$RF/etc/kata-secret"
    assert_output secret
    touch /tmp/kata-paths-canary/writable && rm /tmp/kata-paths-canary/writable
    assert_nothing_outside
}

@test "a symlink swapped during setup (by a prestart hook) is still resolved inside the root" {
    # the masked path is applied after the prestart hooks: by then it points at the host's
    # canary directory, and the mask still lands on the container's own path
    mkdir -p "$RF/tmp/kata-paths-canary"
    echo inside >"$RF/tmp/kata-paths-canary/file"
    ln -s /etc/hostname "$RF/swap"
    printf '#!/bin/sh\nln -sfn /tmp/kata-paths-canary %s/swap\n' "$RF" >"$WORK/swap-hook"
    chmod +x "$WORK/swap-hook"
    OCI_EXTRA="Hooks { $(hook_text prestart "$WORK/swap-hook") }" \
        LINUX_EXTRA='MaskedPaths: "/swap"' run run_in swapped \
        /bin/sh -c 'ls /tmp/kata-paths-canary | wc -l; readlink /swap'
    assert_success
    assert_output $'0\n/tmp/kata-paths-canary'
    run cat /tmp/kata-paths-canary/file
    assert_output canary
    assert_nothing_outside
}

@test "crun confines the same crafted destinations inside the root" {
    command -v crun >/dev/null && command -v jq >/dev/null || skip "crun or jq missing"
    ln -s / "$RF/evil"
    ln -s /etc "$RF/hostetc"
    mkdir -p "$WORK/src" "$WORK/crun"
    (cd "$WORK/crun" && crun spec)
    jq --arg root "$RF" --arg src "$WORK/src" '.process.terminal=false | del(.linux.resources) |
        .root.path=$root | .process.args=["/bin/true"] |
        .mounts += [{destination: "/evil/kata-paths-escape-crun", source: $src, type: "bind",
                     options: ["rbind"]},
                    {destination: "/hostetc/kata-paths-escape-crun", source: $src, type: "bind",
                     options: ["rbind"]}]' "$WORK/crun/config.json" >"$WORK/crun/c2"
    mv "$WORK/crun/c2" "$WORK/crun/config.json"
    unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null
        exec timeout 20 crun --cgroup-manager=disabled run -b "$1" paths-$$' sh "$WORK/crun"
    [ -d "$RF/kata-paths-escape-crun" ] && [ -d "$RF/etc/kata-paths-escape-crun" ]
    # the agent's result on the same rootfs
    OCI_EXTRA="$(bind_text "$WORK/src" /evil/kata-paths-escape-agent)
        $(bind_text "$WORK/src" /hostetc/kata-paths-escape-agent)" run run_in crun-cmp /bin/true
    assert_success
    [ -d "$RF/kata-paths-escape-agent" ] && [ -d "$RF/etc/kata-paths-escape-agent" ]
    assert_nothing_outside
}

@test "storage mount points with '..' or through a symlink are refused, naming them" {
    mkdir -p "$WORK/share"
    ln -s /etc "$WORK/share/evil"
    run actl create-container --id st1 --rootfs "$ROOTFS" \
        --storage "ephemeral:tmp:tmpfs:$WORK/share/evil/kata-paths-escape-st" -- /bin/true
    assert_failure
    assert_output --partial INVALID_ARGUMENT
    assert_output --partial "storage mount point \"$WORK/share/evil/kata-paths-escape-st\": \"evil\" is a symlink or not a directory"
    run actl create-container --id st2 --rootfs "$ROOTFS" \
        --storage "ephemeral:tmp:tmpfs:$WORK/share/../../tmp/kata-paths-escape-st" -- /bin/true
    assert_failure
    assert_output --partial 'has a ".."'
    run actl create-container --id st3 --rootfs "$ROOTFS" \
        --storage "ephemeral:tmp:tmpfs:$WORK/share/ok" -- /bin/payload pause
    assert_success
    actl remove --id st3
    assert_nothing_outside
}

@test "hostile container and exec ids are refused naming the id; nothing is created" {
    # container ids: upstream's verify_id, answered INTERNAL as upstream's CreateContainer does
    local id
    for id in ../x a/b .. x/../../y "$(printf 'a%.0s' {1..256})"; do
        run actl create-container --id "$id" --rootfs "$ROOTFS" -- /bin/true
        assert_failure
        assert_output "INTERNAL: invalid container ID $id"
    done
    run actl create-container --id ok1 --exec-id ../e --rootfs "$ROOTFS" -- /bin/true
    assert_output 'INVALID_ARGUMENT: invalid exec ID ../e'
    actl create-container --id ok2 --rootfs "$ROOTFS" -- /bin/payload pause
    actl start-container --id ok2
    for id in ../e a/b .. -x .e; do
        run actl exec --id ok2 --exec-id "$id" -- /bin/true
        assert_failure
        assert_output "INVALID_ARGUMENT: invalid exec ID $id"
    done
    # containerd's ids, one character among them, are fine
    actl exec --id ok2 --exec-id e -- /bin/true
    actl exec --id ok2 --exec-id e.x_1-2 -- /bin/true
    actl remove --id ok2
    run nsenter -t "$(agent_pid)" -m ls /run/kata-containers
    refute_output --partial x
    [ ! -e /tmp/e ] && [ ! -e /run/e ]
    assert_nothing_outside
}
