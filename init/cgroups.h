/* The cgroup hierarchy the agent puts containers in: cgroup2 by default, or the v1
 * per-controller hierarchies when the command line asks for them (Kata's runtime may pass
 * systemd.unified_cgroup_hierarchy=0). */
#pragma once
#include "error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Controllers marked enabled in a /proc/cgroups text (NULL-terminated, never NULL). */
char **cgroup_v1_controllers(const char *proc_cgroups);

int cgroup_v2_mount(struct kerr **err);
/* Lets child cgroups use one controller (writes "+name" to cgroup.subtree_control). */
int cgroup_v2_enable(const char *controller, struct kerr **err);

/* v1: a tmpfs at the root, one mount per controller, then the tmpfs made read-only so
 * nothing creates stray directories beside the hierarchies. */
int cgroup_v1_mount_root(struct kerr **err);
int cgroup_v1_mount_controller(const char *controller, struct kerr **err);
int cgroup_v1_seal_root(struct kerr **err);
