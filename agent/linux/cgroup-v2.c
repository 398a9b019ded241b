/* cgroup v2 backend: one unified tree; controllers are enabled top-down through
 * cgroup.subtree_control. */
#include "cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

static const char *const wanted_controllers[] = {"cpu",  "cpuset",  "memory",
                                                 "pids", "hugetlb", "io"};

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
            (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
            return true;
    return false;
}

/* Enables the available controllers in every ancestor of the leaf. Failures are left to the
 * later write of a controller file, which names the file that is missing. */
static void enable_controllers(struct cgroup *cg)
{
    cleanup_free char *avail = NULL;
    cleanup_free char *ctl_path = xasprintf("%s/cgroup.controllers", cg->root);
    if (read_file(ctl_path, &avail, NULL) < 0)
        return;
    cleanup_free char *dir = xstrdup(cg->root);
    cleanup_free char *rest = xstrdup(cg->path);
    char *save = NULL;
    for (char *comp = strtok_r(rest, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        for (size_t i = 0; i < sizeof(wanted_controllers) / sizeof(wanted_controllers[0]); i++) {
            if (!has_word(avail, wanted_controllers[i]))
                continue;
            cleanup_free char *sc = xasprintf("%s/cgroup.subtree_control", dir);
            cleanup_free char *v = xasprintf("+%s", wanted_controllers[i]);
            (void)write_file(sc, v, NULL);
        }
        char *next = xasprintf("%s/%s", dir, comp);
        free(dir);
        dir = next;
    }
}

int cgroup_v2_create(struct cgroup *cg, struct kerr **err)
{
    cg->dir = xasprintf("%s/%s", cg->root, cg->path);
    int r = mkdir_p(cg->dir, 0755, err);
    if (r < 0)
        return r;
    enable_controllers(cg);
    return 0;
}

static int put(int dfd, const char *file, const char *value, struct kerr **err)
{
    return write_file_at(dfd, file, value, err);
}

static int put_i64(int dfd, const char *file, int64_t v, struct kerr **err)
{
    char buf[32];
    if (v < 0)
        snprintf(buf, sizeof(buf), "max");
    else
        snprintf(buf, sizeof(buf), "%" PRId64, v);
    return put(dfd, file, buf, err);
}

static int apply_cpu(int dfd, const Grpc__LinuxCPU *cpu, struct kerr **err)
{
    char buf[64];
    int r = 0;
    if (cpu->shares) {
        snprintf(buf, sizeof(buf), "%" PRIu64, cgroup_shares_to_weight(cpu->shares));
        r = put(dfd, "cpu.weight", buf, err);
    }
    if (r == 0 && (cpu->quota || cpu->period)) {
        cgroup_cpu_max(cpu->quota, cpu->period, buf, sizeof(buf));
        r = put(dfd, "cpu.max", buf, err);
    }
    if (r == 0 && (cpu->realtimeruntime || cpu->realtimeperiod))
        r = make_status(err, RPC_INVALID_ARGUMENT, 0,
                        "realtime cpu limits are not supported with cgroup v2");
    if (r == 0 && !str_empty(cpu->cpus))
        r = put(dfd, "cpuset.cpus", cpu->cpus, err);
    if (r == 0 && !str_empty(cpu->mems))
        r = put(dfd, "cpuset.mems", cpu->mems, err);
    return r;
}

static int apply_memory(int dfd, const Grpc__LinuxMemory *mem, struct kerr **err)
{
    char buf[32];
    int r = cgroup_swap_v2(mem->limit, mem->swap, buf, sizeof(buf), err);
    if (r < 0)
        return r;
    bool swap = r == 1;
    r = 0;
    if (mem->limit)
        r = put_i64(dfd, "memory.max", mem->limit, err);
    /* Without swap accounting (no swap in the kernel) the file does not exist and there is
     * nothing to limit: runtimes send a swap value by default (docker: twice the memory). */
    if (r == 0 && swap && faccessat(dfd, "memory.swap.max", F_OK, 0) == 0)
        r = put(dfd, "memory.swap.max", buf, err);
    if (r == 0 && mem->reservation)
        r = put_i64(dfd, "memory.low", mem->reservation, err);
    /* Swappiness, kernel memory and the OOM-killer switch have no v2 files. */
    return r;
}

/* blkio weights [10, 1000] to io.weight [1, 10000], linearly (io.bfq.weight takes the v1
 * range as is). */
static uint64_t blkio_weight_to_io(uint64_t w)
{
    return w <= 10 ? 1 : w >= 1000 ? 10000 : 1 + ((w - 10) * 9999) / 990;
}

static int io_max(int dfd, const char *key, Grpc__LinuxThrottleDevice **d, size_t n,
                  struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d[i]->major, d[i]->minor,
                 key, d[i]->rate);
        int r = put(dfd, "io.max", buf, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_io(int dfd, const Grpc__LinuxBlockIO *b, struct kerr **err)
{
    bool bfq = faccessat(dfd, "io.bfq.weight", F_OK, 0) == 0;
    const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
    char buf[96];
    int r = 0;
    if (b->weight) {
        snprintf(buf, sizeof(buf), "default %" PRIu64,
                 bfq ? (uint64_t)b->weight : blkio_weight_to_io(b->weight));
        r = put(dfd, wfile, buf, err);
    }
    for (size_t i = 0; r == 0 && i < b->n_weightdevice; i++) {
        const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, w->major, w->minor,
                 bfq ? (uint64_t)w->weight : blkio_weight_to_io(w->weight));
        r = put(dfd, wfile, buf, err);
    }
    if (r == 0)
        r = io_max(dfd, "rbps", b->throttlereadbpsdevice, b->n_throttlereadbpsdevice, err);
    if (r == 0)
        r = io_max(dfd, "wbps", b->throttlewritebpsdevice, b->n_throttlewritebpsdevice, err);
    if (r == 0)
        r = io_max(dfd, "riops", b->throttlereadiopsdevice, b->n_throttlereadiopsdevice, err);
    if (r == 0)
        r = io_max(dfd, "wiops", b->throttlewriteiopsdevice, b->n_throttlewriteiopsdevice, err);
    return r;
}

int cgroup_v2_apply(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err)
{
    cleanup_close int dfd = cgroup_open_dir(cg->dir, err);
    if (dfd < 0)
        return dfd;
    int r = 0;
    if (res->cpu)
        r = apply_cpu(dfd, res->cpu, err);
    if (r == 0 && res->memory)
        r = apply_memory(dfd, res->memory, err);
    if (r == 0 && res->pids && res->pids->limit)
        r = put_i64(dfd, "pids.max", res->pids->limit > 0 ? res->pids->limit : -1, err);
    if (r == 0 && res->blockio)
        r = apply_io(dfd, res->blockio, err);
    for (size_t i = 0; r == 0 && i < res->n_hugepagelimits; i++) {
        const Grpc__LinuxHugepageLimit *h = res->hugepagelimits[i];
        r = cgroup_check_pagesize(h->pagesize, err);
        if (r < 0)
            break;
        cleanup_free char *file = xasprintf("hugetlb.%s.max", h->pagesize);
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, h->limit);
        r = put(dfd, file, buf, err);
    }
    return r;
}

int cgroup_v2_freeze(struct cgroup *cg, bool frozen, struct kerr **err)
{
    cleanup_close int dfd = cgroup_open_dir(cg->dir, err);
    if (dfd < 0)
        return dfd;
    int r = put(dfd, "cgroup.freeze", frozen ? "1" : "0", err);
    if (r < 0)
        return r;
    const char *want = frozen ? "frozen 1" : "frozen 0";
    for (int i = 0; i < 500; i++) {
        cleanup_free char *events = NULL;
        r = read_file_at(dfd, "cgroup.events", &events, err);
        if (r < 0)
            return r;
        if (strstr(events, want))
            return 0;
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    return make_error(err, ETIMEDOUT, "cgroup %s did not reach '%s'", cg->path, want);
}
