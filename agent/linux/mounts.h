/* OCI mounts: mounting one entry below the rootfs (option strings: common/mount-options.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mount-options.h"
#include "oci.pb-c.h"

/* Opens `path` (absolute, interpreted inside root_fd) without leaving the root, even through
 * symlinks. */
int mount_open_in_root(int root_fd, const char *path, int flags, struct kerr **err);
/* mkdir -p of `path` inside root_fd; the last component is a file when `file` is set. */
int mount_make_target(int root_fd, const char *path, bool file, struct kerr **err);

/* nosuid/nodev/noexec of the mount fd is on, as MS_* flags (kept by bind remounts). */
unsigned long mount_locked_flags(int fd);

struct cgroup;
/* Mounts one OCI mount below root_fd (before pivot_root). Sets *ret_dev_tmpfs when it is a
 * tmpfs on /dev (the runtime then creates the device nodes). */
int mount_one(int root_fd, const Grpc__Mount *m, struct cgroup *cg, bool *ret_dev_tmpfs,
              struct kerr **err);
