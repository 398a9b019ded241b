#include "agent.h"

#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "initsync.h"

extern char **environ;

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
    if (r == 0)
        r = posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
    unsetenv(KATA_INIT_SYNC_ENV);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return make_error(err, r, "start agent %s", argv[0]);
    *ret_pid = pid;
    return 0;
}
