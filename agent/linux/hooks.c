#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-out.h"
#include "ttrpc.h"
#include "xalloc.h"

/* Enough of the hook's output to say why it failed. */
#define OUTPUT_KEEP 512

char *hook_state_json(const struct hook_state *st, const char *status, pid_t pid)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        abort();
    fputs("{\"ociVersion\":", f);
    json_put_string(f, st->oci_version ? st->oci_version : "");
    fputs(",\"id\":", f);
    json_put_string(f, st->id);
    fputs(",\"status\":", f);
    json_put_string(f, status);
    fprintf(f, ",\"pid\":%d", pid > 0 ? (int)pid : 0);
    fputs(",\"bundle\":", f);
    json_put_string(f, st->bundle ? st->bundle : "");
    if (st->n_annotations) {
        fputs(",\"annotations\":{", f);
        for (size_t i = 0; i < st->n_annotations; i++) {
            if (i)
                fputc(',', f);
            json_put_string(f, st->annotations[i]->key ? st->annotations[i]->key : "");
            fputc(':', f);
            json_put_string(f, st->annotations[i]->value ? st->annotations[i]->value : "");
        }
        fputc('}', f);
    }
    fputc('}', f);
    if (fclose(f) != 0)
        abort();
    return buf;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the forked hook process: only async-signal-safe calls until execve. */
static _Noreturn void hook_child(const char *path, char **argv, char **envp, int in, int out)
{
    /* its own group, so that a timeout kills what the hook started too; and gone with
     * whoever runs it (a setup child killed by the agent must not leave it behind) */
    (void)setpgid(0, 0);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++)
        (void)sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    (void)syscall(SYS_close_range, 3U, ~0U, 0);
    execve(path, argv, envp);
    static const char msg[] = "cannot execute the hook\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
}

struct hook_io {
    int in;  /* write end of the hook's stdin, -1 once all is written or refused */
    int out; /* read end of its stdout+stderr, -1 at EOF */
    const char *state;
    size_t state_len, state_done;
    char output[OUTPUT_KEEP + 1];
    size_t output_len;
};

static void io_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void io_write(struct hook_io *io)
{
    while (io->state_done < io->state_len) {
        ssize_t n = write(io->in, io->state + io->state_done, io->state_len - io->state_done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break; /* the hook need not read its stdin (EPIPE) */
        io->state_done += (size_t)n;
    }
    io_close(&io->in);
}

static void io_read(struct hook_io *io)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(io->out, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        size_t keep = OUTPUT_KEEP - io->output_len;
        keep = keep < (size_t)n ? keep : (size_t)n;
        memcpy(io->output + io->output_len, buf, keep);
        io->output_len += keep;
    }
    io_close(&io->out);
}

/* Feeds stdin and collects output until the hook exits or the deadline passes. Returns 1 when
 * the process has exited (pidfd readable), 0 on the deadline. The output is read to its end
 * only while the hook lives: a daemon it left behind may hold the pipe. */
static int io_pump(struct hook_io *io, int pidfd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[3] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = io->in, .events = POLLOUT},
                              {.fd = io->out, .events = POLLIN}};
        int n = poll(p, 3, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n <= 0)
            continue;
        if (p[1].revents)
            io_write(io);
        if (p[2].revents)
            io_read(io);
        if (p[0].revents) {
            if (io->out >= 0)
                io_read(io);
            return 1;
        }
    }
}

static char **null_terminated(char **v, size_t n, const char *first)
{
    char **r = xcalloc(n + 2, sizeof(char *));
    if (n == 0 && first) {
        r[0] = (char *)first;
        return r;
    }
    if (n)
        memcpy(r, v, n * sizeof(char *));
    return r;
}

static void trim_output(struct hook_io *io)
{
    io->output[io->output_len] = '\0';
    while (io->output_len && (io->output[io->output_len - 1] == '\n'))
        io->output[--io->output_len] = '\0';
}

/* A hook that exits without reading its stdin must not kill the caller with SIGPIPE: the
 * setup child has every signal at its default and cannot ignore it (an ignored signal would
 * stay ignored in the container process). Blocked around the run, a pending one dropped. */
struct sigpipe_guard {
    sigset_t old;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    sigprocmask(SIG_BLOCK, &s, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
    sigset_t s, pending;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    if (!sigismember(&g->old, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&s, NULL, &zero);
    }
    sigprocmask(SIG_SETMASK, &g->old, NULL);
}

int hook_run(const Grpc__Hook *h, const char *kind, const char *state, struct kerr **err)
{
    if (h->path == NULL || h->path[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "%s hook: path '%s' is not absolute", kind,
                           h->path ? h->path : "");
    if (h->timeout < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "%s hook %s: timeout %lld is not positive",
                           kind, h->path, (long long)h->timeout);
    int64_t timeout_s = h->timeout > 0 ? h->timeout : HOOK_DEFAULT_TIMEOUT_S;
    cleanup_free char **argv = null_terminated(h->args, h->n_args, h->path);
    cleanup_free char **envp = null_terminated(h->env, h->n_env, NULL);
    __attribute__((cleanup(sigpipe_restore))) struct sigpipe_guard guard;
    sigpipe_block(&guard);
    int pin[2], pout[2];
    if (pipe2(pin, O_CLOEXEC) < 0)
        return make_error(err, errno, "%s hook %s: pipe", kind, h->path);
    if (pipe2(pout, O_CLOEXEC) < 0) {
        int e = errno;
        close(pin[0]);
        close(pin[1]);
        return make_error(err, e, "%s hook %s: pipe", kind, h->path);
    }
    pid_t pid = fork();
    if (pid == 0)
        hook_child(h->path, argv, envp, pin[0], pout[1]);
    int fork_errno = errno;
    close(pin[0]);
    close(pout[1]);
    struct hook_io io = {.in = pin[1], .out = pout[0], .state = state, .state_len = strlen(state)};
    if (pid < 0) {
        io_close(&io.in);
        io_close(&io.out);
        return make_error(err, fork_errno, "%s hook %s: fork", kind, h->path);
    }
    (void)fcntl(io.in, F_SETFL, O_NONBLOCK);
    (void)fcntl(io.out, F_SETFL, O_NONBLOCK);
    cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    bool exited = pidfd >= 0 && io_pump(&io, pidfd, now_ms() + timeout_s * 1000) == 1;
    io_close(&io.in);
    io_close(&io.out);
    if (!exited) {
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
    trim_output(&io);
    const char *sep = io.output_len ? ": " : "";
    if (pidfd < 0)
        return make_error(err, EIO, "%s hook %s: cannot watch it", kind, h->path);
    if (!exited)
        return make_status(err, RPC_DEADLINE_EXCEEDED, 0, "%s hook %s timed out after %lld s%s%s",
                           kind, h->path, (long long)timeout_s, sep, io.output);
    if (WIFSIGNALED(status))
        return make_status(err, RPC_INTERNAL, 0, "%s hook %s killed by signal %d%s%s", kind,
                           h->path, WTERMSIG(status), sep, io.output);
    if (WEXITSTATUS(status) != 0)
        return make_status(err, RPC_INTERNAL, 0, "%s hook %s exited with status %d%s%s", kind,
                           h->path, WEXITSTATUS(status), sep, io.output);
    return 0;
}

int hooks_run(Grpc__Hook *const *hooks, size_t n, const char *kind, const char *state,
              struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        int r = hook_run(hooks[i], kind, state, err);
        if (r < 0)
            return r;
    }
    return 0;
}
