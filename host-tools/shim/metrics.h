/* A task's Stats for containerd: the agent's cgroup figures (StatsContainer) as containerd's
 * cgroup v1 Metrics (io.containerd.cgroups.v1.Metrics), which `ctr task metrics` decodes and
 * prints whatever the host's own cgroup version is, as Kata's shim reports them. */
#pragma once
#include "agent.pb-c.h"
#include "error.h"
#include "google/protobuf/any.pb-c.h"

/* Fills ret->type_url and ret->value (both malloc'd; free with shim_metrics_any_clear). */
int shim_metrics_any(const Grpc__StatsContainerResponse *stats, Google__Protobuf__Any *ret,
                     struct kerr **err);
void shim_metrics_any_clear(Google__Protobuf__Any *any);
