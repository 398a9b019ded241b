/* Bringing up the guest as PID 1, before the agent starts. */
#pragma once
#include <stdbool.h>

#include "error.h"

/* Leaves the initial ramfs for a bind mount of it (root.h), mounts /proc, /sys and /dev and
 * puts the console on stdio: what is needed to read the command line and to be heard. An
 * error here is fatal, except in leaving the ramfs (a warning: the agent can do it too). */
int setup_base(struct kerr **err);

/* The mounts the agent may use as it starts (/run). Only a required mount can fail it. */
int setup_system(struct kerr **err);

/* What containers need: /dev/pts, /dev/shm, /tmp, cgroups, /dev/ptmx, loopback, host name.
 * Never fails: problems are
 * warnings, since the agent may still run containers without (say) a cgroup controller and
 * say so itself. Safe to run while the agent already serves (see common/initsync.h). */
void setup_for_containers(bool cgroup_v1);
