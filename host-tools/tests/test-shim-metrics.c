/* The agent's StatsContainerResponse as containerd's cgroup v1 Metrics: every field of a filled
 * response, checked one by one after a round trip through the packed Any; the memory.stat
 * choices with and without hierarchy; responses with parts missing; bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/cgroups-v1-metrics.pb-c.h"
#include "metrics.h"
#include "shim-metrics-sample.h"
#include "tests/tap.h"

typedef Io__Containerd__Cgroups__V1__Metrics Metrics;

static Metrics *convert(const Grpc__StatsContainerResponse *resp, int *ret)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    struct kerr *err = NULL;
    *ret = shim_metrics_any(resp, &any, &err);
    if (*ret < 0) {
        printf("# shim_metrics_any: %s\n", err ? err->msg : "?");
        error_free(err);
        return NULL;
    }
    tap_is_str(any.type_url, "io.containerd.cgroups.v1.Metrics", "type URL");
    Metrics *m = io__containerd__cgroups__v1__metrics__unpack(NULL, any.value.len, any.value.data);
    tap_ok(m != NULL, "the Any's value decodes as Metrics");
    shim_metrics_any_clear(&any);
    tap_ok(any.type_url == NULL && any.value.data == NULL && any.value.len == 0,
           "shim_metrics_any_clear empties the Any");
    return m;
}

#define EQ(got, want, what)                                                                        \
    tap_ok((got) == (want), "%s = %llu (want %llu)", what, (unsigned long long)(got),              \
           (unsigned long long)(want))

static void check_memory_entry(const Io__Containerd__Cgroups__V1__MemoryEntry *e,
                               const Grpc__MemoryData *want, const char *name)
{
    if (!tap_ok(e != NULL, "memory.%s present", name))
        return;
    char what[64];
    snprintf(what, sizeof(what), "memory.%s.limit", name);
    EQ(e->limit, want ? want->limit : 0, what);
    snprintf(what, sizeof(what), "memory.%s.usage", name);
    EQ(e->usage, want ? want->usage : 0, what);
    snprintf(what, sizeof(what), "memory.%s.max (agent max_usage)", name);
    EQ(e->max, want ? want->max_usage : 0, what);
    snprintf(what, sizeof(what), "memory.%s.failcnt", name);
    EQ(e->failcnt, want ? want->failcnt : 0, what);
}

static void check_blkio_list(size_t n, Io__Containerd__Cgroups__V1__BlkIOEntry **got, size_t want_n,
                             Grpc__BlkioStatsEntry **want, const char *name)
{
    if (!tap_ok(n == want_n, "blkio.%s has %zu entries (got %zu)", name, want_n, n))
        return;
    for (size_t i = 0; i < n; i++) {
        tap_ok(got[i]->major == want[i]->major && got[i]->minor == want[i]->minor &&
                   got[i]->value == want[i]->value && strcmp(got[i]->op, want[i]->op) == 0 &&
                   strcmp(got[i]->device, "") == 0,
               "blkio.%s[%zu] = %s %llu:%llu %llu, no device name", name, i, got[i]->op,
               (unsigned long long)got[i]->major, (unsigned long long)got[i]->minor,
               (unsigned long long)got[i]->value);
    }
}

static void test_full(void)
{
    struct metrics_sample s;
    metrics_sample_fill(&s, true);
    const Grpc__CgroupStats *cg = &s.cgroup;
    int r;
    Metrics *m = convert(&s.resp, &r);
    if (!m)
        return;

    /* hugetlb: one entry per page size, in the agent's order */
    if (tap_ok(m->n_hugetlb == 2, "two hugetlb entries")) {
        for (size_t i = 0; i < 2; i++) {
            const Grpc__CgroupStats__HugetlbStatsEntry *w = cg->hugetlb_stats[i];
            tap_is_str(m->hugetlb[i]->pagesize, w->key, "hugetlb[%zu].pagesize", i);
            EQ(m->hugetlb[i]->usage, w->value->usage, "hugetlb.usage");
            EQ(m->hugetlb[i]->max, w->value->max_usage, "hugetlb.max (agent max_usage)");
            EQ(m->hugetlb[i]->failcnt, w->value->failcnt, "hugetlb.failcnt");
        }
    }

    if (tap_ok(m->pids != NULL, "pids present")) {
        EQ(m->pids->current, s.pids.current, "pids.current");
        EQ(m->pids->limit, s.pids.limit, "pids.limit");
    }

    if (tap_ok(m->cpu && m->cpu->usage && m->cpu->throttling, "cpu usage and throttling present")) {
        EQ(m->cpu->usage->total, s.cpu_usage.total_usage, "cpu.usage.total");
        EQ(m->cpu->usage->kernel, s.cpu_usage.usage_in_kernelmode,
           "cpu.usage.kernel (usage_in_kernelmode)");
        EQ(m->cpu->usage->user, s.cpu_usage.usage_in_usermode,
           "cpu.usage.user (usage_in_usermode)");
        tap_ok(m->cpu->usage->n_per_cpu == s.cpu_usage.n_percpu_usage &&
                   memcmp(m->cpu->usage->per_cpu, s.cpu_usage.percpu_usage,
                          s.cpu_usage.n_percpu_usage * sizeof(uint64_t)) == 0,
               "cpu.usage.per_cpu = the agent's percpu_usage (%zu CPUs)", m->cpu->usage->n_per_cpu);
        EQ(m->cpu->throttling->periods, s.throttle.periods, "cpu.throttling.periods");
        EQ(m->cpu->throttling->throttled_periods, s.throttle.throttled_periods,
           "cpu.throttling.throttled_periods");
        EQ(m->cpu->throttling->throttled_time, s.throttle.throttled_time,
           "cpu.throttling.throttled_time");
    }

    const Io__Containerd__Cgroups__V1__MemoryStat *mem = m->memory;
    if (tap_ok(mem != NULL, "memory present")) {
        /* use_hierarchy: the total_* counters, not the plain ones */
        EQ(mem->cache, SAMPLE_TOTAL_CACHE, "memory.cache from total_cache");
        EQ(mem->rss, SAMPLE_TOTAL_RSS, "memory.rss from total_rss");
        EQ(mem->mapped_file, SAMPLE_TOTAL_MAPPED_FILE, "memory.mapped_file from total_mapped_file");
        EQ(mem->pg_fault, SAMPLE_PGFAULT, "memory.pg_fault from pgfault");
        EQ(mem->pg_maj_fault, SAMPLE_PGMAJFAULT, "memory.pg_maj_fault from pgmajfault");
        EQ(mem->total_inactive_file, SAMPLE_TOTAL_INACTIVE_FILE,
           "memory.total_inactive_file from total_inactive_file");
        /* what Kata's shim leaves out stays zero, even though memory.stat has it */
        tap_ok(mem->dirty == 0 && mem->writeback == 0 && mem->total_rss == 0 &&
                   mem->total_cache == 0 && mem->active_anon == 0 && mem->unevictable == 0,
               "memory.stat counters Kata's shim does not map stay zero");
        check_memory_entry(mem->usage, &s.mem_usage, "usage");
        check_memory_entry(mem->swap, &s.mem_swap, "swap");
        check_memory_entry(mem->kernel, &s.mem_kernel, "kernel");
        check_memory_entry(mem->kernel_tcp, NULL, "kernel_tcp");
    }

    if (tap_ok(m->blkio != NULL, "blkio present")) {
        const Grpc__BlkioStats *b = &s.blkio;
        const Io__Containerd__Cgroups__V1__BlkIOStat *g = m->blkio;
        check_blkio_list(g->n_io_service_bytes_recursive, g->io_service_bytes_recursive,
                         b->n_io_service_bytes_recursive, b->io_service_bytes_recursive,
                         "io_service_bytes_recursive");
        check_blkio_list(g->n_io_serviced_recursive, g->io_serviced_recursive,
                         b->n_io_serviced_recursive, b->io_serviced_recursive,
                         "io_serviced_recursive");
        check_blkio_list(g->n_io_queued_recursive, g->io_queued_recursive, b->n_io_queued_recursive,
                         b->io_queued_recursive, "io_queued_recursive");
        check_blkio_list(g->n_io_service_time_recursive, g->io_service_time_recursive,
                         b->n_io_service_time_recursive, b->io_service_time_recursive,
                         "io_service_time_recursive");
        check_blkio_list(g->n_io_wait_time_recursive, g->io_wait_time_recursive,
                         b->n_io_wait_time_recursive, b->io_wait_time_recursive,
                         "io_wait_time_recursive");
        check_blkio_list(g->n_io_merged_recursive, g->io_merged_recursive, b->n_io_merged_recursive,
                         b->io_merged_recursive, "io_merged_recursive");
        check_blkio_list(g->n_io_time_recursive, g->io_time_recursive, b->n_io_time_recursive,
                         b->io_time_recursive, "io_time_recursive");
        check_blkio_list(g->n_sectors_recursive, g->sectors_recursive, b->n_sectors_recursive,
                         b->sectors_recursive, "sectors_recursive");
    }

    if (tap_ok(m->n_network == 2, "two network entries")) {
        for (size_t i = 0; i < 2; i++) {
            const Io__Containerd__Cgroups__V1__NetworkStat *g = m->network[i];
            const Grpc__NetworkStats *w = s.resp.network_stats[i];
            tap_is_str(g->name, w->name, "network[%zu].name", i);
            EQ(g->rx_bytes, w->rx_bytes, "network.rx_bytes");
            EQ(g->rx_packets, w->rx_packets, "network.rx_packets");
            EQ(g->rx_errors, w->rx_errors, "network.rx_errors");
            EQ(g->rx_dropped, w->rx_dropped, "network.rx_dropped");
            EQ(g->tx_bytes, w->tx_bytes, "network.tx_bytes");
            EQ(g->tx_packets, w->tx_packets, "network.tx_packets");
            EQ(g->tx_errors, w->tx_errors, "network.tx_errors");
            EQ(g->tx_dropped, w->tx_dropped, "network.tx_dropped");
        }
    }
    tap_ok(m->rdma == NULL && m->cgroup_stats == NULL && m->memory_oom_control == NULL,
           "rdma, cgroup_stats and memory_oom_control are absent (the agent has none)");
    io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
}

static void test_no_hierarchy(void)
{
    struct metrics_sample s;
    metrics_sample_fill(&s, false);
    int r;
    Metrics *m = convert(&s.resp, &r);
    if (!m)
        return;
    if (tap_ok(m->memory != NULL, "no hierarchy: memory present")) {
        EQ(m->memory->cache, SAMPLE_CACHE, "no hierarchy: memory.cache from cache");
        EQ(m->memory->rss, SAMPLE_RSS, "no hierarchy: memory.rss from rss");
        EQ(m->memory->mapped_file, SAMPLE_MAPPED_FILE,
           "no hierarchy: memory.mapped_file from mapped_file");
        EQ(m->memory->total_inactive_file, SAMPLE_TOTAL_INACTIVE_FILE,
           "no hierarchy: total_inactive_file still mapped");
    }
    io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
}

/* The agent may leave parts out; upstream still sends every cgroup section, zeroed. */
static void test_partial(void)
{
    Grpc__CgroupStats cg = GRPC__CGROUP_STATS__INIT;
    Grpc__StatsContainerResponse resp = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    resp.cgroup_stats = &cg;
    int r;
    Metrics *m = convert(&resp, &r);
    if (m) {
        tap_ok(m->pids && m->cpu && m->cpu->usage && m->cpu->throttling && m->memory &&
                   m->memory->usage && m->memory->swap && m->memory->kernel &&
                   m->memory->kernel_tcp && m->blkio,
               "empty cgroup stats: pids, cpu, memory and blkio sections still present");
        tap_ok(m->cpu && m->cpu->usage && m->cpu->usage->total == 0 && m->memory &&
                   m->memory->usage && m->memory->usage->usage == 0 && m->n_hugetlb == 0 &&
                   m->n_network == 0,
               "empty cgroup stats: every figure zero, no hugetlb, no network");
        io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
    }

    /* Network only: no cgroup sections at all, as Kata's shim does without cgroup stats. */
    Grpc__NetworkStats n = GRPC__NETWORK_STATS__INIT;
    n.name = "eth0";
    n.rx_bytes = 77;
    Grpc__NetworkStats *np[] = {&n};
    Grpc__StatsContainerResponse only_net = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    only_net.n_network_stats = 1;
    only_net.network_stats = np;
    m = convert(&only_net, &r);
    if (m) {
        tap_ok(!m->pids && !m->cpu && !m->memory && !m->blkio && m->n_hugetlb == 0,
               "no cgroup stats: no cgroup sections");
        tap_ok(m->n_network == 1 && strcmp(m->network[0]->name, "eth0") == 0 &&
                   m->network[0]->rx_bytes == 77,
               "no cgroup stats: the network entry is still there");
        io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
    }

    Grpc__StatsContainerResponse empty = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    struct kerr *err = NULL;
    r = shim_metrics_any(&empty, &any, &err);
    tap_ok(r == 0 && any.value.len == 0, "an empty response packs to an empty Metrics");
    shim_metrics_any_clear(&any);
    error_free(err);
}

static void test_bad_input(void)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    const char *before = any.type_url;
    struct kerr *err = NULL;
    int r = shim_metrics_any(NULL, &any, &err);
    tap_ok(r == -EINVAL && err && err->msg && strstr(err->msg, "metrics"),
           "NULL stats: -EINVAL with a message (%s)", err ? err->msg : "none");
    tap_ok(any.type_url == before && any.value.data == NULL, "NULL stats: the Any is untouched");
    error_free(err);
    shim_metrics_any_clear(NULL);
    tap_ok(true, "shim_metrics_any_clear(NULL) is harmless");
}

int main(void)
{
    test_full();
    test_no_hierarchy();
    test_partial();
    test_bad_input();
    return tap_done();
}
