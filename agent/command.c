/* Helper programs run from the loop (iptables-save/-restore): stdin fed from a buffer through
 * a non-blocking pipe, stdout/stderr collected, the exit status taken from the agent's reaper
 * (sandbox_reap hands over the pids of registered commands), deadlines on loop timers. The
 * loop never waits for the program. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

extern char **environ;

/* More output than a reply can carry is read and dropped. */
#define OUTPUT_MAX TTRPC_MAX_DATA

struct output {
    int fd;
    struct loop_source *src;
    char *buf;
    size_t len;
};

struct command {
    struct command *next;
    struct sandbox *sb;
    pid_t pid;
    int in_fd;
    struct loop_source *in_src;
    const uint8_t *in;
    size_t in_len, in_done;
    struct output out, err;
    struct loop_timer *stdin_timer, *timer;
    struct command_result res;
    command_done_fn done;
    void *data;
};

static void unregister(struct command *c)
{
    for (struct command **p = &c->sb->commands; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static void unwatch(struct loop_source **src, int *fd)
{
    if (*src)
        loop_remove_fd(*src);
    if (*fd >= 0)
        close(*fd);
    *src = NULL;
    *fd = -1;
}

static void close_output(struct output *o)
{
    unwatch(&o->src, &o->fd);
}

static void close_stdin(struct command *c)
{
    unwatch(&c->in_src, &c->in_fd);
    loop_cancel_timer(c->stdin_timer);
    c->stdin_timer = NULL;
}

static void command_free(struct command *c)
{
    unregister(c);
    close_stdin(c);
    close_output(&c->out);
    close_output(&c->err);
    loop_cancel_timer(c->timer);
    free(c->out.buf);
    free(c->err.buf);
    free(c);
}

static void kill_child(struct command *c)
{
    if (!c->res.exited)
        (void)kill(c->pid, SIGKILL);
}

/* Done once the program has exited and both outputs reached their end, or on a deadline. */
static void maybe_finish(struct command *c, bool force)
{
    if (!force && (!c->res.exited || c->out.fd >= 0 || c->err.fd >= 0))
        return;
    if (force)
        kill_child(c);
    c->res.out = c->out.buf ? c->out.buf : "";
    c->res.out_len = c->out.len;
    c->res.err = c->err.buf ? c->err.buf : "";
    c->res.err_len = c->err.len;
    c->done(c, &c->res, c->data);
    command_free(c);
}

static void on_output(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct command *c = data;
    struct output *o = fd == c->out.fd ? &c->out : &c->err;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        size_t keep = o->len < OUTPUT_MAX ? OUTPUT_MAX - o->len : 0;
        keep = keep < (size_t)n ? keep : (size_t)n;
        if (keep) {
            o->buf = xrealloc(o->buf, o->len + keep + 1);
            memcpy(o->buf + o->len, buf, keep);
            o->len += keep;
            o->buf[o->len] = '\0';
        }
    }
    close_output(o);
    maybe_finish(c, false);
}

static void on_stdin(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct command *c = data;
    while (c->in_done < c->in_len) {
        ssize_t n = write(fd, c->in + c->in_done, c->in_len - c->in_done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* the program closed its stdin (EPIPE): what it did not read is its business,
             * as for upstream, whose writer ignores the error */
            log_debug("command", "stdin of %d: %m", (int)c->pid);
            break;
        }
        c->in_done += (size_t)n;
    }
    close_stdin(c);
}

static void on_stdin_timeout(struct loop_timer *t, void *data)
{
    struct command *c = data;
    c->stdin_timer = NULL;
    c->res.stdin_timed_out = true;
    maybe_finish(c, true);
}

static void on_timeout(struct loop_timer *t, void *data)
{
    struct command *c = data;
    c->timer = NULL;
    c->res.timed_out = true;
    maybe_finish(c, true);
}

bool command_reaped(struct sandbox *sb, pid_t pid, int wstatus)
{
    for (struct command *c = sb->commands; c; c = c->next)
        if (c->pid == pid && !c->res.exited) {
            c->res.exited = true;
            c->res.wstatus = wstatus;
            maybe_finish(c, false);
            return true;
        }
    return false;
}

static int make_pipe(int fds[2], bool parent_reads, struct kerr **err)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return make_error(err, errno, "pipe");
    int mine = parent_reads ? fds[0] : fds[1];
    (void)fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
    return 0;
}

static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    fds[0] = fds[1] = -1;
}

/* posix_spawn: the agent's blocked signals (signalfd) and ignored SIGPIPE are not for the
 * program; its only fds are the three pipes (everything of the agent is O_CLOEXEC). */
static int spawn(char *const argv[], int in, int out, int errfd, pid_t *pid, struct kerr **err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    posix_spawnattr_init(&attr);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int r = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r != 0)
        return make_error(err, r, "failed to run %s", argv[0]);
    return 0;
}

int command_start(struct sandbox *sb, char *const argv[], const uint8_t *in, size_t in_len,
                  int64_t stdin_timeout_ns, int64_t timeout_ns, command_done_fn done, void *data,
                  struct command **ret, struct kerr **err)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    pid_t pid;
    int r = make_pipe(pin, false, err);
    if (r == 0)
        r = make_pipe(pout, true, err);
    if (r == 0)
        r = make_pipe(perr, true, err);
    if (r == 0)
        r = spawn(argv, pin[0], pout[1], perr[1], &pid, err);
    if (r < 0) {
        close_pair(pin);
        close_pair(pout);
        close_pair(perr);
        return r;
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);

    struct command *c = xcalloc(1, sizeof(*c));
    c->sb = sb;
    c->pid = pid;
    c->done = done;
    c->data = data;
    c->in = in;
    c->in_len = in_len;
    c->in_fd = pin[1];
    c->out.fd = pout[0];
    c->err.fd = perr[0];
    c->next = sb->commands;
    sb->commands = c;
    c->out.src = loop_add_fd(sb->loop, c->out.fd, EPOLLIN, on_output, c);
    c->err.src = loop_add_fd(sb->loop, c->err.fd, EPOLLIN, on_output, c);
    if (in_len) {
        c->in_src = loop_add_fd(sb->loop, c->in_fd, EPOLLOUT, on_stdin, c);
        c->stdin_timer = loop_add_timer(sb->loop, stdin_timeout_ns, on_stdin_timeout, c);
    } else {
        close_stdin(c);
    }
    c->timer = loop_add_timer(sb->loop, timeout_ns, on_timeout, c);
    *ret = c;
    return 0;
}

void command_cancel(struct command *c)
{
    kill_child(c);
    command_free(c);
}
