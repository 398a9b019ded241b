/* agent/linux: the pure parts of turning an OCI spec into kernel settings (cgroup value
 * conversions, capability/rlimit names, mount options, cgroupsPath forms, passwd/group
 * resolution, command lookup) and the cgroup v1/v2 file writers against fake trees in a
 * temporary directory. TAP output. */
#include "tests/tap.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/linux/caps.h"
#include "agent/linux/cgroup.h"
#include "agent/linux/exec-path.h"
#include "fsutil.h"
#include "agent/linux/mounts.h"
#include "agent/linux/rlimits.h"
#include "agent/linux/spawn.h"
#include "agent/linux/user.h"
#include "cleanup.h"
#include "ttrpc.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/test-linux-spec.XXXXXX";

static void put(const char *rel, const char *content)
{
    char *p = xasprintf("%s/%s", tmpdir, rel);
    char *dir = xstrdup(p);
    *strrchr(dir, '/') = '\0';
    (void)mkdir_p(dir, 0755, NULL);
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        perror(p);
        exit(1);
    }
    fputs(content, f);
    fclose(f);
    free(dir);
    free(p);
}

/* File content without trailing newline; "" if missing. */
static char *get(const char *rel)
{
    char *p = xasprintf("%s/%s", tmpdir, rel);
    char *s = NULL;
    if (read_file(p, &s, NULL) < 0)
        s = xstrdup("<missing>");
    free(p);
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        s[--n] = '\0';
    return s;
}

static bool file_is(const char *rel, const char *want)
{
    cleanup_free char *s = get(rel);
    bool r = strcmp(s, want) == 0;
    if (!r)
        printf("# %s: got '%s', want '%s'\n", rel, s, want);
    return r;
}

static void test_cpu_conversions(void)
{
    tap_ok(cgroup_shares_to_weight(0) == 0, "shares 0 stays unset");
    tap_ok(cgroup_shares_to_weight(1) == 1 && cgroup_shares_to_weight(2) == 1, "shares <= 2 -> 1");
    tap_ok(cgroup_shares_to_weight(1024) == 39, "shares 1024 -> weight 39 (got %llu)",
           (unsigned long long)cgroup_shares_to_weight(1024));
    tap_ok(cgroup_shares_to_weight(262144) == 10000 && cgroup_shares_to_weight(1u << 20) == 10000,
           "shares >= 262144 -> 10000");
    char buf[64];
    cgroup_cpu_max(50000, 100000, buf, sizeof(buf));
    tap_ok(strcmp(buf, "50000 100000") == 0, "cpu.max quota period: '%s'", buf);
    cgroup_cpu_max(-1, 0, buf, sizeof(buf));
    tap_ok(strcmp(buf, "max 100000") == 0, "cpu.max unlimited, default period: '%s'", buf);
    cgroup_cpu_max(0, 250000, buf, sizeof(buf));
    tap_ok(strcmp(buf, "max 250000") == 0, "cpu.max period only: '%s'", buf);
}

static void test_swap(void)
{
    char buf[32];
    struct kerr *err = NULL;
    tap_ok(cgroup_swap_v2(100, 300, buf, sizeof(buf), &err) == 1 && strcmp(buf, "200") == 0,
           "swap.max = swap - limit");
    tap_ok(cgroup_swap_v2(100, -1, buf, sizeof(buf), &err) == 1 && strcmp(buf, "max") == 0,
           "swap -1 -> max");
    tap_ok(cgroup_swap_v2(100, 0, buf, sizeof(buf), &err) == 0 && err == NULL, "swap 0 is unset");
    tap_ok(cgroup_swap_v2(0, 300, buf, sizeof(buf), &err) < 0 && err &&
               error_status(err) == RPC_INVALID_ARGUMENT &&
               strstr(err->msg, "without memory limit"),
           "swap without limit is refused");
    error_freep(&err);
    tap_ok(cgroup_swap_v2(300, 100, buf, sizeof(buf), &err) < 0 && err &&
               strstr(err->msg, "should be >="),
           "swap below limit is refused");
    error_freep(&err);
}

static void test_caps(void)
{
    tap_ok(cap_from_name("CAP_CHOWN") == 0, "CAP_CHOWN = 0");
    tap_ok(cap_from_name("CAP_SYS_ADMIN") == 21, "CAP_SYS_ADMIN = 21");
    tap_ok(cap_from_name("cap_net_raw") == 13, "names are case-insensitive");
    tap_ok(cap_from_name("CAP_CHECKPOINT_RESTORE") == 40, "CAP_CHECKPOINT_RESTORE = 40");
    tap_ok(cap_from_name("SYS_ADMIN") == -1 && cap_from_name("CAP_NOPE") == -1,
           "unknown or unprefixed names rejected");
    char *names[] = {"CAP_KILL", "CAP_SETUID"};
    uint64_t m = 0;
    struct kerr *err = NULL;
    tap_ok(caps_mask(names, 2, &m, &err) == 0 && m == ((1ull << 5) | (1ull << 7)), "mask of names");
    char *bad[] = {"CAP_KILL", "CAP_BOGUS"};
    tap_ok(caps_mask(bad, 2, &m, &err) < 0 && err && error_status(err) == RPC_INVALID_ARGUMENT &&
               strstr(err->msg, "CAP_BOGUS"),
           "unknown capability is an INVALID_ARGUMENT naming it");
    error_freep(&err);
}

static void test_rlimits(void)
{
    tap_ok(rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE, "RLIMIT_NOFILE");
    tap_ok(rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME, "RLIMIT_RTTIME");
    tap_ok(rlimit_from_name("RLIMIT_BOGUS") == -1 && rlimit_from_name("NOFILE") == -1,
           "unknown rlimit");
}

static void test_mount_options(void)
{
    char *o1[] = {"ro", "nosuid", "nodev", "mode=755", "size=64k", "rbind", "rprivate"};
    struct mount_opts o;
    mount_parse_options(o1, 7, &o);
    tap_ok(o.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV), "flags ro,nosuid,nodev");
    tap_ok(o.bind && o.recursive, "rbind is a recursive bind");
    tap_ok(o.propagation == (MS_PRIVATE | MS_REC), "rprivate propagation");
    tap_ok(o.data && strcmp(o.data, "mode=755,size=64k") == 0, "unknown options become data: %s",
           o.data ? o.data : "(null)");
    mount_opts_free(&o);
    char *o2[] = {"ro", "rw", "noexec", "exec", "strictatime", "bind", "tmpcopyup"};
    mount_parse_options(o2, 7, &o);
    tap_ok(o.flags == MS_STRICTATIME && o.bind && !o.recursive && o.data == NULL,
           "later options clear earlier ones; runtime-only options dropped");
    mount_opts_free(&o);
    unsigned long prop = 0;
    struct kerr *err = NULL;
    tap_ok(mount_propagation_from_name("", &prop, &err) == 0 && prop == (MS_REC | MS_SLAVE),
           "default rootfs propagation is rslave");
    tap_ok(mount_propagation_from_name("rshared", &prop, &err) == 0 && prop == (MS_REC | MS_SHARED),
           "rshared");
    tap_ok(mount_propagation_from_name("sideways", &prop, &err) < 0 && err, "bad propagation");
    error_freep(&err);
}

static void cgpath_is(const char *in, const char *want)
{
    char *out = NULL;
    struct kerr *err = NULL;
    int r = cgroup_path_from_spec(in, "cid", &out, &err);
    if (want)
        tap_ok(r == 0 && out && strcmp(out, want) == 0, "cgroupsPath '%s' -> '%s' (got '%s')", in,
               want, out ? out : err->msg);
    else
        tap_ok(r < 0 && err && error_status(err) == RPC_INVALID_ARGUMENT,
               "cgroupsPath '%s' refused", in);
    free(out);
    error_free(err);
}

static void test_cgroups_path(void)
{
    cgpath_is("/kata/abc", "kata/abc");
    cgpath_is("kata/abc/", "kata/abc");
    cgpath_is("", "kata/cid");
    cgpath_is("system.slice:kata:abc", "system.slice/kata-abc.scope");
    cgpath_is(":kata:abc", "system.slice/kata-abc.scope");
    cgpath_is("a-b-c.slice:p:n", "a.slice/a-b.slice/a-b-c.slice/p-n.scope");
    cgpath_is("-.slice::n", "n.scope");
    cgpath_is("machine.slice:x:sub.slice", "machine.slice/sub.slice");
    cgpath_is("/kata/../etc", NULL);
    cgpath_is("a:b", NULL);
    cgpath_is("bad:kata:abc", NULL);
    cgpath_is("a--b.slice:p:n", NULL);
}

static void test_users(void)
{
    put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                      "# comment\n"
                      "broken line\n"
                      "user:x:1000:1000:user:/home/user:/bin/sh\n"
                      "svc:x:1001:1001::/srv:/bin/false\n");
    put("etc/group", "root:x:0:\n"
                     "wheel:x:10:root,user\n"
                     "audio:x:29:svc,user\n"
                     "user:x:1000:\n"
                     "staff:x:50:\n");
    cleanup_free char *pw = xasprintf("%s/etc/passwd", tmpdir);
    cleanup_free char *gr = xasprintf("%s/etc/group", tmpdir);
    struct user_ids ids;
    struct kerr *err = NULL;
    Grpc__User u = {0};

    u.username = "user";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) == 0 && ids.uid == 1000 && ids.gid == 1000 &&
               ids.n_groups == 2 && ids.groups[0] == 10 && ids.groups[1] == 29 && ids.home &&
               strcmp(ids.home, "/home/user") == 0,
           "name -> uid, gid, member groups, home");
    user_ids_free(&ids);

    u.username = "1001";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) == 0 && ids.uid == 1001 && ids.gid == 1001 &&
               ids.n_groups == 1 && ids.groups[0] == 29,
           "numeric uid found in passwd takes its gid and groups");
    user_ids_free(&ids);

    u.username = "user:staff";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) == 0 && ids.uid == 1000 && ids.gid == 50,
           "name:group");
    user_ids_free(&ids);

    u.username = "4242:77";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) == 0 && ids.uid == 4242 && ids.gid == 77 &&
               ids.n_groups == 0 && ids.home == NULL,
           "uid:gid not in the files");
    user_ids_free(&ids);

    uint32_t extra[] = {5, 10};
    u.username = "user";
    u.additionalgids = extra;
    u.n_additionalgids = 2;
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) == 0 && ids.n_groups == 3 && ids.groups[2] == 5,
           "additional gids merged without duplicates");
    user_ids_free(&ids);

    u.username = "ghost";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) < 0 && err && strstr(err->msg, "ghost") &&
               error_status(err) == RPC_INVALID_ARGUMENT,
           "unknown user name is an INVALID_ARGUMENT naming it");
    error_freep(&err);

    u.username = "user:nogroup";
    tap_ok(user_resolve(&u, pw, gr, &ids, &err) < 0 && err && strstr(err->msg, "nogroup"),
           "unknown group name");
    error_freep(&err);

    Grpc__User plain = {.uid = 7, .gid = 8};
    tap_ok(user_resolve(&plain, "/nonexistent/passwd", "/nonexistent/group", &ids, &err) == 0 &&
               ids.uid == 7 && ids.gid == 8 && ids.n_groups == 0,
           "no username: the numeric fields, files not needed");
    user_ids_free(&ids);
}

static void test_exec_path(void)
{
    put("bin/tool", "#!/bin/sh\n");
    put("bin/data", "not executable\n");
    put("bin2/data", "#!/bin/sh\n");
    cleanup_free char *tool = xasprintf("%s/bin/tool", tmpdir);
    cleanup_free char *data2 = xasprintf("%s/bin2/data", tmpdir);
    chmod(tool, 0755);
    chmod(data2, 0755);
    cleanup_free char *path = xasprintf("%s/bin:%s/bin2", tmpdir, tmpdir);
    cleanup_free char *bin1 = xasprintf("%s/bin", tmpdir);
    char *res = NULL;
    struct kerr *err = NULL;
    tap_ok(exec_resolve("tool", path, &res, &err) == 0 && strcmp(res, tool) == 0, "found in PATH");
    free(res);
    res = NULL;
    tap_ok(exec_resolve("data", path, &res, &err) == 0 && strcmp(res, data2) == 0,
           "a non-executable match is skipped for a later executable one");
    free(res);
    res = NULL;
    tap_ok(exec_resolve("data", bin1, &res, &err) < 0 && err &&
               error_status(err) == RPC_PERMISSION_DENIED &&
               strcmp(err->msg, "exec: \"data\": permission denied") == 0,
           "only non-executable: PERMISSION_DENIED");
    error_freep(&err);
    tap_ok(exec_resolve("nosuchcmd", path, &res, &err) < 0 && err &&
               error_status(err) == RPC_NOT_FOUND &&
               strcmp(err->msg, "exec: \"nosuchcmd\": executable file not found in $PATH") == 0,
           "missing: NOT_FOUND with the runc message");
    error_freep(&err);
    tap_ok(exec_resolve("/no/such/file", path, &res, &err) < 0 && err &&
               error_status(err) == RPC_NOT_FOUND && strstr(err->msg, "no such file"),
           "missing absolute path");
    error_freep(&err);
    tap_ok(exec_resolve(bin1, path, &res, &err) < 0 && err &&
               error_status(err) == RPC_PERMISSION_DENIED,
           "a directory is not executable");
    error_freep(&err);
    char *env[] = {"A=1", "PATH=/x", "PATH=/y"};
    tap_ok(strcmp(env_get(env, 3, "PATH"), "/y") == 0 && env_get(env, 3, "PAT") == NULL,
           "env_get takes the last definition");
}

static Grpc__LinuxResources *resources(void)
{
    static Grpc__LinuxCPU cpu = {
        .shares = 1024, .quota = 50000, .period = 100000, .cpus = "0-1", .mems = "0"};
    static Grpc__LinuxMemory mem = {.limit = 100 << 20, .swap = 150 << 20, .reservation = 50 << 20};
    static Grpc__LinuxPids pids = {.limit = 64};
    static Grpc__LinuxHugepageLimit h2m = {.pagesize = "2MB", .limit = 4 << 20};
    static Grpc__LinuxHugepageLimit *hl[] = {&h2m};
    static Grpc__LinuxResources res = {
        .cpu = &cpu, .memory = &mem, .pids = &pids, .n_hugepagelimits = 1, .hugepagelimits = hl};
    return &res;
}

static void test_stats_v2(struct cgroup *cg)
{
    put("v2/kata/c1/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
                               "nr_periods 10\nnr_throttled 2\nthrottled_usec 30\n");
    put("v2/kata/c1/memory.stat", "anon 100\nfile 200\nkernel 50\n");
    put("v2/kata/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    put("v2/kata/c1/memory.current", "4096\n");
    put("v2/kata/c1/memory.max", "max\n");
    put("v2/kata/c1/pids.current", "3\n");
    put("v2/kata/c1/pids.max", "64\n");
    put("v2/kata/c1/hugetlb.2MB.current", "2097152\n");
    put("v2/kata/c1/hugetlb.2MB.events", "max 4\n");
    Grpc__CgroupStats *s = NULL;
    struct kerr *err = NULL;
    if (!tap_ok(cgroup_stats(cg, &s, &err) == 0 && s, "v2: stats"))
        return;
    Grpc__CpuUsage *u = s->cpu_stats->cpu_usage;
    tap_ok(u->total_usage == 1500000 && u->usage_in_usermode == 1000000 &&
               u->usage_in_kernelmode == 500000,
           "v2: cpu usage in ns");
    Grpc__ThrottlingData *t = s->cpu_stats->throttling_data;
    tap_ok(t->periods == 10 && t->throttled_periods == 2 && t->throttled_time == 30000,
           "v2: throttling");
    Grpc__MemoryStats *m = s->memory_stats;
    tap_ok(m->cache == 200 && m->usage->usage == 4096 && m->usage->limit == 0 &&
               m->usage->failcnt == 3 && m->use_hierarchy,
           "v2: memory usage, cache, failcnt from events max");
    tap_ok(m->n_stats == 3 && strcmp(m->stats[1]->key, "file") == 0 && m->stats[1]->value == 200,
           "v2: memory.stat map");
    tap_ok(s->pids_stats->current == 3 && s->pids_stats->limit == 64, "v2: pids");
    tap_ok(s->n_hugetlb_stats == 1 && strcmp(s->hugetlb_stats[0]->key, "2MB") == 0 &&
               s->hugetlb_stats[0]->value->usage == 2097152 &&
               s->hugetlb_stats[0]->value->failcnt == 4,
           "v2: hugetlb per page size");
    cgroup_stats_free(s);
}

static void test_oom_v2(struct cgroup *cg)
{
    int fd = -1;
    enum cgroup_oom oom = CGROUP_OOM_KILLED;
    struct kerr *err = NULL;
    if (!tap_ok(cgroup_oom_fd(cg, &fd, &err) == 0 && fd >= 0, "v2: OOM watch fd"))
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    tap_ok(poll(&p, 1, 0) == 0, "v2: OOM fd idle at first");
    put("v2/kata/c1/memory.events", "low 1\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    tap_ok(poll(&p, 1, 1000) == 1 && cgroup_oom_check(cg, &oom, &err) == 0 &&
               oom == CGROUP_OOM_NONE,
           "v2: a memory.events change without a new oom_kill is not an OOM");
    put("v2/kata/c1/memory.events", "low 1\nhigh 0\nmax 3\noom 2\noom_kill 2\n");
    tap_ok(poll(&p, 1, 1000) == 1 && cgroup_oom_check(cg, &oom, &err) == 0 &&
               oom == CGROUP_OOM_KILLED,
           "v2: a new oom_kill is reported");
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_NONE && poll(&p, 1, 0) == 0,
           "v2: reported once, fd drained");
}

static void test_cgroup_v2(void)
{
    static const char *const leaf_files[] = {
        "cpu.weight",  "cpu.max",      "memory.max",      "memory.swap.max",
        "memory.low",  "pids.max",     "hugetlb.2MB.max", "cpuset.cpus",
        "cpuset.mems", "cgroup.procs", "cgroup.freeze",   "cgroup.subtree_control",
    };
    put("v2/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    put("v2/cgroup.subtree_control", "");
    put("v2/kata/cgroup.subtree_control", "");
    for (size_t i = 0; i < sizeof(leaf_files) / sizeof(leaf_files[0]); i++) {
        cleanup_free char *p = xasprintf("v2/kata/c1/%s", leaf_files[i]);
        put(p, "");
    }
    put("v2/kata/c1/cgroup.events", "populated 1\nfrozen 1\n");
    cleanup_free char *root = xasprintf("%s/v2", tmpdir);
    struct cgroup *cg = NULL;
    struct kerr *err = NULL;
    if (!tap_ok(cgroup_create(root, "kata/c1", resources(), &cg, &err) == 0, "v2: create %s",
                err ? err->msg : "")) {
        error_freep(&err);
        return;
    }
    tap_ok(cgroup_is_v2(cg), "v2 detected from cgroup.controllers");
    tap_ok(file_is("v2/kata/c1/cpu.weight", "39"), "v2: cpu.weight from shares");
    tap_ok(file_is("v2/kata/c1/cpu.max", "50000 100000"), "v2: cpu.max");
    tap_ok(file_is("v2/kata/c1/memory.max", "104857600"), "v2: memory.max");
    tap_ok(file_is("v2/kata/c1/memory.swap.max", "52428800"), "v2: memory.swap.max = swap - limit");
    tap_ok(file_is("v2/kata/c1/memory.low", "52428800"), "v2: memory.low from reservation");
    tap_ok(file_is("v2/kata/c1/pids.max", "64"), "v2: pids.max");
    tap_ok(file_is("v2/kata/c1/hugetlb.2MB.max", "4194304"), "v2: hugetlb.2MB.max");
    tap_ok(file_is("v2/kata/c1/cpuset.cpus", "0-1") && file_is("v2/kata/c1/cpuset.mems", "0"),
           "v2: cpuset");
    cleanup_free char *sc = get("v2/kata/cgroup.subtree_control");
    tap_ok(sc[0] == '+', "v2: controllers enabled in the parent (%s)", sc);
    tap_ok(cgroup_enter(cg, 4321, &err) == 0 && file_is("v2/kata/c1/cgroup.procs", "4321"),
           "v2: enter writes cgroup.procs");
    tap_ok(cgroup_freeze(cg, true, &err) == 0 && file_is("v2/kata/c1/cgroup.freeze", "1"),
           "v2: freeze writes cgroup.freeze and waits for frozen 1");
    put("v2/kata/c1/cgroup.procs", "11\n12\n");
    put("v2/kata/c1/sub/cgroup.procs", "13\n11\n");
    pid_t *pids = NULL;
    size_t n = 0;
    tap_ok(cgroup_pids(cg, &pids, &n, &err) == 0 && n == 3 && pids[0] == 11 && pids[2] == 13,
           "v2: pids of the cgroup and its children, once each");
    free(pids);
    /* Updates write only what is set. */
    put("v2/kata/c1/pids.max", "");
    put("v2/kata/c1/memory.max", "untouched");
    Grpc__LinuxPids p2 = {.limit = -1};
    Grpc__LinuxResources upd = {.pids = &p2};
    tap_ok(cgroup_update(cg, &upd, &err) == 0 && file_is("v2/kata/c1/pids.max", "max") &&
               file_is("v2/kata/c1/memory.max", "untouched"),
           "v2: update pids -1 -> max, other files untouched");
    Grpc__LinuxCPU rt = {.realtimeruntime = 1000};
    Grpc__LinuxResources bad = {.cpu = &rt};
    tap_ok(cgroup_update(cg, &bad, &err) < 0 && err && error_status(err) == RPC_INVALID_ARGUMENT,
           "v2: realtime limits refused");
    error_freep(&err);
    Grpc__LinuxHugepageLimit evil = {.pagesize = "../../x", .limit = 1};
    Grpc__LinuxHugepageLimit *ev[] = {&evil};
    Grpc__LinuxResources bad2 = {.n_hugepagelimits = 1, .hugepagelimits = ev};
    tap_ok(cgroup_update(cg, &bad2, &err) < 0 && err, "v2: bad hugepage size refused");
    error_freep(&err);
    put("v2/kata/c1/cgroup.kill", "");
    tap_ok(cgroup_kill_all(cg, SIGKILL, &err) == 0 && file_is("v2/kata/c1/cgroup.kill", "1"),
           "v2: SIGKILL to all goes through cgroup.kill");
    test_stats_v2(cg);
    test_oom_v2(cg);
    put("v2/kata/c1/io.weight", "");
    put("v2/kata/c1/io.max", "");
    Grpc__LinuxThrottleDevice td = {.major = 8, .minor = 0, .rate = 1048576};
    Grpc__LinuxThrottleDevice *tds[] = {&td};
    Grpc__LinuxBlockIO bio = {
        .weight = 500, .n_throttlereadbpsdevice = 1, .throttlereadbpsdevice = tds};
    Grpc__LinuxResources iores = {.blockio = &bio};
    tap_ok(cgroup_update(cg, &iores, &err) == 0 &&
               file_is("v2/kata/c1/io.weight", "default 4950") &&
               file_is("v2/kata/c1/io.max", "8:0 rbps=1048576"),
           "v2: blkio weight -> io.weight, throttle -> io.max");
    error_freep(&err);
    put("v2/kata/c1/memory.max", "");
    cleanup_free char *swapfile = xasprintf("%s/v2/kata/c1/memory.swap.max", tmpdir);
    unlink(swapfile);
    Grpc__LinuxMemory m4 = {.limit = 200, .swap = 400};
    Grpc__LinuxResources noswap = {.memory = &m4};
    tap_ok(cgroup_update(cg, &noswap, &err) == 0 && file_is("v2/kata/c1/memory.max", "200") &&
               access(swapfile, F_OK) < 0,
           "v2: swap skipped without swap accounting (no memory.swap.max)");
    error_freep(&err);
    put("v2/kata/c1/memory.low", "");
    Grpc__LinuxMemory m3 = {.swap = 10};
    Grpc__LinuxResources bad3 = {.memory = &m3};
    tap_ok(cgroup_update(cg, &bad3, &err) < 0 && err, "v2: swap without limit refused");
    error_freep(&err);
    cgroup_free(cg);
    tap_ok(cgroup_create(root, "../escape", NULL, &cg, &err) < 0 && err,
           "cgroup path leaving the root refused");
    error_freep(&err);
}

/* v1's eventfd cannot fire on a fake tree, so the test signals it as the kernel would. */
static void test_oom_v1(struct cgroup *cg)
{
    const char *ctl = "v1/memory/kata/c1/memory.oom_control";
    put(ctl, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    put("v1/memory/kata/c1/cgroup.event_control", "");
    int fd = -1;
    enum cgroup_oom oom = CGROUP_OOM_KILLED;
    struct kerr *err = NULL;
    if (!tap_ok(cgroup_oom_fd(cg, &fd, &err) == 0 && fd >= 0, "v1: OOM watch fd %s",
                err ? err->msg : ""))
        return;
    cleanup_free char *armed = get("v1/memory/kata/c1/cgroup.event_control");
    cleanup_free char *efd_first = xasprintf("%d ", fd);
    tap_ok(strncmp(armed, efd_first, strlen(efd_first)) == 0,
           "v1: the eventfd is armed through cgroup.event_control ('%s')", armed);
    eventfd_write(fd, 1);
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_PENDING,
           "v1: a notification before the kill is counted is pending");
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_NONE,
           "v1: nothing new: no event");
    put(ctl, "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_KILLED,
           "v1: the kill, counted after the notification, is reported on the next check");
    eventfd_write(fd, 1);
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_PENDING,
           "v1: a second notification for the same kill reports nothing");
    put(ctl, "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
    eventfd_write(fd, 1);
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_KILLED &&
               cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_NONE,
           "v1: kills counted before the check are one event");
    put(ctl, "oom_kill_disable 1\nunder_oom 1\noom_kill 5\n");
    eventfd_write(fd, 1);
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_KILLED,
           "v1: with the OOM killer disabled, a cgroup stuck in OOM is reported");
    put(ctl, "oom_kill_disable 0\nunder_oom 0\n");
    eventfd_write(fd, 1);
    tap_ok(cgroup_oom_check(cg, &oom, &err) == 0 && oom == CGROUP_OOM_KILLED,
           "v1: a kernel without the kill count reports each notification");
    error_freep(&err);
}

static void test_cgroup_v1(void)
{
    static const char *const files[] = {
        "memory/kata/c1/memory.limit_in_bytes",
        "memory/kata/c1/memory.memsw.limit_in_bytes",
        "memory/kata/c1/memory.soft_limit_in_bytes",
        "memory/kata/c1/cgroup.procs",
        "cpu/kata/c1/cpu.shares",
        "cpu/kata/c1/cpu.cfs_quota_us",
        "cpu/kata/c1/cpu.cfs_period_us",
        "cpu/kata/c1/cgroup.procs",
        "pids/kata/c1/pids.max",
        "pids/kata/c1/cgroup.procs",
        "hugetlb/kata/c1/hugetlb.2MB.limit_in_bytes",
        "hugetlb/kata/c1/cgroup.procs",
        "cpuset/kata/cpuset.cpus",
        "cpuset/kata/cpuset.mems",
        "cpuset/kata/c1/cpuset.cpus",
        "cpuset/kata/c1/cpuset.mems",
        "cpuset/kata/c1/cgroup.procs",
        "freezer/kata/c1/freezer.state",
        "freezer/kata/c1/cgroup.procs",
        "blkio/kata/c1/cgroup.procs",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        cleanup_free char *p = xasprintf("v1/%s", files[i]);
        put(p, "");
    }
    put("v1/cpuset/cpuset.cpus", "0-3\n");
    put("v1/cpuset/cpuset.mems", "0\n");
    cleanup_free char *root = xasprintf("%s/v1", tmpdir);
    struct cgroup *cg = NULL;
    struct kerr *err = NULL;
    Grpc__LinuxResources res = *resources();
    Grpc__LinuxCPU cpu = *res.cpu;
    cpu.cpus = "";
    cpu.mems = "";
    res.cpu = &cpu;
    if (!tap_ok(cgroup_create(root, "kata/c1", &res, &cg, &err) == 0, "v1: create %s",
                err ? err->msg : "")) {
        error_freep(&err);
        return;
    }
    tap_ok(!cgroup_is_v2(cg), "v1 detected");
    tap_ok(file_is("v1/cpuset/kata/cpuset.cpus", "0-3") &&
               file_is("v1/cpuset/kata/c1/cpuset.cpus", "0-3") &&
               file_is("v1/cpuset/kata/c1/cpuset.mems", "0"),
           "v1: new cpuset levels inherit cpus/mems");
    tap_ok(file_is("v1/memory/kata/c1/memory.limit_in_bytes", "104857600"), "v1: memory limit");
    tap_ok(file_is("v1/memory/kata/c1/memory.memsw.limit_in_bytes", "157286400"),
           "v1: memsw is OCI swap as is");
    tap_ok(file_is("v1/memory/kata/c1/memory.soft_limit_in_bytes", "52428800"),
           "v1: soft limit from reservation");
    tap_ok(file_is("v1/cpu/kata/c1/cpu.shares", "1024"), "v1: cpu.shares");
    tap_ok(file_is("v1/cpu/kata/c1/cpu.cfs_quota_us", "50000") &&
               file_is("v1/cpu/kata/c1/cpu.cfs_period_us", "100000"),
           "v1: cfs quota and period");
    tap_ok(file_is("v1/pids/kata/c1/pids.max", "64"), "v1: pids.max");
    tap_ok(file_is("v1/hugetlb/kata/c1/hugetlb.2MB.limit_in_bytes", "4194304"),
           "v1: hugetlb limit");
    tap_ok(cgroup_dir(cg, "memory") && strstr(cgroup_dir(cg, "memory"), "/v1/memory/kata/c1") &&
               cgroup_dir(cg, "net_cls") == NULL,
           "v1: per-controller directories");
    tap_ok(cgroup_enter(cg, 99, &err) == 0 && file_is("v1/pids/kata/c1/cgroup.procs", "99") &&
               file_is("v1/memory/kata/c1/cgroup.procs", "99"),
           "v1: enter writes every hierarchy");
    put("v1/blkio/kata/c1/blkio.weight", "");
    put("v1/blkio/kata/c1/blkio.throttle.write_iops_device", "");
    Grpc__LinuxThrottleDevice td = {.major = 253, .minor = 1, .rate = 300};
    Grpc__LinuxThrottleDevice *tds[] = {&td};
    Grpc__LinuxBlockIO bio = {
        .weight = 500, .n_throttlewriteiopsdevice = 1, .throttlewriteiopsdevice = tds};
    Grpc__LinuxResources iores = {.blockio = &bio};
    tap_ok(cgroup_update(cg, &iores, &err) == 0 &&
               file_is("v1/blkio/kata/c1/blkio.weight", "500") &&
               file_is("v1/blkio/kata/c1/blkio.throttle.write_iops_device", "253:1 300"),
           "v1: blkio weight and throttle");
    error_freep(&err);
    put("v1/freezer/kata/c1/freezer.state", "");
    tap_ok(cgroup_freeze(cg, false, &err) == 0 &&
               file_is("v1/freezer/kata/c1/freezer.state", "THAWED"),
           "v1: thaw writes freezer.state");
    /* Killing: an empty cgroup is left unfrozen (nothing in it can fork); one with a
     * process is frozen, signalled and thawed. */
    put("v1/freezer/kata/c1/freezer.state", "");
    put("v1/pids/kata/c1/cgroup.procs", "");
    tap_ok(cgroup_kill_all(cg, SIGKILL, &err) == 0 &&
               file_is("v1/freezer/kata/c1/freezer.state", ""),
           "v1: killing an empty cgroup does not freeze it");
    error_freep(&err);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    cleanup_free char *pid_text = xasprintf("%d\n", (int)child);
    put("v1/pids/kata/c1/cgroup.procs", pid_text);
    bool sent = cgroup_kill_all(cg, SIGKILL, &err) == 0;
    int status = 0;
    pid_t w = 0;
    for (int i = 0; sent && w == 0 && i < 200; i++) {
        w = waitpid(child, &status, WNOHANG);
        if (w == 0)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    bool killed = w == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (w != child) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    tap_ok(killed && file_is("v1/freezer/kata/c1/freezer.state", "THAWED"),
           "v1: killing a cgroup with a process freezes it, kills the process, thaws it");
    error_freep(&err);
    put("v1/pids/kata/c1/cgroup.procs", "");
    test_oom_v1(cg);
    cgroup_free(cg);
}

static void spawn_refused(const struct spawn_config *cfg, const char *want, const char *what)
{
    struct spawn_result r;
    struct kerr *err = NULL;
    bool refused = spawn_process(cfg, &r, &err) < 0;
    tap_ok(refused && err && error_status(err) == RPC_INVALID_ARGUMENT && strstr(err->msg, want),
           "spawn refuses %s: %s", what, err ? err->msg : "(no error)");
    error_free(err);
}

/* Input checks that happen before anything is cloned. */
static void test_spawn_validation(void)
{
    Grpc__Process proc = {0};
    Grpc__Spec spec = {.process = &proc};
    struct spawn_config cfg = {.spec = &spec};
    spawn_refused(&cfg, "spec and process are required", "a missing process");
    cfg.process = &proc;
    spawn_refused(&cfg, "args must not be empty", "empty args");
    char *args[] = {"true"};
    proc.args = args;
    proc.n_args = 1;
    cfg.exec = true;
    spawn_refused(&cfg, "needs the init pid", "an exec without init pid");
    cfg.init_pid = 1;
    cfg.hold = true;
    spawn_refused(&cfg, "cannot be held", "a held exec");
    Grpc__LinuxNamespace userns = {.type = "user", .path = ""};
    Grpc__LinuxNamespace *nss[] = {&userns};
    Grpc__Linux lx = {.n_namespaces = 1, .namespaces = nss};
    spec.linux = &lx;
    cfg.exec = false;
    cfg.hold = false;
    spawn_refused(&cfg, "needs uid and gid mappings", "a user namespace without maps");
    Grpc__LinuxNamespace bogus = {.type = "bogus", .path = ""};
    nss[0] = &bogus;
    spawn_refused(&cfg, "unsupported namespace type 'bogus'", "an unknown namespace");
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_cpu_conversions();
    test_swap();
    test_caps();
    test_rlimits();
    test_mount_options();
    test_cgroups_path();
    test_users();
    test_exec_path();
    test_cgroup_v2();
    test_cgroup_v1();
    test_spawn_validation();
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", tmpdir);
    return tap_done();
}
