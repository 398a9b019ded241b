/* A minimal QMP client: one command at a time, answers read line by line (events skipped). */
#pragma once
#include "error.h"

/* Connects to QEMU's QMP unix socket (retrying until timeout_ms: QEMU creates it while
 * starting), reads the greeting and enters command mode. Returns the fd. */
int qmp_connect(const char *path, int timeout_ms, struct kerr **err);
/* Sends `command` (a JSON object) and waits up to timeout_ms for its answer. 0 with the
 * answer line in *ret (malloc'd; may be NULL) on "return"; an error carrying QEMU's "desc" on
 * "error". */
int qmp_call(int fd, const char *command, int timeout_ms, char **ret, struct kerr **err);
/* The string value of "key" in a QMP answer line (malloc'd), or NULL. Enough for the flat
 * answers used here ({"return": {"status": "running", ...}}). */
char *qmp_string(const char *line, const char *key);
