/* Resolving Process.Args[0] the way execvp would, done before the process reports ready so
 * that a missing or non-executable command fails CreateContainer/ExecProcess itself. */
#pragma once
#include <stddef.h>

#include "error.h"

#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Value of NAME in an environment array (NULL if absent). */
const char *env_get(char *const *env, size_t n, const char *name);
/* cmd with a '/' is taken as is; otherwise searched in `path` (NULL -> EXEC_DEFAULT_PATH).
 * Errors: NOT_FOUND `exec: "cmd": executable file not found in $PATH` (or "no such file or
 * directory"), PERMISSION_DENIED `exec: "cmd": permission denied`. */
int exec_resolve(const char *cmd, const char *path, char **ret, struct kerr **err);
