/* The session socket of a running sandbox (/run/kata-host/<name>/session.sock). The kata-host
 * that owns the sandbox's agent channel relays ttRPC requests arriving there to the agent
 * (stream ids are per connection, so each relayed call is re-issued on the owner's client),
 * which lets `kata-host exec` speak the plain agent API. Requests for the service
 * "kata-host.Session" are answered by the owner itself (e.g. Stop). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ttrpc.h"

#define SESSION_SERVICE "kata-host.Session"
#define KATA_HOST_RUN_DIR "/run/kata-host"

/* Answers a local method; payloads are raw bytes (no protobuf): small text. */
typedef int (*session_local_fn)(const char *method, const uint8_t *payload, size_t len,
                                uint8_t **ret_payload, size_t *ret_len, struct kerr **err,
                                void *data);

struct session_server;

struct session_server *session_server_start(const char *path, struct ttrpc_client *agent,
                                            session_local_fn local, void *data, struct kerr **err);
/* Stops accepting, ends connections and waits for relayed calls to finish. */
void session_server_stop(struct session_server *s);

/* Client side: connects to the named sandbox's session socket. */
int session_connect(const char *name, struct kerr **err);

/* The per-sandbox state file, read by `ps` and `stop`. */
struct session_state {
    char *name;
    long pid;     /* the owning kata-host */
    long vmm_pid; /* 0 with --agent-addr */
    long created; /* epoch seconds */
    char *command;
    char *container_id;
    bool debug_console; /* started with --debug-console */
    long vsock_cid;     /* > 0: the guest's vhost-vsock CID */
};
char *session_run_dir(const char *name);
int session_write_state(const char *run_dir, const struct session_state *st, struct kerr **err);
int session_read_state(const char *run_dir, struct session_state *ret, struct kerr **err);
void session_state_free(struct session_state *st);
/* Whether the owner pid of a state still runs (and is a kata-host). */
bool session_owner_alive(const struct session_state *st);
