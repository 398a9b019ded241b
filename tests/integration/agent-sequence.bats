#!/usr/bin/env bats
# The runtime's RPC sequence (kata-runtime-facts.md §3) replayed call by call by
# build/go/bin/seqdriver (containerd's Go ttrpc, generated protos) against the real agent on
# the host: in its own mount and network namespaces, with a veth whose MAC the runtime's
# UpdateInterface names. The shared directory is laid out as the runtime lays it out
# (<share>/<cid>/rootfs, <cid>-<rand>-hostname|resolv.conf|termination-log). virtio-fs cannot
# exist on the host: the host directory is bind-mounted where the kataShared storage goes
# before the sequence starts, and the agent, sent the runtime's exact virtio-fs storage, finds
# it already mounted and uses it, as upstream's agent does with a mounted kataShared.
load agent_helper

MAC=02:00:00:00:5e:01

setup_file() {
    export SEQDRIVER=${KATA_BUILD:-$BATS_TEST_DIRNAME/../../build}/go/bin/seqdriver
    if agent_netns_setup "kata-seq-net-$$"; then
        ip -n "$NETNS" link add v0 type veth peer name v1
        ip -n "$NETNS" link set v0 address "$MAC"
        ip -n "$NETNS" link set v1 up
    fi
    agent_setup_file
}

teardown_file() {
    agent_teardown_file
    agent_netns_teardown
    for d in /sys/fs/cgroup/*/kata-seq/pod-seq /sys/fs/cgroup/*/kata-seq /sys/fs/cgroup/kata-seq/pod-seq /sys/fs/cgroup/kata-seq; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
    done
}

setup() {
    agent_setup
    [ -x "$NS_WRAP_DIR/agent" ] || skip "no network namespace for the agent"
    [ -x "$SEQDRIVER" ] || skip "seqdriver not built"
}
teardown() { agent_teardown; }

# The share as the runtime's host side fills it before CreateContainer.
layout_share() {
    local share=$1 cid prefix
    mkdir -p "$share"
    while read -r cid prefix; do
        mkdir -p "$share/$cid"
        cp -a "$ROOTFS" "$share/$cid/rootfs"
        printf 'seq-pod\n' >"$share/$prefix-hostname"
        printf 'nameserver 10.88.0.1\nsearch default.svc.cluster.local svc.cluster.local\n' >"$share/$prefix-resolv.conf"
        : >"$share/$prefix-termination-log"
        chmod 666 "$share/$prefix-termination-log"
    done < <("$SEQDRIVER" -ids)
}

# This host gives root no CAP_SYS_RESOURCE, which CRI's -998 for the pause needs.
SEQ_EXTRA="-pause-oom-score-adj 0 ${SEQ_TOLERATE:+-tolerate-unimplemented $SEQ_TOLERATE}"

@test "the runtime's sequence, call by call, ends with DestroySandbox answered and the agent gone" {
    layout_share "$WORK/share"
    nsenter -t "$(agent_pid)" -m sh -c "mkdir -p /run/kata-containers/shared/containers &&
        mount --bind '$WORK/share' /run/kata-containers/shared/containers"
    AGENT_MAY_EXIT=1
    run timeout -k 5 120 "$SEQDRIVER" -addr "unix:$AGENT_SOCK" -share "$WORK/share" -mac "$MAC" \
        -inspect-pid "$(agent_pid)" -cgroup-root /sys/fs/cgroup $SEQ_EXTRA
    echo "$output"
    assert_success
    refute_output --partial 'not ok'
    assert_output --partial 'DestroySandbox with no container left is answered'
    # the agent exits 0 once its answer is out
    run agent_wait_exit
    assert_output 0
    # the guest side of the sequence: what the agent logged
    run grep -c '"msg":"sandbox destroyed"' "$AGENT_LOG"
    assert_output 1
    rm -f "$AGENT_SOCK"
}
