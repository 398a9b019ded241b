/* The handshake between kata-init and the agent it starts, which lets the agent serve before
 * init has finished what only containers need (/dev/pts, /dev/shm, /tmp, cgroups, /dev/ptmx,
 * loopback, host name, power buttons): under TCG that is ~40 ms of first-time kernel paths.
 *
 *   init   creates a socket pair and starts the agent with one end as the descriptor named by
 *          KATA_INIT_SYNC_ENV in its environment;
 *   agent  holds its AgentService calls, starts listening, then writes KATA_INIT_SYNC_READY;
 *   init   (on that line, or on EOF, or after its own timeout) finishes the setup and closes
 *          its end;
 *   agent  on end-of-file releases the held calls, in arrival order.
 * Health calls are answered throughout. Neither side's correctness depends on the other's
 * timing: an agent that never writes still gets the setup (later), and a held call waits for
 * the setup, however long the agent took to say it is ready. */
#pragma once

#define KATA_INIT_SYNC_ENV "KATA_INIT_SYNC_FD"
#define KATA_INIT_SYNC_READY "READY\n"
/* The descriptor number the agent finds its end at. */
#define KATA_INIT_SYNC_AGENT_FD 3
/* What the agent logs (info) once init is done: a VM template is saved after it, so that
 * clones do not start by waiting for init. */
#define KATA_INIT_SYNC_DONE_MSG "guest setup finished by kata-init"
