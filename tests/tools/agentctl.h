/* What agentctl.c, agentctl-net.c and agentctl-hotplug.c share. */
#pragma once
#include <stdint.h>

#include "agent.pb-c.h"
#include "ttrpc.h"

/* One call; on failure prints and exits (2: status from the agent, 1: transport). */
ProtobufCMessage *agentctl_call(struct ttrpc_client *client, const char *svc, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *resp_desc, int64_t tmo);
/* The networking subcommands (agentctl-net.c). */
int agentctl_net(struct ttrpc_client *client, int64_t tmo, int argc, char **argv);
/* Storage messages from DRIVER:SOURCE:FSTYPE:MOUNTPOINT[:OPT,OPT] specs (agentctl-hotplug.c). */
Grpc__Storage **agentctl_storages(char **specs, size_t n);
/* Device messages, and their spec entries, from TYPE;ID;VM_PATH;CONTAINER_PATH;MAJOR;MINOR. */
Grpc__Device **agentctl_devices(char **specs, size_t n);
void agentctl_spec_devices(Grpc__Linux *l, char **specs, size_t n);
/* AddSwap, AddSwapPath, UpdateEphemeralMounts. */
int agentctl_hotplug(struct ttrpc_client *client, int64_t tmo, int argc, char **argv);
/* CopyFile, GetMetrics, Get/SetIPTables subcommands (agentctl-files.c). */
int agentctl_files(struct ttrpc_client *client, int64_t tmo, int argc, char **argv);

/* agentctl-seccomp.c: the JSON profile of --seccomp FILE (exits on a malformed file). */
Grpc__LinuxSeccomp *agentctl_seccomp(const char *path);

/* A new connection to ADDR (unix://, vsock://); -1 with errno set. */
int agentctl_dial(const char *addr);
/* The soak subcommands (agentctl-soak.c); -1 when argv[0] is none of them. They may replace
 * *client (reconnecting). */
int agentctl_soak(const char *addr, struct ttrpc_client **client, int64_t tmo, int argc,
                  char **argv);
