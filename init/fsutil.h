/* Small file helpers for init. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Reads a whole (small, e.g. /proc) file into a NUL-terminated allocated string. */
int fs_read_file(const char *path, char **ret_text, struct kerr **err);
/* Writes text to an existing file (sysfs, cgroupfs) in one write. */
int fs_write_file(const char *path, const char *text, struct kerr **err);
/* mkdir -p with mode for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct kerr **err);
/* True when path is the root of a mount (its device differs from its parent's). */
bool fs_is_mountpoint(const char *path);
