/* The last steps of a guest's life, after the agent has stopped (or was given up on). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

enum shutdown_action { SHUTDOWN_POWER_OFF, SHUTDOWN_REBOOT };

const char *shutdown_action_name(enum shutdown_action action);

/* Parent pid from a /proc/PID/stat text (the command name may hold spaces and ')'). */
int proc_stat_ppid(const char *stat_text, pid_t *ret_ppid);

/* Sends sig to every descendant of root (found through /proc), for kata-init running under
 * another init, where kill(-1) would reach the whole machine. Returns how many were sent. */
int kill_descendants(pid_t root, int sig);

/* SIGKILLs whatever is left (everything as PID 1, our descendants otherwise), then reaps for
 * up to timeout_ms. Reaped pids other than the agent's are dropped; when the agent itself
 * is reaped here, *agent_status receives its status and *agent_pid is zeroed. */
void shutdown_kill_remaining(bool pid1, pid_t *agent_pid, int *agent_status, int timeout_ms);

/* sync, unmount everything (PID 1 only) and power off or reboot. Returns only when reboot()
 * fails (not PID 1, or no privilege), with a negative errno. */
int shutdown_machine(bool pid1, enum shutdown_action action);
