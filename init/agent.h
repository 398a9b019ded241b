/* Starting the agent: the one child kata-init supervises. */
#pragma once
#include <sys/types.h>

#include "error.h"

/* Spawns argv[0] with argv, init's environment, an empty signal mask (init blocks every
 * signal, and a mask survives exec) and a session of its own. With sync_fd >= 0 the agent
 * gets it as its end of the handshake (common/initsync.h). Fails when the program cannot be
 * executed, so init can still report it before anything depends on the agent. */
int agent_spawn(char *const argv[], int sync_fd, pid_t *ret_pid, struct kerr **err);
