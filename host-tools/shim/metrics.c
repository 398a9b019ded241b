/* The agent's StatsContainer figures as containerd's cgroup v1 Metrics. The mapping is Kata's
 * Go shim's (statsToMetricsV1): with cgroup figures present, pids, cpu, memory (usage, swap,
 * kernel and an empty kernel_tcp entry) and blkio are always filled in, zero or not; memory's
 * cache/rss/mapped_file come from memory.stat's total_* counters when the cgroup uses
 * hierarchy, else the plain ones, plus pgfault, pgmajfault and total_inactive_file; the
 * guest's interfaces are the network entries. The Metrics message only points into the agent's
 * response (nothing is copied but pointer arrays) and is packed before returning. */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "containerd/cgroups-v1-metrics.pb-c.h"
#include "xalloc.h"

#define METRICS_TYPE_URL "io.containerd.cgroups.v1.Metrics"

typedef Io__Containerd__Cgroups__V1__BlkIOEntry BlkEntry;
typedef Io__Containerd__Cgroups__V1__MemoryEntry MemEntry;

/* Every sub-message and pointer array of one conversion, freed together. */
struct build {
    Io__Containerd__Cgroups__V1__Metrics m;
    Io__Containerd__Cgroups__V1__PidsStat pids;
    Io__Containerd__Cgroups__V1__CPUStat cpu;
    Io__Containerd__Cgroups__V1__CPUUsage cpu_usage;
    Io__Containerd__Cgroups__V1__Throttle throttle;
    Io__Containerd__Cgroups__V1__MemoryStat mem;
    MemEntry mem_usage, mem_swap, mem_kernel, mem_kernel_tcp;
    Io__Containerd__Cgroups__V1__BlkIOStat blkio;
    Io__Containerd__Cgroups__V1__HugetlbStat *huge;
    Io__Containerd__Cgroups__V1__HugetlbStat **huge_p;
    Io__Containerd__Cgroups__V1__NetworkStat *net;
    Io__Containerd__Cgroups__V1__NetworkStat **net_p;
    BlkEntry *blk[8];
    BlkEntry **blk_p[8];
};

static void build_clear(struct build *b)
{
    free(b->huge);
    free(b->huge_p);
    free(b->net);
    free(b->net_p);
    for (size_t i = 0; i < 8; i++) {
        free(b->blk[i]);
        free(b->blk_p[i]);
    }
}

static void memory_entry(MemEntry *dst, const Grpc__MemoryData *src)
{
    io__containerd__cgroups__v1__memory_entry__init(dst);
    if (!src)
        return;
    dst->limit = src->limit;
    dst->usage = src->usage;
    dst->max = src->max_usage;
    dst->failcnt = src->failcnt;
}

static uint64_t stat_value(const Grpc__MemoryStats *ms, const char *key)
{
    for (size_t i = 0; i < ms->n_stats; i++)
        if (ms->stats[i]->key && strcmp(ms->stats[i]->key, key) == 0)
            return ms->stats[i]->value;
    return 0;
}

static void set_memory(struct build *b, const Grpc__MemoryStats *ms)
{
    io__containerd__cgroups__v1__memory_stat__init(&b->mem);
    memory_entry(&b->mem_usage, ms ? ms->usage : NULL);
    memory_entry(&b->mem_swap, ms ? ms->swap_usage : NULL);
    memory_entry(&b->mem_kernel, ms ? ms->kernel_usage : NULL);
    /* The agent reports no kernel TCP figures; upstream sends the entry anyway. */
    memory_entry(&b->mem_kernel_tcp, NULL);
    b->mem.usage = &b->mem_usage;
    b->mem.swap = &b->mem_swap;
    b->mem.kernel = &b->mem_kernel;
    b->mem.kernel_tcp = &b->mem_kernel_tcp;
    if (!ms)
        return;
    bool total = ms->use_hierarchy;
    b->mem.cache = stat_value(ms, total ? "total_cache" : "cache");
    b->mem.rss = stat_value(ms, total ? "total_rss" : "rss");
    b->mem.mapped_file = stat_value(ms, total ? "total_mapped_file" : "mapped_file");
    b->mem.pg_fault = stat_value(ms, "pgfault");
    b->mem.pg_maj_fault = stat_value(ms, "pgmajfault");
    b->mem.total_inactive_file = stat_value(ms, "total_inactive_file");
}

static void set_cpu(struct build *b, const Grpc__CpuStats *cs)
{
    io__containerd__cgroups__v1__cpustat__init(&b->cpu);
    io__containerd__cgroups__v1__cpuusage__init(&b->cpu_usage);
    io__containerd__cgroups__v1__throttle__init(&b->throttle);
    b->cpu.usage = &b->cpu_usage;
    b->cpu.throttling = &b->throttle;
    const Grpc__CpuUsage *u = cs ? cs->cpu_usage : NULL;
    if (u) {
        b->cpu_usage.total = u->total_usage;
        b->cpu_usage.kernel = u->usage_in_kernelmode;
        b->cpu_usage.user = u->usage_in_usermode;
        b->cpu_usage.n_per_cpu = u->n_percpu_usage;
        b->cpu_usage.per_cpu = u->percpu_usage;
    }
    const Grpc__ThrottlingData *t = cs ? cs->throttling_data : NULL;
    if (t) {
        b->throttle.periods = t->periods;
        b->throttle.throttled_periods = t->throttled_periods;
        b->throttle.throttled_time = t->throttled_time;
    }
}

/* One blkio list; the device name stays empty (the agent has none). */
static void blkio_list(struct build *b, size_t slot, size_t n, Grpc__BlkioStatsEntry **src,
                       size_t *ret_n, BlkEntry ***ret)
{
    *ret_n = n;
    *ret = NULL;
    if (n == 0)
        return;
    b->blk[slot] = xcalloc(n, sizeof(BlkEntry));
    b->blk_p[slot] = xcalloc(n, sizeof(BlkEntry *));
    for (size_t i = 0; i < n; i++) {
        BlkEntry *e = &b->blk[slot][i];
        io__containerd__cgroups__v1__blk_ioentry__init(e);
        e->op = src[i]->op;
        e->major = src[i]->major;
        e->minor = src[i]->minor;
        e->value = src[i]->value;
        b->blk_p[slot][i] = e;
    }
    *ret = b->blk_p[slot];
}

static void set_blkio(struct build *b, const Grpc__BlkioStats *s)
{
    Io__Containerd__Cgroups__V1__BlkIOStat *d = &b->blkio;
    io__containerd__cgroups__v1__blk_iostat__init(d);
    if (!s)
        return;
    blkio_list(b, 0, s->n_io_service_bytes_recursive, s->io_service_bytes_recursive,
               &d->n_io_service_bytes_recursive, &d->io_service_bytes_recursive);
    blkio_list(b, 1, s->n_io_serviced_recursive, s->io_serviced_recursive,
               &d->n_io_serviced_recursive, &d->io_serviced_recursive);
    blkio_list(b, 2, s->n_io_queued_recursive, s->io_queued_recursive, &d->n_io_queued_recursive,
               &d->io_queued_recursive);
    blkio_list(b, 3, s->n_io_service_time_recursive, s->io_service_time_recursive,
               &d->n_io_service_time_recursive, &d->io_service_time_recursive);
    blkio_list(b, 4, s->n_io_wait_time_recursive, s->io_wait_time_recursive,
               &d->n_io_wait_time_recursive, &d->io_wait_time_recursive);
    blkio_list(b, 5, s->n_io_merged_recursive, s->io_merged_recursive, &d->n_io_merged_recursive,
               &d->io_merged_recursive);
    blkio_list(b, 6, s->n_io_time_recursive, s->io_time_recursive, &d->n_io_time_recursive,
               &d->io_time_recursive);
    blkio_list(b, 7, s->n_sectors_recursive, s->sectors_recursive, &d->n_sectors_recursive,
               &d->sectors_recursive);
}

/* Hugetlb entries keep the agent's order (its map, keyed by page size, in wire order). */
static void set_hugetlb(struct build *b, const Grpc__CgroupStats *cg)
{
    size_t n = cg->n_hugetlb_stats;
    if (n == 0)
        return;
    b->huge = xcalloc(n, sizeof(*b->huge));
    b->huge_p = xcalloc(n, sizeof(*b->huge_p));
    for (size_t i = 0; i < n; i++) {
        Io__Containerd__Cgroups__V1__HugetlbStat *h = &b->huge[i];
        io__containerd__cgroups__v1__hugetlb_stat__init(h);
        const Grpc__CgroupStats__HugetlbStatsEntry *e = cg->hugetlb_stats[i];
        h->pagesize = e->key;
        if (e->value) {
            h->usage = e->value->usage;
            h->max = e->value->max_usage;
            h->failcnt = e->value->failcnt;
        }
        b->huge_p[i] = h;
    }
    b->m.n_hugetlb = n;
    b->m.hugetlb = b->huge_p;
}

static void set_network(struct build *b, const Grpc__StatsContainerResponse *stats)
{
    size_t n = stats->n_network_stats;
    if (n == 0)
        return;
    b->net = xcalloc(n, sizeof(*b->net));
    b->net_p = xcalloc(n, sizeof(*b->net_p));
    for (size_t i = 0; i < n; i++) {
        Io__Containerd__Cgroups__V1__NetworkStat *d = &b->net[i];
        const Grpc__NetworkStats *s = stats->network_stats[i];
        io__containerd__cgroups__v1__network_stat__init(d);
        d->name = s->name;
        d->rx_bytes = s->rx_bytes;
        d->rx_packets = s->rx_packets;
        d->rx_errors = s->rx_errors;
        d->rx_dropped = s->rx_dropped;
        d->tx_bytes = s->tx_bytes;
        d->tx_packets = s->tx_packets;
        d->tx_errors = s->tx_errors;
        d->tx_dropped = s->tx_dropped;
        b->net_p[i] = d;
    }
    b->m.n_network = n;
    b->m.network = b->net_p;
}

int shim_metrics_any(const Grpc__StatsContainerResponse *stats, Google__Protobuf__Any *ret,
                     struct kerr **err)
{
    if (!stats || !ret)
        return make_error(err, EINVAL, "metrics: no container stats");
    __attribute__((cleanup(build_clear))) struct build b = {0};
    io__containerd__cgroups__v1__metrics__init(&b.m);
    const Grpc__CgroupStats *cg = stats->cgroup_stats;
    if (cg) {
        set_hugetlb(&b, cg);
        io__containerd__cgroups__v1__pids_stat__init(&b.pids);
        if (cg->pids_stats) {
            b.pids.current = cg->pids_stats->current;
            b.pids.limit = cg->pids_stats->limit;
        }
        b.m.pids = &b.pids;
        set_cpu(&b, cg->cpu_stats);
        b.m.cpu = &b.cpu;
        set_memory(&b, cg->memory_stats);
        b.m.memory = &b.mem;
        set_blkio(&b, cg->blkio_stats);
        b.m.blkio = &b.blkio;
    }
    set_network(&b, stats);

    size_t len = io__containerd__cgroups__v1__metrics__get_packed_size(&b.m);
    uint8_t *buf = xmalloc(len ? len : 1);
    io__containerd__cgroups__v1__metrics__pack(&b.m, buf);
    ret->type_url = xstrdup(METRICS_TYPE_URL);
    ret->value.data = buf;
    ret->value.len = len;
    return 0;
}

void shim_metrics_any_clear(Google__Protobuf__Any *any)
{
    if (!any)
        return;
    free(any->type_url);
    free(any->value.data);
    any->type_url = NULL;
    any->value.data = NULL;
    any->value.len = 0;
}
