/* The container's filesystem view, in the child inside its new mount namespace: mounts and
 * devices below Root.Path, pivot_root, sysctls, masked and read-only paths, read-only root. */
#pragma once
#include "error.h"
#include "oci.pb-c.h"

struct cgroup;

/* Called once the mounts and devices are in place, before pivot_root (the OCI prestart,
 * createRuntime and createContainer hooks' moment). */
typedef int (*rootfs_hook_fn)(void *data, struct kerr **err);
int rootfs_setup(const Grpc__Spec *spec, struct cgroup *cg, rootfs_hook_fn before_pivot, void *data,
                 struct kerr **err);
/* Linux.Sysctl as /proc/sys files; called by rootfs_setup after pivot_root (the container's
 * /proc and namespaces). Keys with '/' or ".." are refused. */
int sysctls_apply(const Grpc__Spec *spec, struct kerr **err);
