#include "agent.h"

#include <signal.h>
#include <spawn.h>
#include <stddef.h>

extern char **environ;

int agent_spawn(char *const argv[], pid_t *ret_pid, struct kerr **err)
{
    posix_spawnattr_t attr;
    int r = posix_spawnattr_init(&attr);
    if (r != 0)
        return make_error(err, r, "posix_spawnattr_init");
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setsigdefault(&attr, &all);
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETSID);
    pid_t pid;
    r = posix_spawn(&pid, argv[0], NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return make_error(err, r, "start agent %s", argv[0]);
    *ret_pid = pid;
    return 0;
}
