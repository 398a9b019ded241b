/* A StatsContainerResponse with every field the agent reports set to its own distinct value,
 * shared by test-shim-metrics (field by field) and shim-events-tool's `metrics` command (whose
 * output the Go cross-check decodes with containerd's types). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "agent.pb-c.h"

/* memory.stat counters (raw, as the agent passes them on) */
#define SAMPLE_CACHE 5001
#define SAMPLE_RSS 5002
#define SAMPLE_MAPPED_FILE 5003
#define SAMPLE_TOTAL_CACHE 5011
#define SAMPLE_TOTAL_RSS 5012
#define SAMPLE_TOTAL_MAPPED_FILE 5013
#define SAMPLE_PGFAULT 5021
#define SAMPLE_PGMAJFAULT 5022
#define SAMPLE_TOTAL_INACTIVE_FILE 5031
#define SAMPLE_DIRTY 5041

struct metrics_sample {
    Grpc__StatsContainerResponse resp;
    Grpc__CgroupStats cgroup;
    Grpc__CpuStats cpu;
    Grpc__CpuUsage cpu_usage;
    uint64_t percpu[3];
    Grpc__ThrottlingData throttle;
    Grpc__MemoryStats mem;
    Grpc__MemoryData mem_usage, mem_swap, mem_kernel;
    Grpc__MemoryStats__StatsEntry stat[10];
    Grpc__MemoryStats__StatsEntry *stat_p[10];
    Grpc__PidsStats pids;
    Grpc__BlkioStats blkio;
    Grpc__BlkioStatsEntry blk[8][2];
    Grpc__BlkioStatsEntry *blk_p[8][2];
    Grpc__HugetlbStats huge[2];
    Grpc__CgroupStats__HugetlbStatsEntry huge_e[2];
    Grpc__CgroupStats__HugetlbStatsEntry *huge_p[2];
    Grpc__NetworkStats net[2];
    Grpc__NetworkStats *net_p[2];
};

static inline void sample_memory_data(Grpc__MemoryData *d, uint64_t base)
{
    grpc__memory_data__init(d);
    d->usage = base + 1;
    d->max_usage = base + 2;
    d->failcnt = base + 3;
    d->limit = base + 4;
}

static inline void sample_blkio(struct metrics_sample *s)
{
    static const char *const ops[2] = {"Read", "Write"};
    Grpc__BlkioStats *b = &s->blkio;
    grpc__blkio_stats__init(b);
    size_t *counts[8] = {&b->n_io_service_bytes_recursive, &b->n_io_serviced_recursive,
                         &b->n_io_queued_recursive,        &b->n_io_service_time_recursive,
                         &b->n_io_wait_time_recursive,     &b->n_io_merged_recursive,
                         &b->n_io_time_recursive,          &b->n_sectors_recursive};
    Grpc__BlkioStatsEntry ***lists[8] = {
        &b->io_service_bytes_recursive, &b->io_serviced_recursive,  &b->io_queued_recursive,
        &b->io_service_time_recursive,  &b->io_wait_time_recursive, &b->io_merged_recursive,
        &b->io_time_recursive,          &b->sectors_recursive};
    for (int l = 0; l < 8; l++) {
        for (int i = 0; i < 2; i++) {
            Grpc__BlkioStatsEntry *e = &s->blk[l][i];
            grpc__blkio_stats_entry__init(e);
            e->major = 250 + (uint64_t)l;
            e->minor = (uint64_t)i;
            e->op = (char *)ops[i];
            e->value = 7000 + 10 * (uint64_t)l + (uint64_t)i;
            s->blk_p[l][i] = e;
        }
        *counts[l] = 2;
        *lists[l] = s->blk_p[l];
    }
}

static inline void metrics_sample_fill(struct metrics_sample *s, bool use_hierarchy)
{
    grpc__stats_container_response__init(&s->resp);
    grpc__cgroup_stats__init(&s->cgroup);
    s->resp.cgroup_stats = &s->cgroup;

    grpc__cpu_stats__init(&s->cpu);
    grpc__cpu_usage__init(&s->cpu_usage);
    grpc__throttling_data__init(&s->throttle);
    s->cpu_usage.total_usage = 1001;
    s->cpu_usage.usage_in_kernelmode = 1002;
    s->cpu_usage.usage_in_usermode = 1003;
    s->percpu[0] = 1011;
    s->percpu[1] = 1012;
    s->percpu[2] = 1013;
    s->cpu_usage.n_percpu_usage = 3;
    s->cpu_usage.percpu_usage = s->percpu;
    s->throttle.periods = 1021;
    s->throttle.throttled_periods = 1022;
    s->throttle.throttled_time = 1023;
    s->cpu.cpu_usage = &s->cpu_usage;
    s->cpu.throttling_data = &s->throttle;
    s->cgroup.cpu_stats = &s->cpu;

    grpc__memory_stats__init(&s->mem);
    s->mem.cache = 2000; /* the agent's own field: upstream takes cache from memory.stat */
    sample_memory_data(&s->mem_usage, 2010);
    sample_memory_data(&s->mem_swap, 2020);
    sample_memory_data(&s->mem_kernel, 2030);
    s->mem.usage = &s->mem_usage;
    s->mem.swap_usage = &s->mem_swap;
    s->mem.kernel_usage = &s->mem_kernel;
    s->mem.use_hierarchy = use_hierarchy;
    static const struct {
        const char *key;
        uint64_t value;
    } stats[10] = {
        {"cache", SAMPLE_CACHE},
        {"rss", SAMPLE_RSS},
        {"mapped_file", SAMPLE_MAPPED_FILE},
        {"total_cache", SAMPLE_TOTAL_CACHE},
        {"total_rss", SAMPLE_TOTAL_RSS},
        {"total_mapped_file", SAMPLE_TOTAL_MAPPED_FILE},
        {"pgfault", SAMPLE_PGFAULT},
        {"pgmajfault", SAMPLE_PGMAJFAULT},
        {"total_inactive_file", SAMPLE_TOTAL_INACTIVE_FILE},
        {"dirty", SAMPLE_DIRTY},
    };
    for (int i = 0; i < 10; i++) {
        grpc__memory_stats__stats_entry__init(&s->stat[i]);
        s->stat[i].key = (char *)stats[i].key;
        s->stat[i].value = stats[i].value;
        s->stat_p[i] = &s->stat[i];
    }
    s->mem.n_stats = 10;
    s->mem.stats = s->stat_p;
    s->cgroup.memory_stats = &s->mem;

    grpc__pids_stats__init(&s->pids);
    s->pids.current = 3001;
    s->pids.limit = 3002;
    s->cgroup.pids_stats = &s->pids;

    sample_blkio(s);
    s->cgroup.blkio_stats = &s->blkio;

    static const char *const sizes[2] = {"2MB", "1GB"};
    for (int i = 0; i < 2; i++) {
        grpc__hugetlb_stats__init(&s->huge[i]);
        s->huge[i].usage = 4001 + 10 * (uint64_t)i;
        s->huge[i].max_usage = 4002 + 10 * (uint64_t)i;
        s->huge[i].failcnt = 4003 + 10 * (uint64_t)i;
        grpc__cgroup_stats__hugetlb_stats_entry__init(&s->huge_e[i]);
        s->huge_e[i].key = (char *)sizes[i];
        s->huge_e[i].value = &s->huge[i];
        s->huge_p[i] = &s->huge_e[i];
    }
    s->cgroup.n_hugetlb_stats = 2;
    s->cgroup.hugetlb_stats = s->huge_p;

    static const char *const names[2] = {"eth0", "lo"};
    for (int i = 0; i < 2; i++) {
        Grpc__NetworkStats *n = &s->net[i];
        uint64_t base = 6000 + 100 * (uint64_t)i;
        grpc__network_stats__init(n);
        n->name = (char *)names[i];
        n->rx_bytes = base + 1;
        n->rx_packets = base + 2;
        n->rx_errors = base + 3;
        n->rx_dropped = base + 4;
        n->tx_bytes = base + 5;
        n->tx_packets = base + 6;
        n->tx_errors = base + 7;
        n->tx_dropped = base + 8;
        s->net_p[i] = n;
    }
    s->resp.n_network_stats = 2;
    s->resp.network_stats = s->net_p;
}
