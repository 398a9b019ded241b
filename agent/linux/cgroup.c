/* cgroup front: path mapping, version detection, and the operations that are the same for
 * both versions apart from file names (enter, pids, kill, destroy). */
#include "cgroup-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    if (shares <= 2)
        return 1;
    if (shares >= 262144)
        return 10000;
    return 1 + ((shares - 2) * 9999) / 262142;
}

void cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len)
{
    if (period == 0)
        period = 100000;
    if (quota > 0)
        snprintf(buf, len, "%" PRId64 " %" PRIu64, quota, period);
    else
        snprintf(buf, len, "max %" PRIu64, period);
}

int cgroup_swap_v2(int64_t limit, int64_t swap, char *buf, size_t len, struct kerr **err)
{
    if (swap == 0)
        return 0;
    if (swap == -1) {
        snprintf(buf, len, "max");
        return 1;
    }
    if (swap < -1)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid memory swap %" PRId64, swap);
    if (limit == 0 || limit == -1)
        return make_status(err, RPC_INVALID_ARGUMENT, 0,
                           "unable to set swap limit without memory limit");
    if (swap < limit)
        return make_status(
            err, RPC_INVALID_ARGUMENT, 0,
            "memory+swap limit (%" PRId64 ") should be >= memory limit (%" PRId64 ")", swap, limit);
    snprintf(buf, len, "%" PRId64, swap - limit);
    return 1;
}

int cgroup_check_pagesize(const char *s, struct kerr **err)
{
    if (str_empty(s) || strlen(s) > 16)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid hugepage size '%s'", s ? s : "");
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid hugepage size '%s'", s);
    return 0;
}

static bool valid_relative(const char *p)
{
    /* Rejects "..", "." and empty components so the cgroup cannot leave the tree. */
    const char *s = p;
    while (*s) {
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s = *e ? e + 1 : e;
    }
    return true;
}

/* "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "". */
static int expand_slice(const char *slice, char **ret, struct kerr **err)
{
    size_t n = strlen(slice);
    if (n < 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid systemd slice '%s'", slice);
    if (strcmp(slice, "-.slice") == 0) {
        *ret = xstrdup("");
        return 0;
    }
    size_t base = n - 6;
    if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid systemd slice '%s'", slice);
    cleanup_free char *out = xstrdup("");
    for (size_t i = 0; i <= base; i++) {
        if (i != base && slice[i] != '-')
            continue;
        char *next = xasprintf("%s%s%.*s.slice", out, *out ? "/" : "", (int)i, slice);
        free(out);
        out = next;
    }
    *ret = steal_ptr(out);
    return 0;
}

int cgroup_path_from_spec(const char *cgroups_path, const char *container_id, char **ret_path,
                          struct kerr **err)
{
    if (str_empty(cgroups_path)) {
        if (str_empty(container_id) || !valid_relative(container_id))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid container id for cgroup");
        *ret_path = xasprintf("kata/%s", container_id);
        return 0;
    }
    if (cgroups_path[0] != '/' && strchr(cgroups_path, ':')) {
        cleanup_free char *copy = xstrdup(cgroups_path);
        char *prefix = strchr(copy, ':');
        *prefix++ = '\0';
        char *name = strchr(prefix, ':');
        if (name == NULL || strchr(name + 1, ':') || name[1] == '\0')
            return make_status(err, RPC_INVALID_ARGUMENT, 0,
                               "invalid systemd cgroups path '%s' (want slice:prefix:name)",
                               cgroups_path);
        *name++ = '\0';
        cleanup_free char *slice = NULL;
        int r = expand_slice(*copy ? copy : "system.slice", &slice, err);
        if (r < 0)
            return r;
        cleanup_free char *unit = NULL;
        size_t nl = strlen(name);
        if (nl > 6 && strcmp(name + nl - 6, ".slice") == 0)
            unit = xstrdup(name);
        else if (*prefix)
            unit = xasprintf("%s-%s.scope", prefix, name);
        else
            unit = xasprintf("%s.scope", name);
        char *p = xasprintf("%s%s%s", slice, *slice ? "/" : "", unit);
        if (!valid_relative(p)) {
            free(p);
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid cgroups path '%s'",
                               cgroups_path);
        }
        *ret_path = p;
        return 0;
    }
    const char *p = cgroups_path;
    while (*p == '/')
        p++;
    cleanup_free char *rel = xstrdup(p);
    size_t n = strlen(rel);
    while (n > 0 && rel[n - 1] == '/')
        rel[--n] = '\0';
    if (n == 0 || !valid_relative(rel))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid cgroups path '%s'", cgroups_path);
    *ret_path = steal_ptr(rel);
    return 0;
}

int cgroup_open_dir(const char *dir, struct kerr **err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return make_error(err, errno, "open cgroup %s", dir);
    return fd;
}

void cgroup_free(struct cgroup *cg)
{
    if (cg == NULL)
        return;
    for (size_t i = 0; i < cg->n_v1; i++) {
        free(cg->v1[i].name);
        free(cg->v1[i].dir);
    }
    free(cg->v1);
    if (cg->oom_fd >= 0)
        close(cg->oom_fd);
    if (cg->oom_control_fd >= 0)
        close(cg->oom_control_fd);
    free(cg->root);
    free(cg->path);
    free(cg->dir);
    free(cg);
}

static void cgroup_freep(struct cgroup **cg)
{
    cgroup_free(*cg);
}

int cgroup_create(const char *root, const char *path, const Grpc__LinuxResources *res,
                  struct cgroup **ret, struct kerr **err)
{
    if (root == NULL)
        root = DEFAULT_ROOT;
    if (str_empty(path) || path[0] == '/' || !valid_relative(path))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid cgroup path '%s'",
                           path ? path : "");
    __attribute__((cleanup(cgroup_freep))) struct cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->root = xstrdup(root);
    cg->path = xstrdup(path);
    cg->oom_fd = -1;
    cg->oom_control_fd = -1;
    cleanup_free char *probe = xasprintf("%s/cgroup.controllers", root);
    cg->v2 = access(probe, F_OK) == 0;
    int r = cg->v2 ? cgroup_v2_create(cg, err) : cgroup_v1_create(cg, err);
    if (r < 0)
        return error_wrap(err, r, "cgroup %s", path);
    if (res) {
        r = cgroup_update(cg, res, err);
        if (r < 0)
            return r;
    }
    *ret = steal_ptr(cg);
    return 0;
}

int cgroup_update(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err)
{
    if (res == NULL)
        return 0;
    int r = cg->v2 ? cgroup_v2_apply(cg, res, err) : cgroup_v1_apply(cg, res, err);
    return r < 0 ? error_wrap(err, r, "cgroup %s", cg->path) : 0;
}

bool cgroup_is_v2(const struct cgroup *cg)
{
    return cg->v2;
}

const char *cgroup_dir(const struct cgroup *cg, const char *controller)
{
    if (cg->v2)
        return cg->dir;
    for (size_t i = 0; i < cg->n_v1; i++)
        if (strcmp(cg->v1[i].name, controller) == 0)
            return cg->v1[i].dir;
    return NULL;
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct kerr **err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    size_t n = cg->v2 ? 1 : cg->n_v1;
    for (size_t i = 0; i < n; i++) {
        const char *dir = cg->v2 ? cg->dir : cg->v1[i].dir;
        cleanup_free char *procs = xasprintf("%s/cgroup.procs", dir);
        int r = write_file(procs, buf, err);
        if (r < 0)
            return error_wrap(err, r, "enter pid %d into cgroup", (int)pid);
    }
    return 0;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct kerr **err)
{
    return cg->v2 ? cgroup_v2_freeze(cg, frozen, err) : cgroup_v1_freeze(cg, frozen, err);
}

static void add_pid(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
    for (size_t i = 0; i < *n; i++)
        if ((*pids)[i] == pid)
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *pids = xrealloc(*pids, *cap * sizeof(pid_t));
    }
    (*pids)[(*n)++] = pid;
}

static int collect_pids(const char *dir, pid_t **pids, size_t *n, size_t *cap, int depth,
                        struct kerr **err)
{
    if (depth > 32)
        return make_error(err, ELOOP, "cgroup tree too deep at %s", dir);
    cleanup_free char *procs_path = xasprintf("%s/cgroup.procs", dir);
    cleanup_free char *procs = NULL;
    int r = read_file(procs_path, &procs, err);
    if (r < 0)
        return r;
    for (char *s = procs; *s;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        if (v > 0)
            add_pid(pids, n, cap, (pid_t)v);
        s = end;
        while (*s == '\n')
            s++;
    }
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return make_error(err, errno, "opendir %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
        r = collect_pids(sub, pids, n, cap, depth + 1, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static const char *pids_dir(const struct cgroup *cg)
{
    if (cg->v2)
        return cg->dir;
    static const char *const pref[] = {"pids", "freezer", "memory", "cpu"};
    for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++) {
        const char *d = cgroup_dir(cg, pref[i]);
        if (d)
            return d;
    }
    return cg->n_v1 ? cg->v1[0].dir : NULL;
}

int cgroup_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct kerr **err)
{
    const char *dir = pids_dir(cg);
    if (dir == NULL)
        return make_error(err, ENOENT, "no cgroup hierarchy for %s", cg->path);
    pid_t *pids = NULL;
    size_t n = 0, cap = 0;
    int r = collect_pids(dir, &pids, &n, &cap, 0, err);
    if (r < 0) {
        free(pids);
        return r;
    }
    *ret_pids = pids;
    *ret_n = n;
    return 0;
}

int cgroup_kill_all(struct cgroup *cg, int sig, struct kerr **err)
{
    if (cg->v2 && sig == SIGKILL) {
        /* cgroup.kill (Linux 5.14) kills the whole subtree atomically, forks included. */
        cleanup_free char *kill_file = xasprintf("%s/cgroup.kill", cg->dir);
        if (access(kill_file, F_OK) == 0)
            return write_file(kill_file, "1", err);
    }
    /* An empty cgroup cannot gain a process on its own (only a member forks into it), so it
     * needs no freeze: on v1 each freezer transition patches kernel text (the freezer's
     * static key), ~2 ms, and a container removed after its processes exited is the usual
     * case. */
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    int r = cgroup_pids(cg, &pids, &n, err);
    if (r < 0 || n == 0)
        return r;
    free(pids);
    pids = NULL;
    n = 0;
    /* Freezing first stops processes from forking new ones between listing and killing. */
    cleanup_error struct kerr *ferr = NULL;
    bool frozen = cgroup_freeze(cg, true, &ferr) == 0;
    r = cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            r = make_error(err, errno, "kill %d", (int)pids[i]);
    if (frozen) {
        int t = cgroup_freeze(cg, false, r < 0 ? NULL : err);
        if (r == 0)
            r = t;
    }
    return r;
}

static int rmdir_retry(const char *dir, struct kerr **err)
{
    /* Processes that were just killed leave the cgroup only once reaped: EBUSY for a moment. */
    for (int i = 0; i < 100; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return make_error(err, errno, "rmdir %s", dir);
}

static int rmdir_tree(const char *dir, int depth, struct kerr **err)
{
    /* Usually a leaf: one rmdir, and the walk for sub-cgroups only when that fails. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : make_error(err, errno, "opendir %s", dir);
    struct dirent *de;
    while (depth < 32 && (de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
        int r = rmdir_tree(sub, depth + 1, err);
        if (r < 0)
            return r;
    }
    return rmdir_retry(dir, err);
}

int cgroup_destroy(struct cgroup *cg, struct kerr **err)
{
    size_t n = cg->v2 ? 1 : cg->n_v1;
    for (size_t i = 0; i < n; i++) {
        int r = rmdir_tree(cg->v2 ? cg->dir : cg->v1[i].dir, 0, err);
        if (r < 0)
            return error_wrap(err, r, "destroy cgroup %s", cg->path);
    }
    return 0;
}
