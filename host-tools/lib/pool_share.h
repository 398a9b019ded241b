/* A pooled VM's shared directory. Its QEMU was started before any sandbox existed, so the
 * 9p export it serves is a directory of its keeper's, bound at TEMPLATE_9P_EXPORT in QEMU's own
 * mount namespace (vm.h: ns_bind_*) and made a shared mount there. The taker joins that mount's
 * peer group: a clone of it, taken inside QEMU's namespace, is mounted on the sandbox's shared
 * directory, and from then on every container the taker mounts there appears in the guest, as
 * with a VM it started itself. */
#pragma once
#include <sys/types.h>

#include "error.h"

/* Mounts a peer of `export` as seen by process `vmm_pid` on `target` (in the caller's mount
 * namespace; target must exist). */
int pool_share_join(pid_t vmm_pid, const char *export, const char *target, struct kerr **err);
