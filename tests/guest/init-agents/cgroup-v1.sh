#!/bin/sh
# Test agent: reports the cgroup v1 layout (systemd.unified_cgroup_hierarchy=0).
mnt() { awk -v t="$1" '$2 == t { print $3 " " $4; exit }' /proc/mounts; }
echo "CHECK root=$(mnt /sys/fs/cgroup)"
for c in cpu cpuacct cpuset memory pids devices freezer blkio; do
    echo "CHECK v1_$c=$(mnt /sys/fs/cgroup/$c | cut -d' ' -f1)"
done
echo "CHECK cgroup2=$(awk '$3 == "cgroup2"' /proc/mounts | wc -l)"
if mkdir /sys/fs/cgroup/stray 2>/dev/null; then echo "CHECK root_writable=yes"; else echo "CHECK root_writable=no"; fi
exit 0
