#!/bin/sh
# Test agent for kata.init_defer_setup (common/initsync.h), playing the agent's side with a
# shell: reports what is set up while init waits for it, then, with "handshake", writes READY
# and waits for init to close the pair, or, with "silent", says nothing and waits past init's
# timeout; then reports what is set up. One "CHECK key=value" line each; exits 0.
state() {
    echo "CHECK $1_cgroup=$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)"
    echo "CHECK $1_lo=$(cat /sys/class/net/lo/flags)"
    echo "CHECK $1_hostname=$(hostname)"
    echo "CHECK $1_ptmx=$(readlink /dev/ptmx)"
    echo "CHECK $1_run=$(awk '$2 == "/run" { print $3 }' /proc/mounts)"
    echo "CHECK $1_pts=$(awk '$2 == "/dev/pts" { print $3 }' /proc/mounts)"
}
fd=$KATA_INIT_SYNC_FD
echo "CHECK fd=$fd"
state before
case $1 in
handshake)
    printf 'READY\n' >&"$fd"
    # A blocking read to the end: the descriptor must not be non-blocking for the agent.
    if cat <&"$fd" >/dev/null; then echo "CHECK eof=yes"; else echo "CHECK eof=error"; fi
    ;;
silent)
    sleep 4
    ;;
esac
state after
exit 0
