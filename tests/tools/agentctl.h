/* What agentctl.c and agentctl-net.c share. */
#pragma once
#include <stdint.h>

#include "ttrpc.h"

/* One call; on failure prints and exits (2: status from the agent, 1: transport). */
ProtobufCMessage *agentctl_call(struct ttrpc_client *client, const char *svc, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *resp_desc, int64_t tmo);
/* The networking subcommands (agentctl-net.c). */
int agentctl_net(struct ttrpc_client *client, int64_t tmo, int argc, char **argv);
/* CopyFile, GetMetrics, Get/SetIPTables subcommands (agentctl-files.c). */
int agentctl_files(struct ttrpc_client *client, int64_t tmo, int argc, char **argv);
