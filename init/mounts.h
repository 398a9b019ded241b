/* The file systems a guest needs before the agent runs, and taking them down at shutdown. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* When init mounts it (setup.c). */
enum mount_stage {
    MOUNT_BASE,       /* to read the command line and reach the console */
    MOUNT_AGENT,      /* before the agent starts */
    MOUNT_CONTAINERS, /* with the rest of what only containers need */
};

struct mount_spec {
    const char *source;
    const char *target;
    const char *fstype;
    unsigned long flags;
    const char *data;
    enum mount_stage stage;
    bool required; /* without it nothing else can work: init bails out (stages before the agent) */
};

/* In mounting order; /proc comes first because the command line lives there. */
extern const struct mount_spec mounts_early[];
extern const size_t mounts_early_count;

/* Creates the target and mounts; *ret_skipped tells that something was mounted there
 * already (as on a disk-image root, where the kernel mounted devtmpfs itself). */
int mount_spec_apply(const struct mount_spec *m, bool *ret_skipped, struct kerr **err);

/* Mount points listed in a /proc/self/mountinfo text, in file (= mount) order, with the
 * octal escapes (\040 for a space) decoded. NULL-terminated; never NULL. */
char **mountinfo_targets(const char *text);

/* Unmounts everything but "/" in reverse mount order, detaching what is busy, then remounts
 * "/" read-only so a disk root is clean. Returns how many could not be unmounted. */
int mounts_unmount_all(void);
