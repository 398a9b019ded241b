/* Starting a long-lived background process (the owner of `run -d`, the pool daemon). */
#pragma once
#include <sys/types.h>

/* Forks twice: returns 0 in the background process (a new session, stdio on /dev/null, not
 * our child, so nobody has to wait for it), the first child's pid (already reaped) in the
 * caller, -1 with errno if the first fork failed. */
pid_t background_fork(void);
