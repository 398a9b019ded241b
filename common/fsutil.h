/* Small file helpers for kernel interface files (cgroupfs, procfs, sysfs), shared by the agent
 * and kata-init. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Writes `value` to an existing file (never creates it): kernel files reject partial writes,
 * so one write(2) carries the whole value. */
int write_file_at(int dirfd, const char *name, const char *value, struct kerr **err);
int write_file(const char *path, const char *value, struct kerr **err);
/* Reads a whole (small) file into a NUL-terminated xmalloc'd buffer. */
int read_file_at(int dirfd, const char *name, char **ret, struct kerr **err);
int read_file(const char *path, char **ret, struct kerr **err);
/* mkdir -p of an absolute or relative path; existing directories are fine. */
int mkdir_p(const char *path, unsigned mode, struct kerr **err);
bool str_empty(const char *s);
/* Undoes, in place, the \ooo octal escapes of /proc/self/mountinfo and /proc/mounts (space,
 * tab, newline and backslash in paths). */
void unescape_octal(char *s);
/* True when path is the root of a mount (its device differs from its parent's, or it is /). */
bool is_mountpoint(const char *path);
