#!/bin/sh
# Test agent: reports what kata-init set up before starting it, one "CHECK key=value" line
# each, then exits 0 (init then powers off). init.bats compares the values.
mnt() { awk -v t="$1" '$2 == t { print $3 " " $4; exit }' /proc/mounts; }
echo "CHECK proc=$(mnt /proc)"
echo "CHECK sys=$(mnt /sys)"
echo "CHECK dev=$(mnt /dev)"
echo "CHECK pts=$(mnt /dev/pts)"
echo "CHECK shm=$(mnt /dev/shm)"
echo "CHECK run=$(mnt /run)"
echo "CHECK tmp=$(mnt /tmp)"
echo "CHECK cgroup=$(mnt /sys/fs/cgroup)"
echo "CHECK controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
echo "CHECK subtree=$(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "CHECK ptmx=$(readlink /dev/ptmx)"
echo "CHECK lo=$(cat /sys/class/net/lo/flags)"
echo "CHECK hostname=$(hostname)"
echo "CHECK path=$PATH"
echo "CHECK stdout=$(readlink /proc/$$/fd/1)"
echo "CHECK ppid=$PPID"
echo "CHECK sigblk=$(awk '$1 == "SigBlk:" { print $2 }' /proc/self/status)"
echo "CHECK args=$#:$*"
# "/" is a bind mount of the initramfs (its parent is the ramfs), so pivot_root works.
echo "CHECK root=$(awk '$5 == "/" { r = ($1 == $2 ? "self" : "child") " " $(NF - 2) } END { print r }' /proc/self/mountinfo)"
pivot=$(unshare -m sh -c 'mkdir -p /tmp/newroot && mount --bind / /tmp/newroot &&
    mkdir -p /tmp/newroot/tmp/oldroot && cd /tmp/newroot && pivot_root . tmp/oldroot && echo ok' 2>&1)
echo "CHECK pivot=$pivot"
exit 0
