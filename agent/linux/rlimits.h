/* Process.Rlimits and Process.OOMScoreAdj. */
#pragma once
#include "error.h"
#include "oci.pb-c.h"

/* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown. */
int rlimit_from_name(const char *name);
int rlimits_apply(const Grpc__Process *p, struct kerr **err);
int oom_score_adj_apply(long long value, struct kerr **err);
