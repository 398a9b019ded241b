/* OCI mounts: option strings to mount(2) flags, and mounting one entry below the rootfs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "oci.pb-c.h"

struct mount_opts {
    unsigned long flags;       /* MS_* to set */
    unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) */
    bool bind;                 /* "bind" or "rbind" */
    bool recursive;            /* "rbind" */
    char *data;                /* the options mount(2) does not know as flags, comma-joined */
};

/* Applies the MS_* flag option `name` ("ro", "nodev", "noatime", ...) to *flags; false when
 * it is none. */
bool mount_flag_option(const char *name, unsigned long *flags);
/* Unknown options become filesystem data ("mode=755", "size=64k", "newinstance"). */
void mount_parse_options(char *const *opts, size_t n, struct mount_opts *ret);
void mount_opts_free(struct mount_opts *o);
/* Propagation string of Linux.RootfsPropagation to flags; "" -> MS_REC|MS_SLAVE. */
int mount_propagation_from_name(const char *name, unsigned long *ret, struct kerr **err);

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
