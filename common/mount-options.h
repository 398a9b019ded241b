/* Mount option strings (OCI mounts, Kata storages, containerd's snapshot mounts) into
 * mount(2)'s flags, propagation and file-system data: one table for the agent and the host. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

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
