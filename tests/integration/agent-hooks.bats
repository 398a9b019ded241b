#!/usr/bin/env bats
# OCI hooks run by the agent (prestart, createRuntime, createContainer, startContainer,
# poststart, poststop) and CreateSandbox's guest_hook_path hooks, with crun as the oracle for
# the order, the failure outcomes and the state document's keys: the same hooks run once under
# crun on the host and once in a container of our agent. Each hook is hook-record.sh, which
# records its stdin, environment and arguments.
load agent_helper
load agent_spec

setup_file() {
    agent_setup_file
    [ -d "$ROOTFS" ] || return 0
    cp "$KATA_SRC/tests/integration/hook-record.sh" "$ROOTFS/hook.sh"
    mkdir -p "$ROOTFS/rec"
    command -v crun >/dev/null && command -v jq >/dev/null && command -v protoc >/dev/null ||
        return 0
    mkdir -p "$WORK/crun"
    (cd "$WORK/crun" && crun spec)
    jq --arg root "$ROOTFS" '.process.terminal=false | del(.linux.resources) |
        .root.path=$root | .process.args=["/bin/payload","pause"] |
        .annotations={"org.test.a":"1","org.test.b":"x\"y"}' \
        "$WORK/crun/config.json" >"$WORK/crun/base.json"
}
teardown_file() { agent_teardown_file; }
setup() {
    agent_setup
    [ -s "$WORK/crun/base.json" ] || skip "crun, jq or protoc missing"
    REC=$WORK/rec-$BATS_TEST_NUMBER CREC=$WORK/crec-$BATS_TEST_NUMBER
    rm -rf "$REC" "$CREC"
    mkdir -p "$REC" "$CREC"
}
teardown() { agent_teardown; }

KINDS="prestart createRuntime createContainer startContainer poststart poststop"

# One hook entry per word KIND[:RC[:SLEEP]] (a kind may repeat: KIND.N names the record),
# recording into DIR; startContainer hooks run in the container, where DIR is bound at /rec.
# hooks_text DIR WORDS... -> protobuf text for OCI_EXTRA; hooks_json DIR WORDS... -> JSON.
hook_fields() {
    local dir=$1 word=$2 n=$3 kind rc sleep path d
    IFS=: read -r kind rc sleep <<<"$word"
    path=$ROOTFS/hook.sh d=$dir
    [ "$kind" != startContainer ] || { path=/hook.sh d=/rec; }
    echo "$kind" "$path" "PATH=/bin:/usr/bin DIR=$d KIND=$kind.$n RC=${rc:-0} SLEEP=${sleep:-}"
}
hooks_text() {
    local dir=$1 w kind path env n=0 out="Hooks {"
    shift
    for w in "$@"; do
        n=$((n + 1))
        read -r kind path env <<<"$(hook_fields "$dir" "$w" $n)"
        out="$out $(HOOK_ENV=$env hook_text "$kind" \
            "$path" hook "$kind.$n")"
    done
    printf '%s }\n  Mounts { destination: "/rec" source: "%s" type: "bind" options: "rbind" }' \
        "$out" "$dir"
}
hooks_json() {
    local dir=$1 w kind path env n=0 out="{}"
    shift
    for w in "$@"; do
        n=$((n + 1))
        read -r kind path env <<<"$(hook_fields "$dir" "$w" $n)"
        # shellcheck disable=SC2086
        out=$(jq --arg k "$kind" --arg p "$path" --arg a "$kind.$n" '.[$k] += [{path: $p,
            args: ["hook", $a], env: $ARGS.positional}]' --args $env <<<"$out")
    done
    echo "$out"
}

# crun_lifecycle WORDS...: create, start, kill and delete under crun; prints the outcome of
# create and start (ok/fail) and leaves the records in $CREC.
crun_lifecycle() {
    jq --argjson h "$(hooks_json "$CREC" "$@")" --arg rec "$CREC" '.hooks=$h |
        .mounts += [{destination: "/rec", source: $rec, type: "bind", options: ["rbind"]}]' \
        "$WORK/crun/base.json" >"$WORK/crun/config.json"
    unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null
        c="crun --cgroup-manager=disabled"; id=hk-$$
        if timeout 30 $c create -b "$1" $id >/dev/null 2>&1; then echo create=ok
        else echo create=fail; fi
        if timeout 30 $c start $id >/dev/null 2>&1; then echo start=ok; else echo start=fail; fi
        $c kill $id KILL >/dev/null 2>&1; sleep 0.2
        timeout 30 $c delete -f $id >/dev/null 2>&1; true' sh "$WORK/crun"
}

# agent_lifecycle ID WORDS...: the same through the agent.
agent_lifecycle() {
    local id=$1
    shift
    if OCI_EXTRA="$(hooks_text "$REC" "$@") Annotations { key: \"org.test.a\" value: \"1\" }
        Annotations { key: \"org.test.b\" value: \"x\\\"y\" }" spec_create "$id" >"$REC/create.out" 2>&1
    then echo create=ok; else echo create=fail; fi
    if actl start-container --id "$id" >"$REC/start.out" 2>&1; then echo start=ok
    else echo start=fail; fi
    actl signal --id "$id" --signal 9 >/dev/null 2>&1 || true
    actl remove --id "$id" --timeout 10 >/dev/null 2>&1 || true
}

@test "every kind runs once, in the spec's order, as under crun" {
    run crun_lifecycle $KINDS
    assert_output $'create=ok\nstart=ok'
    run agent_lifecycle order $KINDS
    assert_output $'create=ok\nstart=ok'
    # crun's start returns once the process is released: its startContainer and poststart
    # hooks race, so crun's records are compared as a set, ours in the spec's order
    run sort "$REC/order"
    assert_output "$(sort "$CREC/order")"
    run cat "$REC/order"
    assert_output $'prestart.1 prestart.1\ncreateRuntime.2 createRuntime.2
createContainer.3 createContainer.3\nstartContainer.4 startContainer.4
poststart.5 poststart.5\npoststop.6 poststop.6'
}

@test "the state on stdin has crun's keys, the container's id, bundle, annotations and pid" {
    crun_lifecycle $KINDS >/dev/null
    agent_lifecycle state $KINDS >/dev/null
    local n=0 kind want
    for kind in $KINDS; do
        n=$((n + 1))
        # crun adds "root" (not in the OCI state); upstream's and the spec's keys otherwise
        run jq -c 'del(.root) | keys' "$CREC/$kind.$n.json"
        assert_output '["annotations","bundle","id","ociVersion","pid","status"]'
        run jq -c 'keys' "$REC/$kind.$n.json"
        assert_output '["annotations","bundle","id","ociVersion","pid","status"]'
        run jq -r '[.id, .bundle, .ociVersion, .annotations["org.test.b"]] | join(" ")' \
            "$REC/$kind.$n.json"
        assert_output 'state /run/kata-containers/state 1.0.2 x"y'
        # the statuses are crun's, but startContainer's: crun says "starting" (not an OCI
        # status), upstream's agent "created"
        want=$(jq -r .status "$CREC/$kind.$n.json")
        [ "$want" != starting ] || want=created
        run jq -r .status "$REC/$kind.$n.json"
        assert_output "$want"
    done
    # one pid, the container init's, while it exists; 0 once stopped (as crun and upstream)
    local pid
    pid=$(jq .pid "$REC/prestart.1.json")
    [ "$pid" -gt 1 ]
    for kind in createRuntime.2 createContainer.3 startContainer.4 poststart.5; do
        run jq .pid "$REC/$kind.json"
        assert_output "$pid"
    done
    run jq .pid "$REC/poststop.6.json"
    assert_output 0
}

@test "args and env are the hook's own: nothing of the agent's environment leaks in" {
    agent_lifecycle env prestart startContainer poststop >/dev/null
    local f d
    for f in prestart.1 startContainer.2 poststop.3; do
        d=$REC
        [ "$f" != startContainer.2 ] || d=/rec
        # the shells add PWD (and busybox's SHLVL) themselves
        run grep -v -e ^PWD= -e ^SHLVL= "$REC/$f.env"
        assert_output "DIR=$d
KIND=$f
PATH=/bin:/usr/bin
RC=0
SLEEP="
    done
    run cat "$REC/order"
    assert_output $'prestart.1 prestart.1\nstartContainer.2 startContainer.2\npoststop.3 poststop.3'
}

@test "a failing hook of each kind has crun's outcome: create, start or nothing fails" {
    local kind
    for kind in prestart createRuntime createContainer startContainer poststart poststop; do
        rm -rf "${REC:?}"/* "${CREC:?}"/*
        # the failing hook, then one more of the same kind: it runs only when failures are
        # logged and not fatal
        local words
        words=$(for k in $KINDS; do
            if [ "$k" = "$kind" ]; then echo "$k:3 $k"; else echo "$k"; fi; done)
        # shellcheck disable=SC2086
        run crun_lifecycle $words
        local crun_out=$output
        # shellcheck disable=SC2086
        run agent_lifecycle "fail-$(tr A-Z a-z <<<"$kind")" $words
        echo "kind $kind: crun $crun_out" >&2
        if [ "$kind" = startContainer ]; then
            # crun's start returns before its container process runs these hooks, so it
            # reports success; the agent's StartContainer waits for them and fails, as the
            # OCI spec has it
            assert_equal "$crun_out" $'create=ok\nstart=ok'
            assert_output $'create=ok\nstart=fail'
        else
            assert_output "$crun_out"
        fi
        run sort "$REC/order"
        local ours=$output
        # crun runs no poststop hook after a failed create (the OCI spec's step 12 says it
        # should): the agent neither, so the records agree there too; after a failed
        # startContainer hook crun, whose start succeeded, runs poststart, the agent not
        run sh -c 'grep -v "$1" "$2" | sort' sh \
            "$([ "$kind" = startContainer ] && echo ^poststart || echo '^$')" "$CREC/order"
        assert_equal "$ours" "$output"
    done
}

@test "a failed create or start says which hook failed and why" {
    rm -rf "${REC:?}"/*
    run agent_lifecycle msg-cr prestart createRuntime:7
    assert_output $'create=fail\nstart=fail'
    run cat "$REC/create.out"
    assert_output --regexp "createRuntime hook $ROOTFS/hook.sh exited with status 7"
    run actl start-container --id msg-cr
    assert_output --partial 'Invalid container id'
    run agent_lifecycle msg-sc startContainer:5
    assert_output $'create=ok\nstart=fail'
    run cat "$REC/start.out"
    assert_output --partial 'startContainer hook /hook.sh exited with status 5'
    run grep -c /run/kata-containers/msg- "/proc/$(agent_pid)/mountinfo"
    assert_output 0
}

@test "a hook past its timeout is killed with what it started, and the create fails" {
    local t0 t1
    t0=$(date +%s)
    HOOK_TIMEOUT=1 run agent_lifecycle slow prestart:0:37
    t1=$(date +%s)
    assert_output $'create=fail\nstart=fail'
    [ $((t1 - t0)) -lt 8 ]
    run cat "$REC/create.out"
    assert_output --partial "prestart hook $ROOTFS/hook.sh timed out after 1 s"
    # the hook's sleep was in its process group: gone too
    run pgrep -f 'sleep 37'
    assert_failure
}

@test "a hook without a timeout gets upstream's 10 s; a slow poststart is killed, start succeeds" {
    local t0 t1
    t0=$(date +%s)
    run agent_lifecycle slowpost poststart:0:41 poststart
    t1=$(date +%s)
    assert_output $'create=ok\nstart=ok'
    [ $((t1 - t0)) -ge 10 ] && [ $((t1 - t0)) -lt 20 ]
    run cat "$REC/order"
    assert_output $'poststart.1 poststart.1\npoststart.2 poststart.2'
    run pgrep -f 'sleep 41'
    assert_failure
    grep -q 'poststart hook .* timed out after 10 s' "$AGENT_LOG"
}

@test "hooks that are not there or not absolute fail the create with their path" {
    rm -rf "${REC:?}"/*
    OCI_EXTRA="Hooks { $(hook_text createRuntime /no/such/hook) }" run spec_create nohook
    assert_failure
    assert_output --partial '/no/such/hook'
    OCI_EXTRA="Hooks { $(hook_text prestart relative/hook) }" run spec_create relhook
    assert_failure
    assert_output --partial "path 'relative/hook' is not absolute"
}

@test "guest_hook_path: prestart, poststart and poststop hooks of the sandbox run after the spec's" {
    local g=$WORK/guest-hooks kind hex
    for kind in prestart poststart poststop; do
        mkdir -p "$g/$kind"
        printf '#!/bin/sh\necho "guest $0 $*" >>%s/order\ncat >%s/guest-%s.json\n' \
            "$REC" "$REC" "$kind" >"$g/$kind/10-rec"
        chmod +x "$g/$kind/10-rec"
    done
    # neither a symlink nor a file without x bits is a hook
    ln -s "$g/prestart/10-rec" "$g/prestart/20-link"
    printf '#!/bin/sh\ntouch %s/noexec-ran\n' "$REC" >"$g/poststart/30-noexec"
    hex=$(protoc --encode=grpc.CreateSandboxRequest -I "$KATA_SRC/protocol/proto" \
        "$KATA_SRC/protocol/proto/agent.proto" <<<"sandbox_id: \"sb\" guest_hook_path: \"$g\"" |
        od -An -v -tx1 | tr -d ' \n')
    actl call grpc.AgentService CreateSandbox "$hex"
    run agent_lifecycle guest prestart poststop
    assert_output $'create=ok\nstart=ok'
    actl destroy-sandbox
    run cat "$REC/order"
    assert_output "prestart.1 prestart.1
guest $g/prestart/10-rec prestart
guest $g/poststart/10-rec poststart
poststop.2 poststop.2
guest $g/poststop/10-rec poststop"
    [ ! -e "$REC/noexec-ran" ]
    run jq -r '.id + " " + .status' "$REC/guest-poststart.json"
    assert_output 'guest running'
}
