/* The priority of a pooled VM: restoring and warming run at a lower priority than the runs
 * they serve, and the VM gets the taker's priority back when it is handed out. */
#pragma once
#include <sys/types.h>

/* Lowers the calling keeper's priority (QEMU, forked later, inherits it). Only as root, who
 * can raise it again at hand-off. */
void pool_nice_background(void);
/* Gives every thread of QEMU (pid) back the priority the keeper had before. */
void pool_nice_restore(pid_t qemu);
