/* Wording of a child's wait status, used for the console line the host reads when the agent
 * ends, and the exit code kata-init gives back when it is not PID 1. */
#pragma once
#include <stddef.h>

/* "exited with status N", "killed by signal N (NAME)" (+ ", core dumped"). */
void status_describe(int wstatus, char *buf, size_t len);
/* Shell convention: the exit status, or 128 + the signal number. */
int status_exit_code(int wstatus);
