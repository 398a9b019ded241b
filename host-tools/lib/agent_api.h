/* Typed calls to the agent's ttRPC API (grpc.AgentService, grpc.Health) over one client.
 * Every call is blocking and thread-safe; long calls (reads, wait) pass no deadline. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "error.h"
#include "ttrpc.h"

#define AGENT_SERVICE "grpc.AgentService"
#define HEALTH_SERVICE "grpc.Health"
#define AGENT_CALL_TIMEOUT_NS (60LL * 1000000000LL)

int agent_check(struct ttrpc_client *c, int64_t timeout_ns, struct kerr **err);
int agent_create_sandbox(struct ttrpc_client *c, const Grpc__CreateSandboxRequest *req,
                         struct kerr **err);
int agent_destroy_sandbox(struct ttrpc_client *c, int64_t timeout_ns, struct kerr **err);
/* A clone's refresh: 64 bytes of the host's randomness; the host's clock, read now. */
int agent_reseed_random(struct ttrpc_client *c, struct kerr **err);
int agent_set_guest_time(struct ttrpc_client *c, struct kerr **err);
int agent_create_container(struct ttrpc_client *c, const Grpc__CreateContainerRequest *req,
                           struct kerr **err);
int agent_start_container(struct ttrpc_client *c, const char *cid, struct kerr **err);
int agent_exec_process(struct ttrpc_client *c, const Grpc__ExecProcessRequest *req,
                       struct kerr **err);
int agent_signal(struct ttrpc_client *c, const char *cid, const char *eid, int sig,
                 struct kerr **err);
int agent_wait(struct ttrpc_client *c, const char *cid, const char *eid, int *ret_status,
               struct kerr **err);
/* ReadStdout / ReadStderr: *ret_len == 0 means EOF. */
int agent_read(struct ttrpc_client *c, int which_fd, const char *cid, const char *eid,
               uint8_t **ret_data, size_t *ret_len, struct kerr **err);
int agent_write_stdin(struct ttrpc_client *c, const char *cid, const char *eid, const uint8_t *data,
                      size_t len, struct kerr **err);
int agent_close_stdin(struct ttrpc_client *c, const char *cid, const char *eid, struct kerr **err);
int agent_tty_resize(struct ttrpc_client *c, const char *cid, const char *eid, unsigned rows,
                     unsigned cols, struct kerr **err);

int agent_remove_container(struct ttrpc_client *c, const char *cid, uint32_t timeout_s,
                           struct kerr **err);
int agent_pause_container(struct ttrpc_client *c, const char *cid, struct kerr **err);
int agent_resume_container(struct ttrpc_client *c, const char *cid, struct kerr **err);
int agent_update_container(struct ttrpc_client *c, const char *cid, Grpc__LinuxResources *resources,
                           struct kerr **err);
/* *ret frees with protobuf_c_message_free_unpacked(&(*ret)->base, NULL). */
int agent_stats_container(struct ttrpc_client *c, const char *cid,
                          Grpc__StatsContainerResponse **ret, struct kerr **err);
/* Blocks (no deadline) until the agent reports a container's OOM; *ret_cid is malloc'd. */
int agent_get_oom_event(struct ttrpc_client *c, char **ret_cid, struct kerr **err);

/* Exit code for a failure to create or start the command, like docker: 127 when the command
 * was not found, 126 when it cannot be executed, else 125. */
int agent_exit_code_for(const struct kerr *err);
