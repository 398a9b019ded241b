/* StatsContainer and GetOOMEvent support: reading counters and watching for OOM kills. */
#include "cgroup-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

/* A single number from a file; "max" and missing files read as 0. */
static uint64_t read_u64(const char *dir, const char *file)
{
    if (dir == NULL)
        return 0;
    cleanup_free char *p = xasprintf("%s/%s", dir, file);
    cleanup_free char *s = NULL;
    if (read_file(p, &s, NULL) < 0)
        return 0;
    return strtoull(s, NULL, 10);
}

/* The value of `key` in a flat-keyed file ("key value" lines); 0 when absent. */
static uint64_t keyed_u64(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, key, n) == 0 && l[n] == ' ')
            return strtoull(l + n + 1, NULL, 10);
    return 0;
}

static char *read_text(const char *dir, const char *file)
{
    if (dir == NULL)
        return xstrdup("");
    cleanup_free char *p = xasprintf("%s/%s", dir, file);
    char *s = NULL;
    if (read_file(p, &s, NULL) < 0)
        return xstrdup("");
    return s;
}

static Grpc__MemoryData *memory_data(uint64_t usage, uint64_t max, uint64_t failcnt, uint64_t limit)
{
    Grpc__MemoryData *d = xmalloc(sizeof(*d));
    grpc__memory_data__init(d);
    d->usage = usage;
    d->max_usage = max;
    d->failcnt = failcnt;
    d->limit = limit;
    return d;
}

static void fill_memory_map(Grpc__MemoryStats *m, const char *text)
{
    cleanup_free char *copy = xstrdup(text);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(l, ' ');
        if (sp == NULL)
            continue;
        *sp = '\0';
        Grpc__MemoryStats__StatsEntry *e = xmalloc(sizeof(*e));
        grpc__memory_stats__stats_entry__init(e);
        e->key = xstrdup(l);
        e->value = strtoull(sp + 1, NULL, 10);
        m->stats = xrealloc(m->stats, (m->n_stats + 1) * sizeof(*m->stats));
        m->stats[m->n_stats++] = e;
    }
}

static void add_hugetlb(Grpc__CgroupStats *s, const char *size, uint64_t usage, uint64_t max,
                        uint64_t failcnt)
{
    Grpc__HugetlbStats *h = xmalloc(sizeof(*h));
    grpc__hugetlb_stats__init(h);
    h->usage = usage;
    h->max_usage = max;
    h->failcnt = failcnt;
    Grpc__CgroupStats__HugetlbStatsEntry *e = xmalloc(sizeof(*e));
    grpc__cgroup_stats__hugetlb_stats_entry__init(e);
    e->key = xstrdup(size);
    e->value = h;
    s->hugetlb_stats = xrealloc(s->hugetlb_stats, (s->n_hugetlb_stats + 1) * sizeof(e));
    s->hugetlb_stats[s->n_hugetlb_stats++] = e;
}

/* Page sizes present as "hugetlb.<size>.<suffix>" files in dir. */
static void each_hugetlb(Grpc__CgroupStats *s, const char *dir, bool v2)
{
    if (dir == NULL)
        return;
    cleanup_dir DIR *d = opendir(dir);
    if (d == NULL)
        return;
    const char *suffix = v2 ? ".current" : ".usage_in_bytes";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), sl = strlen(suffix);
        if (strncmp(de->d_name, "hugetlb.", 8) != 0 || n <= 8 + sl ||
            strcmp(de->d_name + n - sl, suffix) != 0 || strstr(de->d_name, ".rsvd."))
            continue;
        cleanup_free char *size = xstrndup(de->d_name + 8, n - 8 - sl);
        cleanup_free char *f_usage = xasprintf("hugetlb.%s%s", size, suffix);
        if (v2) {
            cleanup_free char *f_events = xasprintf("hugetlb.%s.events", size);
            cleanup_free char *events = read_text(dir, f_events);
            add_hugetlb(s, size, read_u64(dir, f_usage), 0, keyed_u64(events, "max"));
        } else {
            cleanup_free char *f_max = xasprintf("hugetlb.%s.max_usage_in_bytes", size);
            cleanup_free char *f_fail = xasprintf("hugetlb.%s.failcnt", size);
            add_hugetlb(s, size, read_u64(dir, f_usage), read_u64(dir, f_max),
                        read_u64(dir, f_fail));
        }
    }
}

static void stats_v2(struct cgroup *cg, Grpc__CgroupStats *s)
{
    const char *d = cg->dir;
    cleanup_free char *cpu = read_text(d, "cpu.stat");
    Grpc__CpuUsage *u = s->cpu_stats->cpu_usage;
    u->total_usage = keyed_u64(cpu, "usage_usec") * 1000;
    u->usage_in_usermode = keyed_u64(cpu, "user_usec") * 1000;
    u->usage_in_kernelmode = keyed_u64(cpu, "system_usec") * 1000;
    Grpc__ThrottlingData *t = s->cpu_stats->throttling_data;
    t->periods = keyed_u64(cpu, "nr_periods");
    t->throttled_periods = keyed_u64(cpu, "nr_throttled");
    t->throttled_time = keyed_u64(cpu, "throttled_usec") * 1000;

    cleanup_free char *mstat = read_text(d, "memory.stat");
    cleanup_free char *events = read_text(d, "memory.events");
    Grpc__MemoryStats *m = s->memory_stats;
    m->cache = keyed_u64(mstat, "file");
    m->use_hierarchy = true;
    m->usage = memory_data(read_u64(d, "memory.current"), read_u64(d, "memory.peak"),
                           keyed_u64(events, "max"), read_u64(d, "memory.max"));
    m->swap_usage =
        memory_data(read_u64(d, "memory.swap.current"), 0, 0, read_u64(d, "memory.swap.max"));
    m->kernel_usage = memory_data(keyed_u64(mstat, "kernel"), 0, 0, 0);
    fill_memory_map(m, mstat);

    s->pids_stats->current = read_u64(d, "pids.current");
    s->pids_stats->limit = read_u64(d, "pids.max");
    each_hugetlb(s, d, true);
}

/* cpuacct.stat counts USER_HZ ticks; the protocol wants nanoseconds. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
    long hz = sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

static void stats_v1(struct cgroup *cg, Grpc__CgroupStats *s)
{
    const char *acct = cgroup_dir(cg, "cpuacct");
    Grpc__CpuUsage *u = s->cpu_stats->cpu_usage;
    u->total_usage = read_u64(acct, "cpuacct.usage");
    cleanup_free char *acct_stat = read_text(acct, "cpuacct.stat");
    u->usage_in_usermode = ticks_to_ns(keyed_u64(acct_stat, "user"));
    u->usage_in_kernelmode = ticks_to_ns(keyed_u64(acct_stat, "system"));
    cleanup_free char *percpu = read_text(acct, "cpuacct.usage_percpu");
    for (char *p = percpu, *end; *p; p = end) {
        uint64_t v = strtoull(p, &end, 10);
        if (end == p)
            break;
        u->percpu_usage = xrealloc(u->percpu_usage, (u->n_percpu_usage + 1) * sizeof(uint64_t));
        u->percpu_usage[u->n_percpu_usage++] = v;
    }
    cleanup_free char *cpu = read_text(cgroup_dir(cg, "cpu"), "cpu.stat");
    Grpc__ThrottlingData *t = s->cpu_stats->throttling_data;
    t->periods = keyed_u64(cpu, "nr_periods");
    t->throttled_periods = keyed_u64(cpu, "nr_throttled");
    t->throttled_time = keyed_u64(cpu, "throttled_time");

    const char *md = cgroup_dir(cg, "memory");
    cleanup_free char *mstat = read_text(md, "memory.stat");
    Grpc__MemoryStats *m = s->memory_stats;
    m->cache = keyed_u64(mstat, "cache");
    m->use_hierarchy = read_u64(md, "memory.use_hierarchy") == 1;
    m->usage = memory_data(read_u64(md, "memory.usage_in_bytes"),
                           read_u64(md, "memory.max_usage_in_bytes"),
                           read_u64(md, "memory.failcnt"), read_u64(md, "memory.limit_in_bytes"));
    m->swap_usage = memory_data(read_u64(md, "memory.memsw.usage_in_bytes"),
                                read_u64(md, "memory.memsw.max_usage_in_bytes"),
                                read_u64(md, "memory.memsw.failcnt"),
                                read_u64(md, "memory.memsw.limit_in_bytes"));
    m->kernel_usage = memory_data(
        read_u64(md, "memory.kmem.usage_in_bytes"), read_u64(md, "memory.kmem.max_usage_in_bytes"),
        read_u64(md, "memory.kmem.failcnt"), read_u64(md, "memory.kmem.limit_in_bytes"));
    fill_memory_map(m, mstat);

    const char *pd = cgroup_dir(cg, "pids");
    s->pids_stats->current = read_u64(pd, "pids.current");
    s->pids_stats->limit = read_u64(pd, "pids.max");
    each_hugetlb(s, cgroup_dir(cg, "hugetlb"), false);
}

int cgroup_stats(struct cgroup *cg, Grpc__CgroupStats **ret, struct kerr **err)
{
    Grpc__CgroupStats *s = xmalloc(sizeof(*s));
    grpc__cgroup_stats__init(s);
    s->cpu_stats = xmalloc(sizeof(*s->cpu_stats));
    grpc__cpu_stats__init(s->cpu_stats);
    s->cpu_stats->cpu_usage = xmalloc(sizeof(Grpc__CpuUsage));
    grpc__cpu_usage__init(s->cpu_stats->cpu_usage);
    s->cpu_stats->throttling_data = xmalloc(sizeof(Grpc__ThrottlingData));
    grpc__throttling_data__init(s->cpu_stats->throttling_data);
    s->memory_stats = xmalloc(sizeof(*s->memory_stats));
    grpc__memory_stats__init(s->memory_stats);
    s->pids_stats = xmalloc(sizeof(*s->pids_stats));
    grpc__pids_stats__init(s->pids_stats);
    s->blkio_stats = xmalloc(sizeof(*s->blkio_stats));
    grpc__blkio_stats__init(s->blkio_stats);
    if (cg->v2)
        stats_v2(cg, s);
    else
        stats_v1(cg, s);
    *ret = s;
    return 0;
}

void cgroup_stats_free(Grpc__CgroupStats *s)
{
    if (s == NULL)
        return;
    if (s->cpu_stats) {
        if (s->cpu_stats->cpu_usage)
            free(s->cpu_stats->cpu_usage->percpu_usage);
        free(s->cpu_stats->cpu_usage);
        free(s->cpu_stats->throttling_data);
        free(s->cpu_stats);
    }
    Grpc__MemoryStats *m = s->memory_stats;
    if (m) {
        free(m->usage);
        free(m->swap_usage);
        free(m->kernel_usage);
        for (size_t i = 0; i < m->n_stats; i++) {
            free(m->stats[i]->key);
            free(m->stats[i]);
        }
        free(m->stats);
        free(m);
    }
    free(s->pids_stats);
    free(s->blkio_stats);
    for (size_t i = 0; i < s->n_hugetlb_stats; i++) {
        free(s->hugetlb_stats[i]->key);
        free(s->hugetlb_stats[i]->value);
        free(s->hugetlb_stats[i]);
    }
    free(s->hugetlb_stats);
    free(s);
}

static uint64_t oom_kills_v2(struct cgroup *cg)
{
    cleanup_free char *events = read_text(cg->dir, "memory.events");
    return keyed_u64(events, "oom_kill");
}

/* v1's notification fires each time the cgroup enters OOM: before the kill, and sometimes
 * again for the same kill (the victim faults once more before it is gone). Since 4.13 the
 * file counts kills, so a kill is reported once, as v2's memory.events gives it. With the OOM
 * killer disabled nothing is killed: the cgroup sits under OOM, and that is what to report.
 * Older kernels have no count: every notification is reported, as upstream's agent does. */
static enum cgroup_oom oom_v1_state(struct cgroup *cg, bool signalled)
{
    char buf[256];
    ssize_t n = pread(cg->oom_control_fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (strstr(buf, "\noom_kill ") == NULL)
        return signalled ? CGROUP_OOM_KILLED : CGROUP_OOM_NONE;
    uint64_t kills = keyed_u64(buf, "oom_kill");
    if (kills > cg->oom_kills) {
        cg->oom_kills = kills;
        return CGROUP_OOM_KILLED;
    }
    if (!signalled)
        return CGROUP_OOM_NONE;
    if (keyed_u64(buf, "oom_kill_disable") == 1 && keyed_u64(buf, "under_oom") == 1)
        return CGROUP_OOM_KILLED;
    return CGROUP_OOM_PENDING;
}

int cgroup_oom_fd(struct cgroup *cg, int *ret_fd, struct kerr **err)
{
    if (cg->oom_fd >= 0) {
        *ret_fd = cg->oom_fd;
        return 0;
    }
    if (cg->v2) {
        cleanup_close int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
            return make_error(err, errno, "inotify_init1");
        cleanup_free char *events = xasprintf("%s/memory.events", cg->dir);
        if (inotify_add_watch(fd, events, IN_MODIFY) < 0)
            return make_error(err, errno, "watch %s", events);
        cg->oom_kills = oom_kills_v2(cg);
        cg->oom_fd = steal_fd(&fd);
    } else {
        const char *md = cgroup_dir(cg, "memory");
        if (md == NULL)
            return make_error(err, ENOENT, "cgroup controller memory is not mounted");
        cleanup_free char *ctl = xasprintf("%s/memory.oom_control", md);
        cleanup_free char *evc = xasprintf("%s/cgroup.event_control", md);
        cleanup_close int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
        if (cfd < 0)
            return make_error(err, errno, "open %s", ctl);
        cleanup_close int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0)
            return make_error(err, errno, "eventfd");
        char buf[64];
        snprintf(buf, sizeof(buf), "%d %d", efd, cfd);
        int r = write_file(evc, buf, err);
        if (r < 0)
            return r;
        cg->oom_control_fd = steal_fd(&cfd);
        cg->oom_fd = steal_fd(&efd);
        oom_v1_state(cg, false);
    }
    *ret_fd = cg->oom_fd;
    return 0;
}

int cgroup_oom_check(struct cgroup *cg, enum cgroup_oom *ret, struct kerr **err)
{
    if (cg->oom_fd < 0)
        return make_error(err, EBADF, "no OOM watch on cgroup %s", cg->path);
    char buf[4096];
    bool signalled = false;
    ssize_t n;
    while ((n = read(cg->oom_fd, buf, sizeof(buf))) > 0)
        signalled = true;
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        return make_error(err, errno, "read OOM notification");
    if (cg->v2) {
        /* memory.events changes for other reasons too: only a new oom_kill counts. */
        uint64_t kills = oom_kills_v2(cg);
        *ret = kills > cg->oom_kills ? CGROUP_OOM_KILLED : CGROUP_OOM_NONE;
        cg->oom_kills = kills;
    } else {
        *ret = oom_v1_state(cg, signalled);
    }
    return 0;
}
