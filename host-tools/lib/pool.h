/* The warm VM pool (kata-host pool start): a daemon keeps N VMs restored from the VM template,
 * each held by a keeper process with its agent connected and Health.Check answered. A VM is
 * handed out once: `kata-host run` asks the daemon on <pool dir>/pool.sock, the daemon passes
 * the request's connection to a ready keeper, and the keeper answers on it with the QEMU pid
 * and (SCM_RIGHTS) the connected agent channel. That connection then stays the VM's lifeline:
 * the keeper reports QEMU's exit status on it, and when the taker closes it (or dies) the
 * keeper kills QEMU and removes the VM's directory. Keepers that were handed out stop
 * following the daemon, so runs outlive `pool stop` and a killed daemon.
 *
 * Messages are SOCK_SEQPACKET datagrams of text:
 *   taker -> daemon:   "TAKE <template key>" | "STATUS" | "STOP"
 *   daemon -> taker:   "NONE <why>" | status text | "STOPPED"
 *   daemon -> keeper:  "GIVE" + the taker's connection
 *   keeper -> daemon:  "STARTED <qemu pid>" | "READY <qemu pid>"
 *   keeper -> taker:   "VM <qemu pid> <agent hello boottime ns> <next ttRPC stream id>
 *                      <warm-up ms, -1 when not warmed> <vm dir>" + the agent channel,
 *                      later "EXIT <wait status>" */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define POOL_SOCKET "pool.sock"
#define POOL_PID_FILE "pool.pid"
#define POOL_MSG_MAX 4096

/* <KATA_HOST_RUN_DIR or /run/kata-host>/pool (malloc'd). */
char *pool_dir(void);

/* One datagram, with at most one descriptor (fd < 0: none). */
int pool_send(int sock, const char *text, int fd, struct kerr **err);
/* Receives one datagram into buf (NUL-terminated); *ret_fd gets a passed descriptor or -1.
 * Returns its length, 0 at EOF; timeout_ms < 0 waits forever. */
int pool_recv(int sock, char *buf, size_t size, int *ret_fd, int timeout_ms, struct kerr **err);
/* Creates (or replaces) a small file of the pool's directory. */
int pool_write_file(const char *path, const char *text, struct kerr **err);
/* Connects to the running pool's socket; -ENOENT or -ECONNREFUSED when none runs. */
int pool_connect(struct kerr **err);
/* Sends one request and returns the first answer (malloc'd in *ret). */
int pool_request(const char *request, int timeout_ms, char **ret, struct kerr **err);

/* A VM handed out by the pool. */
struct pool_vm {
    pid_t qemu_pid;
    int agent_fd; /* the connected agent channel (its hello line already read) */
    int ctrl_fd;  /* the keeper's connection: EXIT arrives here; closing it ends the VM */
    uint64_t hello_boottime_ns;
    uint32_t next_stream_id; /* the keeper's Health.Check and warm-up used the ids before */
    int warm_ms;             /* how long the keeper's warm-up took; -1: not warmed */
    char *dir;               /* the VM's directory (console.log) */
};
/* Takes a ready VM of the configuration `key` (template.h: template_key). -ENOENT when no pool
 * runs, -EAGAIN when it has none ready or none of this configuration; err says which. */
int pool_take(const char *key, struct pool_vm *ret, struct kerr **err);
void pool_vm_free(struct pool_vm *v);
