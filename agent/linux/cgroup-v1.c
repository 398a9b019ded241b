/* cgroup v1 backend: one hierarchy per controller, <root>/<controller>/<path>. */
#include "cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static const char *const controllers[] = {"cpu",      "cpuacct",    "cpuset",  "memory", "pids",
                                          "freezer",  "hugetlb",    "devices", "blkio",  "net_cls",
                                          "net_prio", "perf_event", "rdma",    "systemd"};

/* A new cpuset cgroup starts with empty cpus/mems and refuses tasks until they are set, so
 * each level created inherits its parent's values. */
static int cpuset_init_levels(const char *hier, const char *path, struct kerr **err)
{
    cleanup_free char *dir = xstrdup(hier);
    cleanup_free char *rest = xstrdup(path);
    char *save = NULL;
    for (char *comp = strtok_r(rest, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        char *child = xasprintf("%s/%s", dir, comp);
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < 2; i++) {
            cleanup_free char *cur = NULL, *parent = NULL;
            cleanup_free char *cp = xasprintf("%s/%s", child, files[i]);
            cleanup_free char *pp = xasprintf("%s/%s", dir, files[i]);
            if (read_file(cp, &cur, NULL) < 0 || (cur[0] != '\n' && cur[0] != '\0'))
                continue;
            int r = read_file(pp, &parent, err);
            if (r == 0)
                r = write_file(cp, parent, err);
            if (r < 0) {
                free(child);
                return r;
            }
        }
        free(dir);
        dir = child;
    }
    return 0;
}

int cgroup_v1_create(struct cgroup *cg, struct kerr **err)
{
    for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
        cleanup_free char *hier = xasprintf("%s/%s", cg->root, controllers[i]);
        struct stat st;
        if (stat(hier, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        cleanup_free char *dir = xasprintf("%s/%s", hier, cg->path);
        int r = mkdir_p(dir, 0755, err);
        if (r == 0 && strcmp(controllers[i], "cpuset") == 0)
            r = cpuset_init_levels(hier, cg->path, err);
        if (r < 0)
            return r;
        cg->v1 = xrealloc(cg->v1, (cg->n_v1 + 1) * sizeof(*cg->v1));
        cg->v1[cg->n_v1].name = xstrdup(controllers[i]);
        cg->v1[cg->n_v1].dir = steal_ptr(dir);
        cg->n_v1++;
    }
    if (cg->n_v1 == 0)
        return make_error(err, ENOENT, "no cgroup v1 controllers under %s", cg->root);
    return 0;
}

static int put_at(struct cgroup *cg, const char *ctl, const char *file, const char *value,
                  struct kerr **err)
{
    const char *dir = cgroup_dir(cg, ctl);
    if (dir == NULL)
        return make_error(err, ENOENT, "cgroup controller %s is not mounted", ctl);
    cleanup_free char *p = xasprintf("%s/%s", dir, file);
    return write_file(p, value, err);
}

static int put_num(struct cgroup *cg, const char *ctl, const char *file, int64_t v,
                   struct kerr **err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return put_at(cg, ctl, file, buf, err);
}

static int apply_cpu(struct cgroup *cg, const Grpc__LinuxCPU *cpu, struct kerr **err)
{
    int r = 0;
    if (cpu->shares)
        r = put_num(cg, "cpu", "cpu.shares", (int64_t)cpu->shares, err);
    /* The period goes first: the kernel checks quota against the current period. */
    if (r == 0 && cpu->period)
        r = put_num(cg, "cpu", "cpu.cfs_period_us", (int64_t)cpu->period, err);
    if (r == 0 && cpu->quota)
        r = put_num(cg, "cpu", "cpu.cfs_quota_us", cpu->quota > 0 ? cpu->quota : -1, err);
    if (r == 0 && cpu->realtimeperiod)
        r = put_num(cg, "cpu", "cpu.rt_period_us", (int64_t)cpu->realtimeperiod, err);
    if (r == 0 && cpu->realtimeruntime)
        r = put_num(cg, "cpu", "cpu.rt_runtime_us", cpu->realtimeruntime, err);
    if (r == 0 && !str_empty(cpu->cpus))
        r = put_at(cg, "cpuset", "cpuset.cpus", cpu->cpus, err);
    if (r == 0 && !str_empty(cpu->mems))
        r = put_at(cg, "cpuset", "cpuset.mems", cpu->mems, err);
    return r;
}

static bool has_memsw(struct cgroup *cg)
{
    const char *dir = cgroup_dir(cg, "memory");
    cleanup_free char *p = dir ? xasprintf("%s/memory.memsw.limit_in_bytes", dir) : NULL;
    return p && access(p, F_OK) == 0;
}

static int apply_memory(struct cgroup *cg, const Grpc__LinuxMemory *mem, struct kerr **err)
{
    int r = 0;
    /* Without swap accounting there is no memsw file and no swap to limit (runtimes send a
     * swap value by default). */
    int64_t swap = has_memsw(cg) ? mem->swap : 0;
    if (mem->limit && swap) {
        /* memsw must stay >= limit at every step: which one goes first depends on whether
         * the limits grow or shrink, so try one order and fall back to the other. */
        cleanup_error struct kerr *first = NULL;
        if (put_num(cg, "memory", "memory.memsw.limit_in_bytes", swap, &first) < 0) {
            r = put_num(cg, "memory", "memory.limit_in_bytes", mem->limit, err);
            if (r == 0)
                r = put_num(cg, "memory", "memory.memsw.limit_in_bytes", swap, err);
        } else {
            r = put_num(cg, "memory", "memory.limit_in_bytes", mem->limit, err);
        }
    } else if (mem->limit) {
        r = put_num(cg, "memory", "memory.limit_in_bytes", mem->limit, err);
    } else if (swap) {
        r = put_num(cg, "memory", "memory.memsw.limit_in_bytes", swap, err);
    }
    if (r == 0 && mem->reservation)
        r = put_num(cg, "memory", "memory.soft_limit_in_bytes", mem->reservation, err);
    if (r == 0 && mem->swappiness) {
        if (mem->swappiness > 100)
            return make_error(err, EINVAL, "invalid swappiness %" PRIu64, mem->swappiness);
        r = put_num(cg, "memory", "memory.swappiness", (int64_t)mem->swappiness, err);
    }
    if (r == 0 && mem->disableoomkiller)
        r = put_at(cg, "memory", "memory.oom_control", "1", err);
    return r;
}

static int put_devices(struct cgroup *cg, const char *file, Grpc__LinuxThrottleDevice **d, size_t n,
                       struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d[i]->major, d[i]->minor,
                 d[i]->rate);
        int r = put_at(cg, "blkio", file, buf, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_blkio(struct cgroup *cg, const Grpc__LinuxBlockIO *b, struct kerr **err)
{
    int r = 0;
    if (b->weight)
        r = put_num(cg, "blkio", "blkio.weight", b->weight, err);
    if (r == 0 && b->leafweight)
        r = put_num(cg, "blkio", "blkio.leaf_weight", b->leafweight, err);
    for (size_t i = 0; r == 0 && i < b->n_weightdevice; i++) {
        const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
        char buf[64];
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u", w->major, w->minor, w->weight);
        r = put_at(cg, "blkio", "blkio.weight_device", buf, err);
    }
    if (r == 0)
        r = put_devices(cg, "blkio.throttle.read_bps_device", b->throttlereadbpsdevice,
                        b->n_throttlereadbpsdevice, err);
    if (r == 0)
        r = put_devices(cg, "blkio.throttle.write_bps_device", b->throttlewritebpsdevice,
                        b->n_throttlewritebpsdevice, err);
    if (r == 0)
        r = put_devices(cg, "blkio.throttle.read_iops_device", b->throttlereadiopsdevice,
                        b->n_throttlereadiopsdevice, err);
    if (r == 0)
        r = put_devices(cg, "blkio.throttle.write_iops_device", b->throttlewriteiopsdevice,
                        b->n_throttlewriteiopsdevice, err);
    return r;
}

int cgroup_v1_apply(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err)
{
    int r = 0;
    if (res->blockio)
        r = apply_blkio(cg, res->blockio, err);
    if (r == 0 && res->cpu)
        r = apply_cpu(cg, res->cpu, err);
    if (r == 0 && res->memory)
        r = apply_memory(cg, res->memory, err);
    if (r == 0 && res->pids && res->pids->limit) {
        if (res->pids->limit > 0)
            r = put_num(cg, "pids", "pids.max", res->pids->limit, err);
        else
            r = put_at(cg, "pids", "pids.max", "max", err);
    }
    for (size_t i = 0; r == 0 && i < res->n_hugepagelimits; i++) {
        const Grpc__LinuxHugepageLimit *h = res->hugepagelimits[i];
        r = cgroup_check_pagesize(h->pagesize, err);
        if (r < 0)
            break;
        cleanup_free char *file = xasprintf("hugetlb.%s.limit_in_bytes", h->pagesize);
        r = put_num(cg, "hugetlb", file, (int64_t)h->limit, err);
    }
    return r;
}

int cgroup_v1_freeze(struct cgroup *cg, bool frozen, struct kerr **err)
{
    const char *dir = cgroup_dir(cg, "freezer");
    if (dir == NULL)
        return make_error(err, ENOENT, "cgroup controller freezer is not mounted");
    cleanup_free char *state = xasprintf("%s/freezer.state", dir);
    const char *want = frozen ? "FROZEN" : "THAWED";
    int r = write_file(state, want, err);
    if (r < 0)
        return r;
    for (int i = 0; i < 500; i++) {
        cleanup_free char *cur = NULL;
        r = read_file(state, &cur, err);
        if (r < 0)
            return r;
        if (strncmp(cur, want, strlen(want)) == 0)
            return 0;
        /* FREEZING can stick when a task is in an uninterruptible sleep; asking again
         * retries the freeze. */
        if (frozen && i % 50 == 49)
            (void)write_file(state, want, NULL);
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    return make_error(err, ETIMEDOUT, "cgroup %s did not reach %s", cg->path, want);
}
