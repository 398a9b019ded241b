/* A static multi-call test payload copied into test rootfses, so the agent's tests need no
 * distro image: `payload CMD [ARGS]`. Every subcommand exits 0 on success and 1 with a message
 * on stderr on failure, so a test can tell its own mistakes from the agent's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int die(const char *what)
{
    fprintf(stderr, "payload: %s: %s\n", what, strerror(errno));
    return 1;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cmd_cat(void)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return die("read");
        if (r == 0)
            return 0;
        if (write_all(1, buf, (size_t)r) < 0)
            return die("write");
    }
}

static int cmd_echo(int argc, char **argv, int fd)
{
    for (int i = 0; i < argc; i++) {
        if (i)
            dprintf(fd, " ");
        dprintf(fd, "%s", argv[i]);
    }
    dprintf(fd, "\n");
    return 0;
}

static void on_term(int sig)
{
    static const char msg[] = "got SIGTERM\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(42);
}

/* Writes `n` bytes of a repeating pattern (0..255), so a test can check every byte. */
static int cmd_pattern(long n)
{
    char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i & 0xff);
    while (n > 0) {
        size_t chunk = n < (long)sizeof buf ? (size_t)n : sizeof buf;
        if (write_all(1, buf, chunk) < 0)
            return die("write");
        n -= (long)chunk;
    }
    return 0;
}

static int cmd_print_caps(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    if (!f)
        return die("open /proc/self/status");
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Cap", 3) == 0)
            fputs(line, stdout);
    fclose(f);
    return 0;
}

static int cmd_memhog(long mib)
{
    for (long i = 0; i < mib; i++) {
        char *p = malloc(1 << 20);
        if (!p)
            return die("malloc");
        memset(p, 1, 1 << 20);
    }
    pause();
    return 0;
}

static int usage(void);

static void on_sigsys(int sig)
{
    static const char msg[] = "trap\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(0);
}

/* `syscall NAME|NR [ARGS]`: makes one system call with the given arguments (decimal or 0x..;
 * the filter sees them even where the call ignores them) and prints "ok", "errno N", or
 * "trap" when a SIGSYS handler ran (seccomp's TRAP); a seccomp kill ends the process by
 * SIGSYS before anything is printed. Output goes out with write(2) right after the call. */
static int cmd_syscall(int argc, char **argv)
{
    static const struct {
        const char *name;
        long nr;
    } names[] = {
        {"getpid", SYS_getpid}, {"getppid", SYS_getppid},         {"getuid", SYS_getuid},
        {"getgid", SYS_getgid}, {"geteuid", SYS_geteuid},         {"getegid", SYS_getegid},
        {"gettid", SYS_gettid}, {"sched_yield", SYS_sched_yield}, {"getpgid", SYS_getpgid},
        {"getsid", SYS_getsid},
    };
    if (argc < 1 || argc > 7)
        return usage();
    long nr = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(argv[0], names[i].name) == 0)
            nr = names[i].nr;
    if (nr < 0)
        nr = strtol(argv[0], NULL, 0);
    unsigned long a[6] = {0};
    for (int i = 1; i < argc; i++)
        a[i - 1] = strtoul(argv[i], NULL, 0);
    signal(SIGSYS, on_sigsys);
    errno = 0;
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int e = errno;
    char out[64];
    int n = r < 0 ? snprintf(out, sizeof out, "errno %d\n", e) : snprintf(out, sizeof out, "ok\n");
    (void)!write(1, out, (size_t)n);
    return 0;
}

static int usage(void)
{
    fputs("usage: payload cat|echo ARGS|echo-stderr ARGS|printenv [VAR]|cwd|id|isatty [FD]|pause|\n"
          "  sleep SECS|exit N|kill-self SIG|trap-term|pattern BYTES|fork-orphans N|print-caps|\n"
          "  memhog MIB|hostname|pid|pipe-size|syscall NAME|NR [ARGS]\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *cmd = strrchr(argv[0], '/');
    cmd = cmd ? cmd + 1 : argv[0];
    if (strcmp(cmd, "payload") == 0) {
        if (argc < 2)
            return usage();
        argv++;
        argc--;
        cmd = argv[0];
    }
    char *arg = argc > 1 ? argv[1] : NULL;

    if (strcmp(cmd, "cat") == 0)
        return cmd_cat();
    if (strcmp(cmd, "echo") == 0)
        return cmd_echo(argc - 1, argv + 1, 1);
    if (strcmp(cmd, "echo-stderr") == 0)
        return cmd_echo(argc - 1, argv + 1, 2);
    if (strcmp(cmd, "printenv") == 0) {
        if (arg) {
            const char *v = getenv(arg);
            if (!v)
                return 1;
            puts(v);
            return 0;
        }
        for (char **e = environ; *e; e++)
            puts(*e);
        return 0;
    }
    if (strcmp(cmd, "cwd") == 0) {
        char buf[4096];
        if (!getcwd(buf, sizeof buf))
            return die("getcwd");
        puts(buf);
        return 0;
    }
    if (strcmp(cmd, "id") == 0) {
        gid_t groups[64];
        int n = getgroups(64, groups);
        printf("uid=%u gid=%u groups=", getuid(), getgid());
        for (int i = 0; i < n; i++)
            printf("%s%u", i ? "," : "", groups[i]);
        printf("\n");
        return 0;
    }
    if (strcmp(cmd, "isatty") == 0) {
        int fd = arg ? atoi(arg) : 0;
        puts(isatty(fd) ? "tty" : "notty");
        return 0;
    }
    if (strcmp(cmd, "pause") == 0) {
        for (;;)
            pause();
    }
    if (strcmp(cmd, "sleep") == 0 && arg) {
        sleep((unsigned)atoi(arg));
        return 0;
    }
    if (strcmp(cmd, "exit") == 0 && arg)
        return atoi(arg);
    if (strcmp(cmd, "kill-self") == 0 && arg) {
        int sig = atoi(arg);
        signal(sig, SIG_DFL);
        raise(sig);
        return die("raise");
    }
    if (strcmp(cmd, "trap-term") == 0) {
        signal(SIGTERM, on_term);
        puts("ready");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (strcmp(cmd, "pattern") == 0 && arg)
        return cmd_pattern(atol(arg));
    if (strcmp(cmd, "fork-orphans") == 0 && arg) {
        /* Children that outlive their parent: the agent (a subreaper) must reap them. */
        for (int i = 0; i < atoi(arg); i++) {
            pid_t p = fork();
            if (p < 0)
                return die("fork");
            if (p == 0) {
                usleep(100000);
                _exit(0);
            }
        }
        return 0;
    }
    if (strcmp(cmd, "print-caps") == 0)
        return cmd_print_caps();
    if (strcmp(cmd, "memhog") == 0 && arg)
        return cmd_memhog(atol(arg));
    if (strcmp(cmd, "hostname") == 0) {
        char buf[256];
        if (gethostname(buf, sizeof buf) < 0)
            return die("gethostname");
        puts(buf);
        return 0;
    }
    if (strcmp(cmd, "pid") == 0) {
        printf("%d\n", getpid());
        return 0;
    }
    if (strcmp(cmd, "syscall") == 0)
        return cmd_syscall(argc - 1, argv + 1);
    if (strcmp(cmd, "pipe-size") == 0) { /* of stdout and stderr (agent.container_pipe_size) */
        int out = fcntl(1, F_GETPIPE_SZ), err = fcntl(2, F_GETPIPE_SZ);
        if (out < 0 || err < 0)
            return die("F_GETPIPE_SZ");
        printf("%d %d\n", out, err);
        return 0;
    }
    return usage();
}
