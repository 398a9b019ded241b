/* One pooled VM's keeper process (pool.h); forked by the pool daemon from its only thread. */
#pragma once
#include <sys/types.h>

#include "pool_shape.h"

/* Never returns. dir (<pool dir>/pool-<pid>) becomes the VM's run directory. */
void pool_keeper_main(int daemon_sock, pid_t daemon_pid, const char *dir, enum pool_shape shape)
    __attribute__((noreturn));
