/* kata-host pool start|stop|status: the warm VM pool's daemon and its client (pool.h). The
 * daemon has one thread, so forking a keeper from it is safe; the keepers do the slow work. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "background.h"
#include "cleanup.h"
#include "commands.h"
#include "fsutil.h"
#include "loop.h"
#include "options.h"
#include "paths.h"
#include "pool.h"
#include "pool_keeper.h"
#include "pool_shape.h"
#include "sandbox.h"
#include "xalloc.h"

#define POOL_DEFAULT_SIZE 2
#define POOL_MAX_SIZE 64
#define FAILED_LOG "keeper-failed.log"
/* After a keeper fails to start a VM, wait before the next try (doubling, up to the max). */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* How long `pool stop` lets keepers end their VMs before killing them. */
#define STOP_GRACE_MS 10000

static const char pool_usage[] =
    "usage: kata-host pool start [--size N] [--shim-size N] | stop | status";

struct keeper {
    pid_t pid;
    int sock; /* -1 once it hung up */
    pid_t qemu;
    bool ready;
    enum pool_shape shape;
};

struct daemon {
    char *dir;
    char *key[POOL_SHAPES];
    int size[POOL_SHAPES];
    int listen_fd, sig_fd;
    struct keeper k[POOL_MAX_SIZE];
    int n;
    int failures;
    int64_t next_try;
};

static char *keeper_dir(const struct daemon *d, pid_t pid)
{
    return xasprintf("%s/pool-%d", d->dir, (int)pid);
}

static void spawn_keeper(struct daemon *d, enum pool_shape shape)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        close(d->listen_fd);
        close(d->sig_fd);
        for (int i = 0; i < d->n; i++)
            if (d->k[i].sock >= 0)
                close(d->k[i].sock);
        cleanup_free char *dir = keeper_dir(d, getpid());
        pool_keeper_main(sv[1], me, dir, shape);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    d->k[d->n++] = (struct keeper){.pid = pid, .sock = sv[0], .shape = shape};
}

static void forget(struct daemon *d, int i)
{
    if (d->k[i].sock >= 0)
        close(d->k[i].sock);
    d->k[i] = d->k[--d->n];
}

static void reap(struct daemon *d)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < d->n; i++) {
            if (d->k[i].pid != pid)
                continue;
            if (!d->k[i].ready) {
                /* It never had a VM to offer: try again later, not in a loop. */
                d->failures++;
                int64_t ms = BACKOFF_MIN_MS << (d->failures < 7 ? d->failures - 1 : 6);
                d->next_try = loop_now_ns() + (ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS) * 1000000;
            }
            cleanup_free char *dir = keeper_dir(d, pid);
            (void)paths_remove_tree(dir);
            forget(d, i);
            break;
        }
    }
}

static char *status_text(const struct daemon *d)
{
    int ready = 0;
    for (int i = 0; i < d->n; i++)
        ready += d->k[i].ready;
    char *text =
        xasprintf("pid %d\nsize %d\nshim-size %d\nready %d\nstarting %d\ndir %s\n", (int)getpid(),
                  d->size[POOL_SHAPE_RUN], d->size[POOL_SHAPE_SHIM], ready, d->n - ready, d->dir);
    for (int i = 0; i < d->n; i++) {
        const char *shape = pool_shape_name(d->k[i].shape);
        char *next = d->k[i].ready ? xasprintf("%svm %d ready keeper %d shape %s\n", text,
                                               (int)d->k[i].qemu, (int)d->k[i].pid, shape)
                                   : xasprintf("%svm - starting keeper %d shape %s\n", text,
                                               (int)d->k[i].pid, shape);
        free(text);
        text = next;
    }
    cleanup_free char *log = xasprintf("%s/" FAILED_LOG, d->dir);
    cleanup_free char *failed = NULL;
    if (d->failures > 0 && read_file(log, &failed, NULL) == 0) {
        char *next = xasprintf("%slast failure %s\n", text, failed);
        free(text);
        text = next;
    }
    return text;
}

/* Hands the taker's connection to a ready keeper, which answers on it. */
static void take(struct daemon *d, int conn, const char *key)
{
    bool kept = false;
    for (int shape = 0; shape < POOL_SHAPES; shape++)
        kept |= d->size[shape] > 0 && strcmp(key, d->key[shape]) == 0;
    if (!kept) {
        (void)pool_send(conn, "NONE holds VMs of another configuration", -1, NULL);
        return;
    }
    for (int i = 0; i < d->n; i++) {
        if (!d->k[i].ready || d->k[i].sock < 0 || strcmp(key, d->key[d->k[i].shape]) != 0)
            continue;
        if (pool_send(d->k[i].sock, "GIVE", conn, NULL) < 0)
            continue;
        forget(d, i);
        return;
    }
    (void)pool_send(conn, "NONE is empty (refilling)", -1, NULL);
}

/* Ends every VM not handed out and everything of the daemon's on disk. */
static void shutdown_pool(struct daemon *d)
{
    for (int i = 0; i < d->n; i++) {
        if (d->k[i].sock >= 0)
            close(d->k[i].sock); /* an idle keeper ends its VM at EOF */
        d->k[i].sock = -1;
    }
    int64_t deadline = loop_now_ns() + STOP_GRACE_MS * 1000000LL;
    for (int i = 0; i < d->n; i++) {
        /* A starting keeper notices once its VM is up; one that hangs is killed, and its QEMU
         * follows it (PR_SET_PDEATHSIG). */
        while (waitpid(d->k[i].pid, NULL, WNOHANG) == 0) {
            if (loop_now_ns() > deadline) {
                kill(d->k[i].pid, SIGKILL);
                waitpid(d->k[i].pid, NULL, 0);
                break;
            }
            usleep(10000);
        }
        cleanup_free char *dir = keeper_dir(d, d->k[i].pid);
        (void)paths_remove_tree(dir);
    }
    d->n = 0;
    cleanup_free char *sock = xasprintf("%s/" POOL_SOCKET, d->dir);
    cleanup_free char *pidf = xasprintf("%s/" POOL_PID_FILE, d->dir);
    cleanup_free char *log = xasprintf("%s/" FAILED_LOG, d->dir);
    unlink(sock);
    unlink(pidf);
    unlink(log);
    rmdir(d->dir); /* stays while VMs handed out still run */
}

static void serve(struct daemon *d, int conn)
{
    char buf[POOL_MSG_MAX];
    int fd = -1;
    int n = pool_recv(conn, buf, sizeof(buf), &fd, 1000, NULL);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    if (strncmp(buf, "TAKE ", 5) == 0) {
        take(d, conn, buf + 5);
    } else if (strcmp(buf, "STATUS") == 0) {
        cleanup_free char *text = status_text(d);
        (void)pool_send(conn, text, -1, NULL);
    } else if (strcmp(buf, "STOP") == 0) {
        shutdown_pool(d);
        (void)pool_send(conn, "STOPPED", -1, NULL);
        close(conn);
        _exit(0);
    } else {
        (void)pool_send(conn, "NONE unknown request", -1, NULL);
    }
}

static int listen_on(const char *path, struct kerr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return make_error(err, ENAMETOOLONG, "%s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "socket");
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return make_error(err, e, "listen on %s", path);
    }
    return fd;
}

static int daemon_main(struct daemon *d, int notify_fd)
{
    cleanup_error struct kerr *err = NULL;
    prctl(PR_SET_NAME, "kh-pool");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    cleanup_free char *sock = xasprintf("%s/" POOL_SOCKET, d->dir);
    cleanup_free char *pidf = xasprintf("%s/" POOL_PID_FILE, d->dir);
    cleanup_free char *pid_text = xasprintf("%d\n", (int)getpid());
    d->listen_fd = d->sig_fd < 0 ? -1 : listen_on(sock, &err);
    if (d->listen_fd < 0 || pool_write_file(pidf, pid_text, &err) < 0) {
        cleanup_free char *msg = xasprintf("ERR %s\n", err ? err->msg : "signalfd failed");
        if (write(notify_fd, msg, strlen(msg)) < 0) {
        }
        return 1;
    }
    if (write(notify_fd, "OK\n", 3) < 0) {
    }
    close(notify_fd);
    for (;;) {
        reap(d);
        int starting = 0;
        for (int i = 0; i < d->n; i++)
            starting += !d->k[i].ready;
        /* One VM starts at a time: a restore is short, and the runs share the CPUs. */
        if (starting == 0 && loop_now_ns() >= d->next_try) {
            int have[POOL_SHAPES] = {0};
            for (int i = 0; i < d->n; i++)
                have[d->k[i].shape]++;
            for (int shape = 0; shape < POOL_SHAPES; shape++)
                if (have[shape] < d->size[shape]) {
                    spawn_keeper(d, (enum pool_shape)shape);
                    break;
                }
        }
        struct pollfd p[2 + POOL_MAX_SIZE];
        p[0] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = d->sig_fd, .events = POLLIN};
        for (int i = 0; i < d->n; i++)
            p[2 + i] = (struct pollfd){.fd = d->k[i].sock, .events = POLLIN};
        int nk = d->n;
        if (poll(p, (nfds_t)(2 + nk), 200) < 0 && errno != EINTR)
            return 1;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            bool stop = false;
            while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                stop |= si.ssi_signo != SIGCHLD;
            if (stop) {
                shutdown_pool(d);
                return 0;
            }
        }
        for (int i = nk - 1; i >= 0; i--) {
            if (!p[2 + i].revents || i >= d->n || d->k[i].sock != p[2 + i].fd)
                continue;
            char buf[128];
            int fd = -1;
            int n = pool_recv(d->k[i].sock, buf, sizeof(buf), &fd, 0, NULL);
            if (fd >= 0)
                close(fd);
            int qemu = 0;
            if (n > 0 && sscanf(buf, "READY %d", &qemu) == 1 && qemu > 0) {
                d->k[i].ready = true;
                d->k[i].qemu = qemu;
                d->failures = 0;
            } else if (n <= 0 && n != -ETIMEDOUT) {
                close(d->k[i].sock);
                d->k[i].sock = -1; /* reaped soon */
            }
        }
        if (p[0].revents) {
            int conn = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (conn >= 0) {
                serve(d, conn);
                close(conn);
            }
        }
    }
}

/* Files a pool killed with SIGKILL left: its socket, pid file, and the directories of keepers
 * that are gone (those of VMs still in use stay). */
static void remove_stale(const char *dir)
{
    cleanup_free char *sock = xasprintf("%s/" POOL_SOCKET, dir);
    cleanup_free char *pidf = xasprintf("%s/" POOL_PID_FILE, dir);
    cleanup_free char *log = xasprintf("%s/" FAILED_LOG, dir);
    unlink(sock);
    unlink(pidf);
    unlink(log);
    cleanup_dir DIR *dd = opendir(dir);
    struct dirent *e;
    while (dd && (e = readdir(dd)) != NULL) {
        int pid = 0;
        if (sscanf(e->d_name, "pool-%d", &pid) != 1 || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno == EPERM)
            continue;
        cleanup_free char *sub = xasprintf("%s/%s", dir, e->d_name);
        (void)paths_remove_tree(sub);
    }
    rmdir(dir);
}

/* "ready N" of a status text, -1 if absent. */
static int status_field(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return atoi(l + n + 1);
    return -1;
}

/* The template key of a shape's VMs, or NULL with the error reported. */
static char *shape_key(enum pool_shape shape)
{
    cleanup_error struct kerr *err = NULL;
    struct run_opts o;
    struct sandbox sb;
    if (pool_shape_opts(shape, NULL, NULL, &o, &err) < 0) {
        report_error("pool: %s", err->msg);
        return NULL;
    }
    int r = sandbox_prepare(&sb, &o, &err);
    char *key = r == 0 && sb.poolable ? template_key(&sb.vmc) : NULL;
    sandbox_teardown(&sb);
    pool_shape_opts_free(shape, &o);
    if (r < 0)
        report_error("pool: %s", err->msg);
    else if (!key)
        report_error("pool: pooled VMs start from the VM template, which needs QEMU under TCG "
                     "(--accel tcg or KATA_HOST_ACCEL=tcg), the serial channel (no vhost-vsock) "
                     "and templates enabled (KATA_HOST_TEMPLATE)%s",
                     shape == POOL_SHAPE_SHIM ? "; for the shim also initrd boot and 9p (its "
                                                "shared_fs)"
                                              : "");
    return key;
}

static int pool_start(const int size[POOL_SHAPES])
{
    int total = size[POOL_SHAPE_RUN] + size[POOL_SHAPE_SHIM];
    if (total > POOL_MAX_SIZE) {
        report_error("pool: at most %d VMs in all", POOL_MAX_SIZE);
        return EXIT_KATA_HOST;
    }
    if (total == 0) {
        report_error("pool: --size and --shim-size are both 0: there would be nothing to keep");
        return EXIT_KATA_HOST;
    }
    cleanup_error struct kerr *err = NULL;
    cleanup_free char *dir = pool_dir();
    int fd = pool_connect(NULL);
    if (fd >= 0) {
        close(fd);
        report_error("pool: a VM pool already runs (%s)", dir);
        return EXIT_KATA_HOST;
    }
    /* The run shape is the default configuration of `kata-host run` (and the environment's
     * KATA_HOST_ACCEL, KATA_HOST_TEMPLATE_DIR); the shim's, its configuration file's. Both must
     * be able to start from a template. */
    char *key[POOL_SHAPES] = {NULL, NULL};
    for (int shape = 0; shape < POOL_SHAPES; shape++) {
        if (size[shape] > 0 && !(key[shape] = shape_key((enum pool_shape)shape))) {
            free(key[0]);
            return EXIT_KATA_HOST;
        }
        if (!key[shape])
            key[shape] = xstrdup("");
    }
    remove_stale(dir);
    if (mkdir_p(dir, 0700, &err) < 0) {
        report_error("pool: %s", err->msg);
        return EXIT_KATA_HOST;
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        report_error("pool: pipe: %s", strerror(errno));
        return EXIT_KATA_HOST;
    }
    pid_t pid = background_fork();
    if (pid < 0) {
        report_error("pool: fork: %s", strerror(errno));
        return EXIT_KATA_HOST;
    }
    if (pid == 0) {
        close(pipefd[0]);
        struct daemon d = {.dir = dir,
                           .key = {key[0], key[1]},
                           .size = {size[0], size[1]},
                           .listen_fd = -1,
                           .sig_fd = -1};
        _exit(daemon_main(&d, pipefd[1]));
    }
    close(pipefd[1]);
    for (int shape = 0; shape < POOL_SHAPES; shape++)
        free(key[shape]);
    char buf[512] = "";
    ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
    close(pipefd[0]);
    if (n < 2 || strncmp(buf, "OK", 2) != 0) {
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        report_error("pool: the daemon did not start: %s", n > 4 ? buf + 4 : "it died");
        return EXIT_KATA_HOST;
    }
    /* Returns once the pool is warm, so what follows gets pooled VMs. */
    const char *e = getenv("KATA_HOST_BOOT_TIMEOUT");
    int64_t deadline = loop_now_ns() + (int64_t)(e && atoi(e) > 0 ? atoi(e) : 30) * 2000000000LL;
    cleanup_free char *text = NULL;
    for (;;) {
        free(text);
        text = NULL;
        if (pool_request("STATUS", 2000, &text, &err) < 0) {
            report_error("pool: %s", err->msg);
            return EXIT_KATA_HOST;
        }
        if (status_field(text, "ready") >= total || loop_now_ns() > deadline)
            break;
        usleep(20000);
    }
    int ready = status_field(text, "ready");
    cleanup_free char *for_shim =
        size[POOL_SHAPE_SHIM] ? xasprintf(" (%d for the shim)", size[POOL_SHAPE_SHIM]) : NULL;
    printf("VM pool started: pid %d, size %d%s, ready %d (%s)\n", status_field(text, "pid"), total,
           for_shim ? for_shim : "", ready, dir);
    if (ready < total)
        report_error("pool: only %d of %d VMs are ready yet (see kata-host pool status)", ready,
                     total);
    return 0;
}

static int pool_stop(void)
{
    cleanup_error struct kerr *err = NULL;
    cleanup_free char *dir = pool_dir();
    cleanup_free char *text = NULL;
    if (pool_request("STOP", STOP_GRACE_MS + 5000, &text, &err) < 0) {
        remove_stale(dir);
        if (err->errnum == ENOENT || err->errnum == ECONNREFUSED) {
            report_error("pool: %s", err->msg);
            return 1;
        }
        report_error("pool: stop: %s", err->msg);
        return EXIT_KATA_HOST;
    }
    printf("VM pool stopped\n");
    return 0;
}

static int pool_status(void)
{
    cleanup_error struct kerr *err = NULL;
    cleanup_free char *text = NULL;
    if (pool_request("STATUS", 2000, &text, &err) < 0) {
        report_error("pool: %s", err->msg);
        return 1;
    }
    fputs(text, stdout);
    return 0;
}

static const struct option pool_longopts[] = {
    {"size", required_argument, NULL, 's'},
    {"shim-size", required_argument, NULL, 'S'},
    {NULL, 0, NULL, 0},
};
const struct options_table options_pool = {pool_longopts, "+:s:S:"};

int cmd_pool(int argc, char **argv)
{
    if (argc < 2) {
        report_error("pool: missing subcommand (%s)", pool_usage);
        return EXIT_KATA_HOST;
    }
    const char *sub = argv[1];
    int size[POOL_SHAPES] = {[POOL_SHAPE_RUN] = POOL_DEFAULT_SIZE, [POOL_SHAPE_SHIM] = 0};
    int opt;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc - 1, argv + 1, options_pool.shortopts, options_pool.longopts,
                              NULL)) != -1) {
        const char *name = opt == 'S' ? "--shim-size" : "--size";
        char *end = NULL;
        if ((opt == 's' || opt == 'S') && strcmp(sub, "start") == 0) {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > POOL_MAX_SIZE) {
                report_error("pool: %s wants 0 to %d, not '%s'", name, POOL_MAX_SIZE, optarg);
                return EXIT_KATA_HOST;
            }
            size[opt == 'S' ? POOL_SHAPE_SHIM : POOL_SHAPE_RUN] = (int)v;
            continue;
        }
        cleanup_error struct kerr *err = NULL;
        if (opt == 's' || opt == 'S')
            (void)make_error(&err, EINVAL, "%s is an option of pool start", name);
        else
            (void)options_bad(argc - 1, argv + 1, opt, &err);
        report_error("pool: %s (%s)", err->msg, pool_usage);
        return EXIT_KATA_HOST;
    }
    if (optind < argc - 1) {
        report_error("pool: unexpected argument '%s' (%s)", argv[optind + 1], pool_usage);
        return EXIT_KATA_HOST;
    }
    if (strcmp(sub, "start") == 0)
        return pool_start(size);
    if (strcmp(sub, "stop") == 0)
        return pool_stop();
    if (strcmp(sub, "status") == 0)
        return pool_status();
    report_error("pool: unknown subcommand '%s' (%s)", sub, pool_usage);
    return EXIT_KATA_HOST;
}
