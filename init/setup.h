/* Bringing up the guest as PID 1, before the agent starts. */
#pragma once
#include <stdbool.h>

#include "error.h"

/* Leaves the initial ramfs for a bind mount of it (root.h), mounts /proc, /sys and /dev and
 * puts the console on stdio: what is needed to read the command line and to be heard. An
 * error here is fatal, except in leaving the ramfs (a warning: the agent can do it too). */
int setup_base(struct kerr **err);

/* Everything else: the remaining mounts, cgroups, /dev/ptmx, loopback, host name. Only a
 * required mount can fail it; the rest is reported as warnings, since the agent may still
 * run containers without (say) a cgroup controller and say so itself. */
int setup_system(bool cgroup_v1, struct kerr **err);
