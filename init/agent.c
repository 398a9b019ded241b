#include "agent.h"

#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "console.h"
#include "fsutil.h"
#include "initsync.h"

extern char **environ;

/* Upstream's kata-agent.service sets OOMScoreAdjust=-997: under memory pressure the kernel
 * kills a container's process before the agent that reports it. The agent inherits the value
 * from init across the spawn, so there is no moment at which it runs unprotected; init takes
 * its own value back afterwards so nothing else it starts inherits it (init itself, as PID 1,
 * is never chosen by the OOM killer). Containers do not keep it either: the agent's spawn
 * writes each process's own oomScoreAdj (0 when the spec has none). */
#define AGENT_OOM_SCORE_ADJ "-997"
#define OOM_SCORE_ADJ_FILE "/proc/self/oom_score_adj"

static char *oom_protect(void)
{
    cleanup_free char *old = NULL;
    cleanup_error struct kerr *err = NULL;
    if (read_file(OOM_SCORE_ADJ_FILE, &old, &err) < 0 ||
        write_file(OOM_SCORE_ADJ_FILE, AGENT_OOM_SCORE_ADJ, &err) < 0) {
        init_warn("the agent runs without OOM protection: %s", err->msg);
        return NULL;
    }
    return steal_ptr(old);
}

static void oom_restore(char *old)
{
    cleanup_free char *value = old;
    cleanup_error struct kerr *err = NULL;
    if (!value)
        return;
    value[strcspn(value, "\n")] = '\0';
    if (write_file(OOM_SCORE_ADJ_FILE, value, &err) < 0)
        init_warn("cannot restore init's oom_score_adj %s: %s", value, err->msg);
}

int agent_spawn(char *const argv[], int sync_fd, pid_t *ret_pid, struct kerr **err)
{
    posix_spawnattr_t attr;
    int r = posix_spawnattr_init(&attr);
    if (r != 0)
        return make_error(err, r, "posix_spawnattr_init");
    posix_spawn_file_actions_t actions;
    r = posix_spawn_file_actions_init(&actions);
    if (r != 0) {
        posix_spawnattr_destroy(&attr);
        return make_error(err, r, "posix_spawn_file_actions_init");
    }
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setsigdefault(&attr, &all);
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETSID);
    if (sync_fd >= 0) {
        /* dup2 onto itself clears close-on-exec too (musl and glibc alike). */
        r = posix_spawn_file_actions_adddup2(&actions, sync_fd, KATA_INIT_SYNC_AGENT_FD);
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", KATA_INIT_SYNC_AGENT_FD);
        if (r == 0)
            setenv(KATA_INIT_SYNC_ENV, fd, 1);
    }
    pid_t pid;
    if (r == 0) {
        char *old_adj = oom_protect();
        r = posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
        oom_restore(old_adj);
    }
    unsetenv(KATA_INIT_SYNC_ENV);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return make_error(err, r, "start agent %s", argv[0]);
    *ret_pid = pid;
    return 0;
}
