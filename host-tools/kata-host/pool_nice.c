/* A keeper restores and warms its VM while runs use the host's CPUs; under TCG both are CPU
 * work, and the refill a take starts would otherwise compete with the very run that took the
 * VM. Niceness is per thread on Linux, so the restore at hand-off walks QEMU's threads (its
 * vCPU and I/O threads were created at the lower priority). */
#include "pool_nice.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

#define POOL_NICE_INCREMENT 10

static int base_nice;
static int lowered;

void pool_nice_background(void)
{
    if (geteuid() != 0)
        return;
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (errno != 0)
        return;
    base_nice = now;
    if (setpriority(PRIO_PROCESS, 0, now + POOL_NICE_INCREMENT) == 0)
        lowered = 1;
}

void pool_nice_restore(pid_t qemu)
{
    if (!lowered)
        return;
    cleanup_free char *path = xasprintf("/proc/%d/task", (int)qemu);
    cleanup_dir DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        if (tid > 0)
            (void)setpriority(PRIO_PROCESS, (id_t)tid, base_nice);
    }
    (void)setpriority(PRIO_PROCESS, 0, base_nice);
}
