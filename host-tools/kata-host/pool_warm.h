/* Warming a pooled VM before it is handed out (pool_keeper.c). */
#pragma once
#include <stdint.h>

#include "error.h"
#include "sandbox.h"

/* The container id (and hostname) of the warm-up container. */
#define POOL_WARM_ID "kh-pool-warmup"

/* Drives a throwaway container through the calls a run makes, on the agent channel `agent`
 * (not consumed), so the first real run finds those guest code paths already translated by
 * TCG. Leaves the agent as it was: no sandbox, no container. Updates sb->next_stream_id. */
int pool_warm(struct sandbox *sb, int agent, struct kerr **err);
/* How many warm-up containers run (KATA_HOST_POOL_WARM, 0 to 5; default 1; 0 turns warming off,
 * to compare). */
int pool_warm_passes(void);
