#include "shutdown.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "mounts.h"
#include "xalloc.h"

const char *shutdown_action_name(enum shutdown_action action)
{
    return action == SHUTDOWN_REBOOT ? "reboot" : "power-off";
}

int proc_stat_ppid(const char *stat_text, pid_t *ret_ppid)
{
    /* "pid (comm) state ppid ...": comm is free text, so find the last ')'. */
    const char *close = strrchr(stat_text, ')');
    if (close == NULL)
        return -EINVAL;
    const char *p = close + 1;
    if (p[0] != ' ' || p[1] == '\0' || p[2] != ' ')
        return -EINVAL;
    char *end;
    errno = 0;
    long ppid = strtol(p + 3, &end, 10);
    if (errno != 0 || end == p + 3 || (*end != ' ' && *end != '\0' && *end != '\n'))
        return -EINVAL;
    *ret_ppid = (pid_t)ppid;
    return 0;
}

struct proc_entry {
    pid_t pid, ppid;
};

static size_t list_processes(struct proc_entry **ret)
{
    size_t n = 0, cap = 64;
    struct proc_entry *list = xmalloc(cap * sizeof(*list));
    cleanup_dir DIR *dir = opendir("/proc");
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        cleanup_free char *path = xasprintf("/proc/%ld/stat", pid);
        cleanup_free char *text = NULL;
        pid_t ppid;
        if (read_file(path, &text, NULL) < 0 || proc_stat_ppid(text, &ppid) < 0)
            continue;
        if (n == cap)
            list = xrealloc(list, (cap *= 2) * sizeof(*list));
        list[n++] = (struct proc_entry){(pid_t)pid, ppid};
    }
    *ret = list;
    return n;
}

int kill_descendants(pid_t root, int sig)
{
    struct proc_entry *list = NULL;
    size_t n = list_processes(&list);
    /* Breadth-first over the snapshot: mark children of marked pids until nothing changes. */
    bool *marked = xcalloc(n ? n : 1, sizeof(bool));
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            if (marked[i])
                continue;
            bool parent_marked = list[i].ppid == root;
            for (size_t j = 0; j < n && !parent_marked; j++)
                parent_marked = marked[j] && list[j].pid == list[i].ppid;
            if (parent_marked)
                marked[i] = changed = true;
        }
    }
    int sent = 0;
    for (size_t i = 0; i < n; i++)
        if (marked[i] && kill(list[i].pid, sig) == 0)
            sent++;
    free(marked);
    free(list);
    return sent;
}

void shutdown_kill_remaining(bool pid1, pid_t *agent_pid, int *agent_status, int timeout_ms)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int waited = 0; waited <= timeout_ms;) {
        /* Again on every round: something may have forked while the first kill went out. */
        if (pid1)
            (void)kill(-1, SIGKILL);
        else
            (void)kill_descendants(getpid(), SIGKILL);
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid > 0) {
            if (pid == *agent_pid) {
                *agent_pid = 0;
                *agent_status = status;
            }
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break; /* ECHILD: nobody left */
        /* A process stuck in uninterruptible sleep (a dead FUSE server) may never go: give
         * up after the timeout rather than hang the power-off. */
        nanosleep(&tick, NULL);
        waited += 10;
    }
}

int shutdown_machine(bool pid1, enum shutdown_action action)
{
    sync();
    if (!pid1)
        return -EPERM;
    (void)mounts_unmount_all();
    sync();
    if (reboot(action == SHUTDOWN_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF) < 0)
        return -errno;
    return 0;
}
