/* The container's terminal: a pty allocated from the container's own devpts instance (so
 * `tty` inside shows /dev/pts/N), made the controlling terminal and stdio of the process. */
#pragma once
#include <sys/types.h>

#include "error.h"

/* In the child, after the rootfs is in place: opens /dev/ptmx, sets the size (0 = leave),
 * gives the slave to `owner`, makes it the controlling tty and fds 0-2. Returns the master. */
int terminal_setup_child(unsigned rows, unsigned cols, uid_t owner, int *ret_master,
                         struct kerr **err);
