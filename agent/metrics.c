/* GetMetrics: the agent's and the guest's statistics in Prometheus' text exposition format
 * (version 0.0.4), with the families, help texts and labels upstream's agent exports (its
 * metrics.rs over the procfs crate), so that kata-monitor and dashboards built for it read ours.
 *
 * Units follow what upstream's procfs crate hands it: meminfo in bytes (kB times 1024), the
 * agent's /proc/self/status sizes in kB as printed, CPU times in milliseconds, the agent's
 * proc_stat in clock ticks. Output order is upstream's registry order: families sorted by
 * name, families without samples left out, samples sorted by their label values. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "utf8.h"
#include "xalloc.h"

#define MAX_LABELS 3

struct sample {
    char *values[MAX_LABELS]; /* label values, in the family's (sorted) label order */
    double value;
};

struct family {
    const char *name, *help, *type;
    const char *labels[MAX_LABELS]; /* label names, sorted as upstream's encoder sorts them */
    struct sample *samples;
    size_t n, cap;
};

enum {
    F_AGENT_IO_STAT,
    F_AGENT_PROC_STAT,
    F_AGENT_PROC_STATUS,
    F_AGENT_SCRAPE_COUNT,
    F_AGENT_THREADS,
    F_AGENT_TOTAL_RSS,
    F_AGENT_TOTAL_TIME,
    F_AGENT_TOTAL_VM,
    F_GUEST_CPU_TIME,
    F_GUEST_DISKSTAT,
    F_GUEST_FS_BYTES,
    F_GUEST_FS_INODES,
    F_GUEST_LOAD,
    F_GUEST_MEMINFO,
    F_GUEST_NETDEV,
    F_GUEST_TASKS,
    F_GUEST_VM_STAT,
    F_COUNT
};

/* In name order (the order of the output). Help texts say what upstream's say. */
static const struct family family_defs[F_COUNT] = {
    [F_AGENT_IO_STAT] = {"kata_agent_io_stat", "Agent process IO statistics.", "gauge", {"item"}},
    [F_AGENT_PROC_STAT] = {"kata_agent_proc_stat", "Agent process statistics.", "gauge", {"item"}},
    [F_AGENT_PROC_STATUS] = {"kata_agent_proc_status", "Agent process status.", "gauge", {"item"}},
    [F_AGENT_SCRAPE_COUNT] = {"kata_agent_scrape_count", "Metrics scrape count", "counter", {0}},
    [F_AGENT_THREADS] = {"kata_agent_threads", "Agent process threads", "gauge", {0}},
    [F_AGENT_TOTAL_RSS] = {"kata_agent_total_rss", "Agent process total RSS size", "gauge", {0}},
    [F_AGENT_TOTAL_TIME] = {"kata_agent_total_time", "Agent process total time", "gauge", {0}},
    [F_AGENT_TOTAL_VM] = {"kata_agent_total_vm", "Agent process total VM size", "gauge", {0}},
    [F_GUEST_CPU_TIME] = {"kata_guest_cpu_time", "Guest CPU statistics.", "gauge", {"cpu", "item"}},
    [F_GUEST_DISKSTAT] = {"kata_guest_diskstat",
                          "Disks statistics in system.",
                          "gauge",
                          {"disk", "item"}},
    [F_GUEST_FS_BYTES] = {"kata_guest_filesystem_bytes",
                          "Guest filesystem space usage in bytes.",
                          "gauge",
                          {"device", "item", "mount"}},
    [F_GUEST_FS_INODES] = {"kata_guest_filesystem_inodes",
                           "Guest filesystem inode usage.",
                           "gauge",
                           {"device", "item", "mount"}},
    [F_GUEST_LOAD] = {"kata_guest_load", "Guest system load.", "gauge", {"item"}},
    [F_GUEST_MEMINFO] = {"kata_guest_meminfo",
                         "Statistics about memory usage in the system.",
                         "gauge",
                         {"item"}},
    [F_GUEST_NETDEV] = {"kata_guest_netdev_stat",
                        "Guest net devices statistics.",
                        "gauge",
                        {"interface", "item"}},
    /* upstream reuses the load family's help text here */
    [F_GUEST_TASKS] = {"kata_guest_tasks", "Guest system load.", "gauge", {"item"}},
    [F_GUEST_VM_STAT] = {"kata_guest_vm_stat",
                         "Guest virtual memory statistics.",
                         "gauge",
                         {"item"}},
};

/* Counts GetMetrics calls over the agent's life (upstream's IntCounter). */
static unsigned long long scrape_count;

static void add(struct family *f, double value, const char *v0, const char *v1, const char *v2)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->samples = xrealloc(f->samples, f->cap * sizeof(*f->samples));
    }
    struct sample *s = &f->samples[f->n++];
    const char *v[MAX_LABELS] = {v0, v1, v2};
    for (int i = 0; i < MAX_LABELS; i++)
        s->values[i] = v[i] ? xstrdup(v[i]) : NULL;
    s->value = value;
}

static char *read_proc(const char *path)
{
    char *buf = NULL;
    cleanup_error struct kerr *err = NULL;
    if (read_file(path, &buf, &err) < 0) {
        log_debug("metrics", "failed to read %s: %s", path, err->msg);
        return NULL;
    }
    return buf;
}

/* ---------------------------------------------------------------- the agent process */

/* /proc/self/stat fields after "(comm)", numbered as in proc(5) (state is 3). */
static int parse_self_stat(const char *buf, unsigned long long *f, int n)
{
    const char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    p++;
    int i = 3;
    while (i < n && *p) {
        while (*p == ' ')
            p++;
        f[i] = strtoull(p, NULL, 10); /* the state (3) reads as 0 */
        p = strchrnul(p, ' ');
        i++;
    }
    return i == n ? 0 : -EINVAL;
}

static void agent_metrics(struct family *fam)
{
    long tps = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    cleanup_free char *stat = read_proc("/proc/self/stat");
    unsigned long long f[25] = {0};
    if (stat && parse_self_stat(stat, f, 25) == 0) {
        /* utime 14, stime 15, cutime 16, cstime 17, num_threads 20, vsize 23, rss 24 */
        add(&fam[F_AGENT_THREADS], (double)f[20], NULL, NULL, NULL);
        add(&fam[F_AGENT_TOTAL_TIME], (double)(f[14] + f[15]) / (double)(tps > 0 ? tps : 100), NULL,
            NULL, NULL);
        add(&fam[F_AGENT_TOTAL_VM], (double)f[23], NULL, NULL, NULL);
        add(&fam[F_AGENT_TOTAL_RSS], (double)f[24] * (double)page, NULL, NULL, NULL);
        static const char *const items[] = {"utime", "stime", "cutime", "cstime"};
        for (int i = 0; i < 4; i++)
            add(&fam[F_AGENT_PROC_STAT], (double)f[14 + i], items[i], NULL, NULL);
    }

    cleanup_free char *io = read_proc("/proc/self/io");
    static const char *const io_items[] = {
        "rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes",
    };
    for (size_t i = 0; io && i < sizeof(io_items) / sizeof(io_items[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "\n%s:", io_items[i]);
        /* the first key starts the file: look for it after a virtual newline */
        const char *p = strncmp(io, key + 1, strlen(key + 1)) == 0 ? io - 1 : strstr(io, key);
        add(&fam[F_AGENT_IO_STAT], p ? strtod(p + strlen(key), NULL) : 0, io_items[i], NULL, NULL);
    }

    /* sizes in kB as the file prints them; absent fields are 0 */
    static const struct {
        const char *item, *key;
    } status_items[] = {
        {"vmpeak", "VmPeak"},
        {"vmsize", "VmSize"},
        {"vmlck", "VmLck"},
        {"vmpin", "VmPin"},
        {"vmhwm", "VmHWM"},
        {"vmrss", "VmRSS"},
        {"rssanon", "RssAnon"},
        {"rssfile", "RssFile"},
        {"rssshmem", "RssShmem"},
        {"vmdata", "VmData"},
        {"vmstk", "VmStk"},
        {"vmexe", "VmExe"},
        {"vmlib", "VmLib"},
        {"vmpte", "VmPTE"},
        {"vmswap", "VmSwap"},
        {"hugetlbpages", "HugetlbPages"},
        {"voluntary_ctxt_switches", "voluntary_ctxt_switches"},
        {"nonvoluntary_ctxt_switches", "nonvoluntary_ctxt_switches"},
    };
    cleanup_free char *status = read_proc("/proc/self/status");
    for (size_t i = 0; status && i < sizeof(status_items) / sizeof(status_items[0]); i++) {
        double v = 0;
        size_t kl = strlen(status_items[i].key);
        for (const char *l = status; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
            if (strncmp(l, status_items[i].key, kl) == 0 && l[kl] == ':') {
                v = strtod(l + kl + 1, NULL);
                break;
            }
        add(&fam[F_AGENT_PROC_STATUS], v, status_items[i].item, NULL, NULL);
    }
}

/* ---------------------------------------------------------------- the guest */

static void guest_load(struct family *fam)
{
    cleanup_free char *buf = read_proc("/proc/loadavg");
    double l1, l5, l15;
    unsigned long long cur, max;
    if (!buf || sscanf(buf, "%lf %lf %lf %llu/%llu", &l1, &l5, &l15, &cur, &max) != 5)
        return;
    add(&fam[F_GUEST_LOAD], l1, "load1", NULL, NULL);
    add(&fam[F_GUEST_LOAD], l5, "load5", NULL, NULL);
    add(&fam[F_GUEST_LOAD], l15, "load15", NULL, NULL);
    add(&fam[F_GUEST_TASKS], (double)cur, "cur", NULL, NULL);
    add(&fam[F_GUEST_TASKS], (double)max, "max", NULL, NULL);
}

static void guest_diskstats(struct family *fam)
{
    static const char *const items[] = {
        "reads",
        "merged",
        "sectors_read",
        "time_reading",
        "writes",
        "writes_merged",
        "sectors_written",
        "time_writing",
        "in_progress",
        "time_in_progress",
        "weighted_time_in_progress",
        "discards",
        "discards_merged",
        "sectors_discarded",
        "time_discarding",
        "flushes",
        "time_flushing",
    };
    enum { N = sizeof(items) / sizeof(items[0]) };
    cleanup_free char *buf = read_proc("/proc/diskstats");
    for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        unsigned maj, min;
        char name[256];
        int off = 0;
        if (sscanf(l, "%u %u %255s%n", &maj, &min, name, &off) != 3)
            continue;
        const char *p = l + off;
        for (int i = 0; i < N; i++) {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p)
                v = 0; /* older kernels lack the discard/flush columns */
            p = end;
            add(&fam[F_GUEST_DISKSTAT], (double)v, name, items[i], NULL);
        }
    }
}

static void guest_vmstat(struct family *fam)
{
    cleanup_free char *buf = read_proc("/proc/vmstat");
    for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(l, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        add(&fam[F_GUEST_VM_STAT], strtod(sp + 1, NULL), l, NULL, NULL);
    }
}

static void guest_cpu_time(struct family *fam)
{
    static const char *const items[] = {"user", "nice",    "system", "idle",  "iowait",
                                        "irq",  "softirq", "steal",  "guest", "guest_nice"};
    long tps = sysconf(_SC_CLK_TCK);
    if (tps <= 0)
        tps = 100;
    cleanup_free char *buf = read_proc("/proc/stat");
    int index = 0;
    for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "cpu", 3) != 0)
            continue;
        char cpu[32];
        /* "cpu" is the total; the per-CPU lines are numbered by their position, as upstream
         * does (with CPUs offline that differs from the N of "cpuN") */
        if (l[3] == ' ')
            snprintf(cpu, sizeof(cpu), "total");
        else
            snprintf(cpu, sizeof(cpu), "%d", index++);
        char *p = strchr(l, ' ');
        for (int i = 0; p && i < 10; i++) {
            char *end;
            unsigned long long ticks = strtoull(p, &end, 10);
            if (end == p)
                ticks = 0;
            p = end;
            add(&fam[F_GUEST_CPU_TIME], (double)(ticks * 1000 / (unsigned long long)tps), cpu,
                items[i], NULL);
        }
    }
}

static void guest_netdev(struct family *fam)
{
    static const char *const items[] = {
        "recv_bytes", "recv_packets", "recv_errs",       "recv_drop",
        "recv_fifo",  "recv_frame",   "recv_compressed", "recv_multicast",
        "sent_bytes", "sent_packets", "sent_errs",       "sent_drop",
        "sent_fifo",  "sent_colls",   "sent_carrier",    "sent_compressed",
    };
    cleanup_free char *buf = read_proc("/proc/net/dev");
    for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon || strchr(l, '|'))
            continue; /* the two header lines */
        *colon = '\0';
        while (*l == ' ')
            l++;
        const char *p = colon + 1;
        for (int i = 0; i < 16; i++) {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            p = end;
            add(&fam[F_GUEST_NETDEV], (double)v, l, items[i], NULL);
        }
    }
}

static void guest_meminfo(struct family *fam)
{
    /* upstream's item names and the /proc/meminfo keys its procfs crate reads them from */
    static const struct {
        const char *item, *key;
    } items[] = {
        {"mem_total", "MemTotal"},
        {"mem_free", "MemFree"},
        {"mem_available", "MemAvailable"},
        {"buffers", "Buffers"},
        {"cached", "Cached"},
        {"swap_cached", "SwapCached"},
        {"active", "Active"},
        {"inactive", "Inactive"},
        {"active_anon", "Active(anon)"},
        {"inactive_anon", "Inactive(anon)"},
        {"active_file", "Active(file)"},
        {"inactive_file", "Inactive(file)"},
        {"unevictable", "Unevictable"},
        {"mlocked", "Mlocked"},
        {"high_total", "HighTotal"},
        {"high_free", "HighFree"},
        {"low_total", "LowTotal"},
        {"low_free", "LowFree"},
        {"mmap_copy", "MmapCopy"},
        {"swap_total", "SwapTotal"},
        {"swap_free", "SwapFree"},
        {"dirty", "Dirty"},
        {"writeback", "Writeback"},
        {"anon_pages", "AnonPages"},
        {"mapped", "Mapped"},
        {"shmem", "Shmem"},
        {"slab", "Slab"},
        {"s_reclaimable", "SReclaimable"},
        {"s_unreclaim", "SUnreclaim"},
        {"kernel_stack", "KernelStack"},
        {"page_tables", "PageTables"},
        {"quicklists", "Quicklists"},
        {"nfs_unstable", "NFS_Unstable"},
        {"bounce", "Bounce"},
        {"writeback_tmp", "WritebackTmp"},
        {"commit_limit", "CommitLimit"},
        {"committed_as", "Committed_AS"},
        {"vmalloc_total", "VmallocTotal"},
        {"vmalloc_used", "VmallocUsed"},
        {"vmalloc_chunk", "VmallocChunk"},
        {"hardware_corrupted", "HardwareCorrupted"},
        {"anon_hugepages", "AnonHugePages"},
        {"shmem_hugepages", "ShmemHugePages"},
        {"shmem_pmd_mapped", "ShmemPmdMapped"},
        {"cma_total", "CmaTotal"},
        {"cma_free", "CmaFree"},
        {"hugepages_total", "HugePages_Total"},
        {"hugepages_free", "HugePages_Free"},
        {"hugepages_rsvd", "HugePages_Rsvd"},
        {"hugepages_surp", "HugePages_Surp"},
        {"hugepagesize", "Hugepagesize"},
        {"direct_map_4k", "DirectMap4k"},
        {"direct_map_4M", "DirectMap4M"},
        {"direct_map_2M", "DirectMap2M"},
        {"direct_map_1G", "DirectMap1G"},
        {"hugetlb", "Hugetlb"},
        {"per_cpu", "Percpu"},
        {"k_reclaimable", "KReclaimable"},
    };
    cleanup_free char *buf = read_proc("/proc/meminfo");
    if (!buf)
        return;
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        double v = 0;
        size_t kl = strlen(items[i].key);
        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
            if (strncmp(l, items[i].key, kl) != 0 || l[kl] != ':')
                continue;
            char *end;
            v = strtod(l + kl + 1, &end);
            while (*end == ' ')
                end++;
            if (strncmp(end, "kB", 2) == 0)
                v *= 1024;
            break;
        }
        add(&fam[F_GUEST_MEMINFO], v, items[i].item, NULL, NULL);
    }
}

static bool has_option(const char *opts, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = opts; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, opt, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Writable ext4/xfs/btrfs/vfat/overlay filesystems, each device once (first mount wins). */
static void guest_filesystems(struct family *fam)
{
    static const char *const real_fs[] = {"ext4", "xfs", "btrfs", "vfat", "overlay"};
    cleanup_free char *buf = read_proc("/proc/self/mountinfo");
    const char **seen = NULL;
    size_t n_seen = 0;
    for (char *save = NULL, *l = buf ? strtok_r(buf, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        /* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
        char *tok[64];
        int n = 0, dash = -1;
        for (char *s = l, *w; n < 64 && (w = strsep(&s, " "));)
            if (strcmp((tok[n++] = w), "-") == 0 && dash < 0 && n > 6)
                dash = n - 1;
        if (dash < 0 || dash + 3 >= n)
            continue;
        const char *majmin = tok[2], *fstype = tok[dash + 1], *super = tok[dash + 3];
        char *mp = tok[4], *source = tok[dash + 2];
        bool real = false;
        for (size_t i = 0; i < sizeof(real_fs) / sizeof(real_fs[0]); i++)
            real = real || strcmp(fstype, real_fs[i]) == 0;
        if (!real || has_option(super, "ro"))
            continue;
        bool dup = false;
        for (size_t i = 0; i < n_seen && !dup; i++)
            dup = strcmp(seen[i], majmin) == 0;
        if (dup)
            continue;
        seen = xrealloc(seen, (n_seen + 1) * sizeof(*seen));
        seen[n_seen++] = majmin;
        unescape_octal(mp);
        unescape_octal(source);
        /* the source's last path element names the device ("/dev/vda1" -> "vda1") */
        const char *slash = strrchr(source, '/');
        const char *device = slash ? slash + 1 : source;
        struct statfs st;
        if (statfs(mp, &st) < 0) {
            log_info("metrics", "statfs failed for %s: %m", mp);
            continue;
        }
        unsigned long long bs = (unsigned long long)st.f_bsize;
        unsigned long long total = st.f_blocks * bs, avail = st.f_bfree * bs;
        unsigned long long used = total > avail ? total - avail : 0;
        add(&fam[F_GUEST_FS_BYTES], (double)total, device, "total", mp);
        add(&fam[F_GUEST_FS_BYTES], (double)used, device, "used", mp);
        add(&fam[F_GUEST_FS_BYTES], (double)avail, device, "available", mp);
        unsigned long long ftotal = st.f_files, ffree = st.f_ffree;
        add(&fam[F_GUEST_FS_INODES], (double)ftotal, device, "total", mp);
        add(&fam[F_GUEST_FS_INODES], (double)(ftotal > ffree ? ftotal - ffree : 0), device, "used",
            mp);
        add(&fam[F_GUEST_FS_INODES], (double)ffree, device, "available", mp);
    }
    free(seen);
}

/* ---------------------------------------------------------------- text format */

struct text {
    char *buf;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        while (t->len + n + 1 > t->cap)
            t->cap = t->cap ? t->cap * 2 : 65536;
        t->buf = xrealloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Label values escape backslash, newline and double quote; help texts the first two. Bytes
 * that are not UTF-8 (an odd mount point) become U+FFFD: the reply field is a protobuf string,
 * which Go's decoder rejects unless it is valid UTF-8. */
static void put_escaped(struct text *t, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '\\' || (*p == '"' && quote)) {
            char e[2] = {'\\', (char)*p};
            put(t, e, 2);
            p++;
            continue;
        }
        if (*p == '\n') {
            puts_(t, "\\n");
            p++;
            continue;
        }
        size_t n = utf8_seq_len(p, strnlen((const char *)p, 4));
        if (n == 0) {
            puts_(t, UTF8_REPLACEMENT);
            p++;
            continue;
        }
        put(t, (const char *)p, n);
        p += n;
    }
}

/* Like Rust's f64 Display, which upstream's encoder uses: integers without a fraction or
 * exponent, other values in the shortest form that reads back the same. */
static void put_value(struct text *t, double v)
{
    char num[64];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e17)
        snprintf(num, sizeof(num), "%.0f", v);
    else
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, v);
            if (strtod(num, NULL) == v)
                break;
        }
    puts_(t, num);
}

static const struct family *sort_family;

static int cmp_samples(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    for (int i = 0; i < MAX_LABELS && sort_family->labels[i]; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

static void encode_family(struct text *t, struct family *f)
{
    if (f->n == 0)
        return;
    sort_family = f;
    qsort(f->samples, f->n, sizeof(*f->samples), cmp_samples);
    puts_(t, "# HELP ");
    puts_(t, f->name);
    puts_(t, " ");
    put_escaped(t, f->help, false);
    puts_(t, "\n# TYPE ");
    puts_(t, f->name);
    puts_(t, " ");
    puts_(t, f->type);
    puts_(t, "\n");
    for (size_t i = 0; i < f->n; i++) {
        puts_(t, f->name);
        for (int k = 0; k < MAX_LABELS && f->labels[k]; k++) {
            puts_(t, k ? "," : "{");
            puts_(t, f->labels[k]);
            puts_(t, "=\"");
            put_escaped(t, f->samples[i].values[k], true);
            puts_(t, "\"");
        }
        if (f->labels[0])
            puts_(t, "}");
        puts_(t, " ");
        put_value(t, f->samples[i].value);
        puts_(t, "\n");
    }
}

void metrics_get(struct ttrpc_call *call, void *sb)
{
    struct family fam[F_COUNT];
    memcpy(fam, family_defs, sizeof(fam));
    scrape_count++;
    add(&fam[F_AGENT_SCRAPE_COUNT], (double)scrape_count, NULL, NULL, NULL);
    agent_metrics(fam);
    guest_load(fam);
    guest_diskstats(fam);
    guest_vmstat(fam);
    guest_cpu_time(fam);
    guest_netdev(fam);
    guest_meminfo(fam);
    guest_filesystems(fam);

    struct text t = {0};
    puts_(&t, "");
    for (int i = 0; i < F_COUNT; i++) {
        encode_family(&t, &fam[i]);
        for (size_t k = 0; k < fam[i].n; k++)
            for (int j = 0; j < MAX_LABELS; j++)
                free(fam[i].samples[k].values[j]);
        free(fam[i].samples);
    }
    Grpc__Metrics resp = GRPC__METRICS__INIT;
    resp.metrics = t.buf;
    ttrpc_reply(call, &resp.base);
    free(t.buf);
}
