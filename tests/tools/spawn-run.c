/* spawn-run: runs one container (or an exec into one) through agent/linux's spawn API, from
 * command-line flags instead of an RPC, forwarding stdio. The integration suite
 * tests/integration/spawn.bats drives it as root with a busybox rootfs.
 *
 *   spawn-run -r ROOTFS [options] -- CMD [ARG...]      (usage: run without arguments)
 * -K SIG (with -G) signals every process of the cgroup half a second after the start.
 * -Z ROOT: the cgroup tree to use instead of /sys/fs/cgroup.
 * -S (with -G) prints whether an OOM kill happened and a few cgroup stats after the exit.
 * Exit status: the process's (128+signal if killed); 125 with "spawn-run: MESSAGE [STATUS]"
 * on stderr when spawning failed (STATUS is the google.rpc code the agent would answer). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/linux/cgroup.h"
#include "agent/linux/spawn.h"
#include "xalloc.h"

static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

#define PUSH(arr, n, v)                                                                            \
    do {                                                                                           \
        (arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr)));                                       \
        (arr)[(n)++] = (v);                                                                        \
    } while (0)

static void usage(void)
{
    fprintf(
        stderr,
        "usage: spawn-run -r ROOTFS [-t] [-T ROWSxCOLS] [-n NS,...] [-j TYPE=PATH] [-h HOST]\n"
        "  [-u UID:GID] [-U USERNAME] [-g GID] [-e K=V] [-c CWD] [-R] [-M] [-m "
        "DEST:TYPE:SRC:OPTS]\n"
        "  [-k MASKED] [-o READONLY] [-l RLIMIT_X=SOFT:HARD] [-C CAPS|none] [-A CAPS] [-P]\n"
        "  [-O OOMADJ] [-s KEY=VALUE] [-x C:H:S] [-y C:H:S] [-G CGPATH] [-L MEMBYTES] [-p PIDS]\n"
        "  [-q PROPAGATION] [-Z CGROOT] [-H] [-K SIGNAL] [-S] [-E INITPID] [-w PIDFILE] -- CMD "
        "[ARG...]\n");
    exit(2);
}

static char **split_list(const char *s, size_t *n)
{
    char **v = NULL;
    *n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        PUSH(v, *n, xstrdup(t));
    free(copy);
    return v;
}

static Grpc__Mount *new_mount(const char *dest, const char *type, const char *src, const char *opts)
{
    Grpc__Mount *m = xcalloc(1, sizeof(*m));
    m->destination = xstrdup(dest);
    m->type = xstrdup(type);
    m->source = xstrdup(src);
    m->options = split_list(opts, &m->n_options);
    return m;
}

static Grpc__LinuxIDMapping *parse_map(const char *s)
{
    Grpc__LinuxIDMapping *m = xcalloc(1, sizeof(*m));
    if (sscanf(s, "%u:%u:%u", &m->containerid, &m->hostid, &m->size) != 3)
        usage();
    return m;
}

/* Copies bytes from `from` to `to`; returns false at EOF or error. */
static bool pump(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static void forward(struct spawn_result *r)
{
    struct pollfd pfd[3] = {{.fd = 0, .events = POLLIN},
                            {.fd = r->stdout_fd, .events = POLLIN},
                            {.fd = r->stderr_fd, .events = POLLIN}};
    int in_to = r->pty_master >= 0 ? r->pty_master : r->stdin_fd;
    int open_outputs = r->stderr_fd >= 0 ? 2 : 1;
    while (open_outputs > 0) {
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents) {
            if (!pump(0, in_to)) {
                pfd[0].fd = -1;
                if (r->stdin_fd >= 0) {
                    close(r->stdin_fd);
                    r->stdin_fd = -1;
                }
            }
        }
        for (int i = 1; i < 3; i++)
            if (pfd[i].fd >= 0 && pfd[i].revents && !pump(pfd[i].fd, i)) {
                pfd[i].fd = -1;
                open_outputs--;
            }
    }
}

/* The agent must come out of a spawn exactly as it went in. */
static void check_unchanged(const char *cwd_before, mode_t umask_before)
{
    struct stat a, b;
    char cwd[4096];
    mode_t m = umask(umask_before);
    if (stat("/proc/self/ns/pid", &a) < 0 || stat("/proc/self/ns/pid_for_children", &b) < 0 ||
        a.st_ino != b.st_ino || getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, cwd_before) != 0 ||
        m != umask_before) {
        fprintf(stderr, "spawn-run: the caller's state changed during spawn\n");
        exit(124);
    }
}

static void fail(struct kerr *e)
{
    fprintf(stderr, "spawn-run: %s [%d]\n", e->msg, error_status(e));
    exit(125);
}

int main(int argc, char **argv)
{
    Grpc__Spec spec = {0};
    Grpc__Process proc = {0};
    Grpc__Root root = {0};
    Grpc__Linux lx = {0};
    Grpc__User user = {0};
    Grpc__Box box = {0};
    Grpc__LinuxCapabilities caps = {0};
    Grpc__LinuxResources res = {0};
    Grpc__LinuxMemory mem = {0};
    Grpc__LinuxPids pids = {0};
    spec.process = &proc;
    spec.root = &root;
    spec.linux = &lx;
    proc.user = &user;
    proc.capabilities = &caps;
    const char *ns_list = "pid,mount,uts,ipc";
    const char *cgpath = NULL, *cgroot = NULL, *pidfile = NULL;
    bool defaults = true, hold = false, stats = false;
    int killall = 0;
    pid_t exec_pid = 0;
    char **capnames = NULL;
    size_t n_capnames = 0;
    for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
        PUSH(capnames, n_capnames, xstrdup(default_caps[i]));
    int opt;
    while ((opt = getopt(argc, argv,
                         "r:tT:n:j:h:u:U:g:e:c:RMm:k:o:l:C:A:PO:s:x:y:G:L:p:HE:w:K:SZ:q:")) != -1) {
        switch (opt) {
        case 'r':
            root.path = optarg;
            break;
        case 't':
            proc.terminal = true;
            break;
        case 'T':
            if (sscanf(optarg, "%ux%u", &box.height, &box.width) != 2)
                usage();
            proc.consolesize = &box;
            break;
        case 'n':
            ns_list = optarg;
            break;
        case 'j': {
            Grpc__LinuxNamespace *ns = xcalloc(1, sizeof(*ns));
            char *eq = strchr(optarg, '=');
            if (!eq)
                usage();
            ns->type = xstrndup(optarg, (size_t)(eq - optarg));
            ns->path = xstrdup(eq + 1);
            PUSH(lx.namespaces, lx.n_namespaces, ns);
            break;
        }
        case 'h':
            spec.hostname = optarg;
            break;
        case 'u':
            if (sscanf(optarg, "%u:%u", &user.uid, &user.gid) != 2)
                usage();
            break;
        case 'U':
            user.username = optarg;
            break;
        case 'g':
            PUSH(user.additionalgids, user.n_additionalgids, (uint32_t)atoi(optarg));
            break;
        case 'e':
            PUSH(proc.env, proc.n_env, optarg);
            break;
        case 'c':
            proc.cwd = optarg;
            break;
        case 'R':
            root.readonly = true;
            break;
        case 'M':
            defaults = false;
            break;
        case 'm': {
            char *f[4] = {0};
            char *copy = xstrdup(optarg), *save = NULL;
            f[0] = strtok_r(copy, ":", &save);
            for (int i = 1; i < 4; i++)
                f[i] = strtok_r(NULL, ":", &save);
            if (!f[0] || !f[1] || !f[2])
                usage();
            PUSH(spec.mounts, spec.n_mounts, new_mount(f[0], f[1], f[2], f[3] ? f[3] : ""));
            break;
        }
        case 'k':
            PUSH(lx.maskedpaths, lx.n_maskedpaths, optarg);
            break;
        case 'o':
            PUSH(lx.readonlypaths, lx.n_readonlypaths, optarg);
            break;
        case 'l': {
            Grpc__POSIXRlimit *rl = xcalloc(1, sizeof(*rl));
            char *eq = strchr(optarg, '=');
            unsigned long long s, h;
            if (!eq || sscanf(eq + 1, "%llu:%llu", &s, &h) != 2)
                usage();
            rl->type = xstrndup(optarg, (size_t)(eq - optarg));
            rl->soft = s;
            rl->hard = h;
            PUSH(proc.rlimits, proc.n_rlimits, rl);
            break;
        }
        case 'C':
            if (strcmp(optarg, "none") == 0)
                n_capnames = 0;
            else
                capnames = split_list(optarg, &n_capnames);
            break;
        case 'A':
            caps.ambient = split_list(optarg, &caps.n_ambient);
            caps.inheritable = caps.ambient;
            caps.n_inheritable = caps.n_ambient;
            break;
        case 'P':
            proc.nonewprivileges = true;
            break;
        case 'O':
            proc.oomscoreadj = atoll(optarg);
            break;
        case 's': {
            Grpc__Linux__SysctlEntry *e = xcalloc(1, sizeof(*e));
            char *eq = strchr(optarg, '=');
            if (!eq)
                usage();
            e->key = xstrndup(optarg, (size_t)(eq - optarg));
            e->value = xstrdup(eq + 1);
            PUSH(lx.sysctl, lx.n_sysctl, e);
            break;
        }
        case 'x':
            PUSH(lx.uidmappings, lx.n_uidmappings, parse_map(optarg));
            break;
        case 'y':
            PUSH(lx.gidmappings, lx.n_gidmappings, parse_map(optarg));
            break;
        case 'G':
            cgpath = optarg;
            break;
        case 'L':
            mem.limit = atoll(optarg);
            res.memory = &mem;
            break;
        case 'p':
            pids.limit = atoll(optarg);
            res.pids = &pids;
            break;
        case 'H':
            hold = true;
            break;
        case 'E':
            exec_pid = atoi(optarg);
            break;
        case 'K':
            killall = atoi(optarg);
            break;
        case 'S':
            stats = true;
            break;
        case 'q':
            lx.rootfspropagation = optarg;
            break;
        case 'Z':
            cgroot = optarg;
            break;
        case 'w':
            pidfile = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind >= argc || (!root.path && !exec_pid))
        usage();
    /* Counted like protobuf's arrays, without a terminating NULL. */
    proc.n_args = (size_t)(argc - optind);
    proc.args = xmalloc(proc.n_args * sizeof(char *));
    memcpy(proc.args, argv + optind, proc.n_args * sizeof(char *));
    if (proc.n_env == 0)
        PUSH(proc.env, proc.n_env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    caps.bounding = caps.effective = caps.permitted = capnames;
    caps.n_bounding = caps.n_effective = caps.n_permitted = n_capnames;
    if (caps.n_ambient == 0) {
        caps.inheritable = capnames;
        caps.n_inheritable = n_capnames;
    }
    size_t n_ns;
    char **nss = split_list(ns_list, &n_ns);
    for (size_t i = 0; i < n_ns; i++) {
        if (strcmp(nss[i], "none") == 0)
            continue;
        Grpc__LinuxNamespace *ns = xcalloc(1, sizeof(*ns));
        ns->type = nss[i];
        ns->path = "";
        PUSH(lx.namespaces, lx.n_namespaces, ns);
    }
    if (defaults) {
        Grpc__Mount *dm[] = {
            new_mount("/proc", "proc", "proc", "nosuid,noexec,nodev"),
            new_mount("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
            new_mount("/dev/pts", "devpts", "devpts",
                      "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"),
            new_mount("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
            new_mount("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
            new_mount("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
        };
        Grpc__Mount **all = NULL;
        size_t n = 0;
        for (size_t i = 0; i < sizeof(dm) / sizeof(dm[0]); i++)
            PUSH(all, n, dm[i]);
        for (size_t i = 0; i < spec.n_mounts; i++)
            PUSH(all, n, spec.mounts[i]);
        spec.mounts = all;
        spec.n_mounts = n;
    }

    struct kerr *err = NULL;
    struct cgroup *cg = NULL;
    if (cgpath) {
        char *rel = NULL;
        if (cgroup_path_from_spec(cgpath, "spawn-run", &rel, &err) < 0 ||
            cgroup_create(cgroot, rel, &res, &cg, &err) < 0)
            fail(err);
        free(rel);
    }
    int oom_fd = -1;
    if (stats && cg && cgroup_oom_fd(cg, &oom_fd, &err) < 0)
        fail(err);
    struct spawn_config cfg = {
        .spec = &spec,
        .process = &proc,
        .container_id = "spawn-run",
        .exec = exec_pid > 0,
        .init_pid = exec_pid,
        .cgroup = cg,
        .hold = hold,
    };
    struct spawn_result r;
    char cwd_before[4096];
    mode_t umask_before = umask(0077);
    umask(umask_before);
    if (getcwd(cwd_before, sizeof(cwd_before)) == NULL)
        return 2;
    int sr = spawn_process(&cfg, &r, &err);
    check_unchanged(cwd_before, umask_before);
    if (sr < 0)
        fail(err);
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)r.pid);
            fclose(f);
        }
    }
    if (hold) {
        /* Still held: the command has not run, so nothing may have been printed. */
        struct pollfd p = {.fd = r.stdout_fd, .events = POLLIN};
        if (poll(&p, 1, 200) != 0) {
            fprintf(stderr, "spawn-run: held process produced output or closed stdout\n");
            return 124;
        }
        if (spawn_release(&r, &err) < 0)
            fail(err);
    }
    if (killall && cg) {
        /* Give the container time to start its children, then kill the whole cgroup. */
        usleep(500 * 1000);
        pid_t *pids = NULL;
        size_t n = 0;
        if (cgroup_pids(cg, &pids, &n, &err) < 0 || cgroup_kill_all(cg, killall, &err) < 0)
            fail(err);
        fprintf(stderr, "spawn-run: signalled %zu processes\n", n);
        free(pids);
    }
    forward(&r);
    int status = 0;
    while (waitpid(r.pid, &status, 0) < 0 && errno == EINTR)
        ;
    spawn_result_close(&r);
    if (stats && cg) {
        enum cgroup_oom oom = CGROUP_OOM_NONE;
        Grpc__CgroupStats *st = NULL;
        if (cgroup_oom_check(cg, &oom, &err) < 0 || cgroup_stats(cg, &st, &err) < 0)
            fail(err);
        fprintf(stderr,
                "spawn-run: oom=%d memory.limit=%llu memory.max_usage=%llu pids.limit=%llu "
                "cpu.total=%llu\n",
                oom == CGROUP_OOM_KILLED, (unsigned long long)st->memory_stats->usage->limit,
                (unsigned long long)st->memory_stats->usage->max_usage,
                (unsigned long long)st->pids_stats->limit,
                (unsigned long long)st->cpu_stats->cpu_usage->total_usage);
        cgroup_stats_free(st);
    }
    if (cg) {
        if (cgroup_destroy(cg, &err) < 0)
            fprintf(stderr, "spawn-run: %s\n", err->msg);
        cgroup_free(cg);
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
