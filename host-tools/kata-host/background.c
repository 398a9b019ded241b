#include "background.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"

pid_t background_fork(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        return pid;
    }
    setsid();
    /* Second fork: the background process is not the caller's child, so a shell's wait (or
     * ours) ends at once. */
    pid_t p2 = fork();
    if (p2 < 0)
        _exit(EXIT_KATA_HOST);
    if (p2 > 0)
        _exit(0);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        if (nul > 2)
            close(nul);
    }
    return 0;
}
