/* Device nodes of the container's /dev: the OCI default set when the runtime owns /dev (a
 * tmpfs mount), Linux.Devices always, plus the standard /dev symlinks. */
#pragma once
#include <stdbool.h>

#include "error.h"
#include "oci.pb-c.h"

/* root_fd: the rootfs before pivot_root. In a user namespace, where mknod is refused, the
 * host's node is bind-mounted instead. */
int devices_setup(int root_fd, const Grpc__Spec *spec, bool dev_tmpfs, struct kerr **err);
