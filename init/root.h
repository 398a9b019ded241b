/* Leaving the initial ramfs for a bind mount of itself, so that containers can pivot_root. */
#pragma once
#include <stdbool.h>

#include "error.h"

/* pivot_root(2) refuses to move away from the initial ramfs ("rootfs"), which has no parent
 * mount. When "/" is that ramfs, PID 1 bind-mounts it, moves the bind mount onto "/" and
 * chroots into it (the switch_root recipe), before anything else is mounted: then a single
 * mount is copied, and every process after it, the agent and its containers included, runs
 * on an ordinary mount. *ret_moved tells whether it happened (not on a disk root). */
int root_leave_initramfs(bool *ret_moved, struct kerr **err);
