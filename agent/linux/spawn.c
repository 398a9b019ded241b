/* spawn: clone the container process from the agent and drive its setup over a socket pair.
 *
 *   agent                                  child (cloned, new namespaces)
 *   clone -------------------------------> waits for GO
 *   uid/gid maps, cgroup entry, GO ------> joins namespaces, mounts and devices
 *   [prestart, createRuntime hooks] <----- [HOOKS, with hooks of those kinds]
 *   [GO] ---------------------------------> createContainer hooks, pivot_root, pty, user,
 *                                          caps, resolves the command
 *   reads READY (+ pty master) <---------- READY, or ERROR "errno status message"
 *   [hold: later RELEASE] ---------------> startContainer hooks
 *   reads EOF: execve happened <---------- execve (the socket is close-on-exec), or ERROR
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "cleanup.h"
#include "fdpass.h"
#include "exec-path.h"
#include "fsutil.h"
#include "hooks.h"
#include "namespaces.h"
#include "rlimits.h"
#include "rootfs.h"
#include "seccomp.h"
#include "terminal.h"
#include "ttrpc.h"
#include "user.h"
#include "xalloc.h"

/* MSG_HOOKS: the child's mounts are done; the agent runs the prestart and createRuntime hooks
 * and answers MSG_GO (or gives up on the child). */
enum spawn_msg_type { MSG_GO = 1, MSG_READY, MSG_ERROR, MSG_RELEASE, MSG_HOOKS };

struct spawn_msg {
    int32_t type;
    int32_t errnum;
    int32_t status;
    char text[2048];
};

static int send_msg(int sock, int type, const struct kerr *e, int pass_fd)
{
    struct spawn_msg m = {.type = type};
    if (e) {
        m.errnum = e->errnum;
        m.status = error_status(e);
        snprintf(m.text, sizeof(m.text), "%s", e->msg);
    }
    return fdpass_send(sock, &m, sizeof(m), pass_fd) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* Returns the message type, 0 on EOF, -errno on failure. */
static int recv_msg(int sock, struct spawn_msg *m, int *ret_fd)
{
    ssize_t n = fdpass_recv(sock, m, sizeof(*m), ret_fd);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof(*m))
        return -EPROTO;
    m->text[sizeof(m->text) - 1] = '\0';
    return m->type;
}

/* The agent serves everything else from the same thread: a child stuck in its setup (a hung
 * filesystem, say) must not stop it for longer than the host waits for CreateContainer. */
#define SETUP_TIMEOUT_MS 60000

/* recv_msg for the agent side, bounded by SETUP_TIMEOUT_MS (-ETIMEDOUT). */
static int recv_msg_agent(int sock, struct spawn_msg *m, int *ret_fd)
{
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, SETUP_TIMEOUT_MS);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ETIMEDOUT;
    return recv_msg(sock, m, ret_fd);
}

static int error_from_msg(const struct spawn_msg *m, struct kerr **err)
{
    int r = make_status(err, m->status, 0, "%s", m->text);
    if (err && *err)
        (*err)->errnum = m->errnum;
    return m->errnum > 0 ? -m->errnum : r;
}

/* ---------------------------------------------------------------- child side */

struct child_ctx {
    const struct spawn_config *cfg;
    const Grpc__Process *proc;
    struct ns_plan *ns;
    const struct seccomp_prog *seccomp; /* NULL: the spec has none */
    int sock;
    int stdio[3];   /* child ends of the pipes, -1 with a terminal */
    pid_t host_pid; /* the init's pid as the agent sees it, for the hooks' state */
};

static const Grpc__Hooks *init_hooks(const struct spawn_config *cfg)
{
    return cfg->exec || cfg->hook_state == NULL ? NULL : cfg->spec->hooks;
}

/* Our own pid in the agent's pid namespace: its /proc is still mounted here. */
static pid_t agent_view_pid(void)
{
    char buf[32];
    ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return (pid_t)atoi(buf);
}

static int child_hooks(struct child_ctx *c, Grpc__Hook *const *hooks, size_t n, const char *kind,
                       struct kerr **err)
{
    if (n == 0)
        return 0;
    cleanup_free char *state = hook_state_json(c->cfg->hook_state, "created", c->host_pid);
    return hooks_run(hooks, n, kind, state, err);
}

/* Before pivot_root: the agent's hooks (prestart, createRuntime) in its namespaces, then the
 * createContainer hooks here, in the container's, their paths still in the agent's root. */
static int child_before_pivot(void *data, struct kerr **err)
{
    struct child_ctx *c = data;
    const Grpc__Hooks *h = init_hooks(c->cfg);
    if (h == NULL)
        return 0;
    if (h->n_prestart || h->n_createruntime) {
        struct spawn_msg m;
        if (send_msg(c->sock, MSG_HOOKS, NULL, -1) < 0 || recv_msg(c->sock, &m, NULL) != MSG_GO)
            _exit(1); /* a hook failed: the agent gave up on us */
    }
    return child_hooks(c, h->createcontainer, h->n_createcontainer, "createContainer", err);
}

static void reset_signals(void)
{
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++)
        (void)sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static char **build_env(const Grpc__Process *p, const char *home)
{
    size_t n = p->n_env;
    char **env = xcalloc(n + 2, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        env[i] = p->env[i];
    if (env_get(p->env, n, "HOME") == NULL)
        env[n++] = xasprintf("HOME=%s", str_empty(home) ? "/" : home);
    env[n] = NULL;
    return env;
}

/* What execve needs, prepared during setup. */
struct exec_plan {
    char *path;
    char **argv; /* NULL-terminated: protobuf arrays are counted, not terminated */
    char **env;
    int master; /* pty master to hand to the agent, -1 without terminal */
};

static int child_setup(struct child_ctx *c, struct exec_plan *x, struct kerr **err)
{
    const struct spawn_config *cfg = c->cfg;
    const Grpc__Process *p = c->proc;
    struct spawn_msg m;
    int r = recv_msg(c->sock, &m, NULL);
    if (r != MSG_GO)
        _exit(1); /* the agent gave up on us */
    if (init_hooks(cfg))
        c->host_pid = agent_view_pid();
    /* Done with the agent's /proc, before any namespace changes what it shows. */
    r = oom_score_adj_apply(p->oomscoreadj, err);
    if (r < 0)
        return r;
    if (c->ns->new_user) {
        /* Become the namespace's root (if mapped) for the rest of the setup. */
        (void)setresgid(0, 0, 0);
        (void)setresuid(0, 0, 0);
    }
    r = ns_join_child(c->ns, err);
    if (r < 0)
        return r;
    if (setsid() < 0)
        return make_error(err, errno, "setsid");
    if (!p->terminal)
        for (int fd = 0; fd < 3; fd++)
            if (dup2(c->stdio[fd], fd) < 0)
                return make_error(err, errno, "dup2 stdio %d", fd);
    x->argv = xcalloc(p->n_args + 1, sizeof(char *));
    memcpy(x->argv, p->args, p->n_args * sizeof(char *));
    umask(022);
    if (!cfg->exec) {
        if (c->ns->new_uts && !str_empty(cfg->spec->hostname) &&
            sethostname(cfg->spec->hostname, strlen(cfg->spec->hostname)) < 0)
            return make_error(err, errno, "sethostname %s", cfg->spec->hostname);
        if (!c->ns->new_mnt)
            return make_status(err, RPC_INVALID_ARGUMENT, 0,
                               "the container needs a new mount namespace");
        r = rootfs_setup(cfg->spec, cfg->cgroup, child_before_pivot, c, err);
        if (r < 0)
            return r;
    }
    __attribute__((cleanup(user_ids_free))) struct user_ids ids = {0};
    r = user_resolve(p->user, "/etc/passwd", "/etc/group", &ids, err);
    if (r < 0)
        return r;
    x->env = build_env(p, ids.home);
    if (p->terminal) {
        unsigned rows = p->consolesize ? p->consolesize->height : 0;
        unsigned cols = p->consolesize ? p->consolesize->width : 0;
        r = terminal_setup_child(rows, cols, ids.uid, &x->master, err);
        if (r < 0)
            return r;
    }
    const char *cwd = str_empty(p->cwd) ? "/" : p->cwd;
    if (chdir(cwd) < 0)
        return make_error(err, errno, "chdir to cwd \"%s\" set in the process", cwd);
    r = rlimits_apply(p, err);
    if (r < 0)
        return r;
    const Grpc__LinuxCapabilities *capspec = p->capabilities;
    if (capspec == NULL && cfg->exec && cfg->spec->process)
        capspec = cfg->spec->process->capabilities;
    struct caps_sets caps;
    if (capspec) {
        r = caps_from_spec(capspec, &caps, err);
        if (r == 0)
            r = caps_prepare(&caps, err);
        if (r < 0)
            return r;
    }
    /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN, so it goes in while the
     * setup still has every capability (as upstream's agent and crun do); with it, at the
     * very end, so that the profile need not allow the setup's own system calls. */
    if (c->seccomp && !p->nonewprivileges) {
        r = seccomp_install(c->seccomp, err);
        if (r < 0)
            return r;
    }
    r = user_apply(&ids, err);
    if (r == 0 && capspec)
        r = caps_finish(&caps, err);
    if (r == 0 && p->nonewprivileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        r = make_error(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
    if (r < 0)
        return r;
    /* Resolved as the process's own user, like execve will check it. */
    const char *path = env_get(x->env, p->n_env + 1, "PATH");
    return exec_resolve(p->args[0], path, &x->path, err);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Another held container must not keep this one's pipes open (its stdin would never see EOF),
 * so every inherited fd that setup does not need is closed now rather than at execve. */
static void close_other_fds(struct child_ctx *c)
{
    int keep[4 + NS_COUNT], n = 0;
    keep[n++] = c->sock;
    for (int i = 0; i < 3; i++)
        if (c->stdio[i] >= 0)
            keep[n++] = c->stdio[i];
    for (int k = 0; k < NS_COUNT; k++)
        if (c->ns->join_fd[k] >= 0)
            keep[n++] = c->ns->join_fd[k];
    qsort(keep, (size_t)n, sizeof(int), cmp_int);
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if ((unsigned)keep[i] > lo)
            (void)syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        if ((unsigned)keep[i] + 1 > lo)
            lo = (unsigned)keep[i] + 1;
    }
    (void)syscall(SYS_close_range, lo, ~0U, 0);
}

/* The fds 0-2 are about to be replaced by the process's stdio: anything the setup still needs
 * must not sit there (an agent started with them closed gets them back from pipe() and
 * open()). */
static void move_above_stdio(int *fd)
{
    if (*fd >= 0 && *fd < 3) {
        int n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
        if (n < 0)
            _exit(1);
        *fd = n;
    }
}

static _Noreturn void child_main(struct child_ctx *c)
{
    reset_signals();
    move_above_stdio(&c->sock);
    for (int i = 0; i < 3; i++)
        move_above_stdio(&c->stdio[i]);
    for (int k = 0; k < NS_COUNT; k++)
        move_above_stdio(&c->ns->join_fd[k]);
    close_other_fds(c);
    cleanup_error struct kerr *err = NULL;
    struct exec_plan x = {.master = -1};
    if (child_setup(c, &x, &err) < 0) {
        (void)send_msg(c->sock, MSG_ERROR, err, -1);
        _exit(1);
    }
    if (send_msg(c->sock, MSG_READY, NULL, x.master) < 0)
        _exit(1);
    if (x.master >= 0)
        close(x.master);
    if (c->cfg->hold) {
        struct spawn_msg m;
        if (recv_msg(c->sock, &m, NULL) != MSG_RELEASE)
            _exit(1);
    }
    const Grpc__Hooks *h = init_hooks(c->cfg);
    if (h && child_hooks(c, h->startcontainer, h->n_startcontainer, "startContainer", &err) < 0) {
        (void)send_msg(c->sock, MSG_ERROR, err, -1);
        _exit(1);
    }
    if (c->seccomp && c->proc->nonewprivileges && seccomp_install(c->seccomp, &err) < 0) {
        (void)send_msg(c->sock, MSG_ERROR, err, -1);
        _exit(1);
    }
    execve(x.path, x.argv, x.env);
    int e = errno;
    if (e == ENOENT)
        (void)make_status(&err, RPC_NOT_FOUND, 0, "exec: \"%s\": no such file or directory",
                          c->proc->args[0]);
    else if (e == EACCES)
        (void)make_status(&err, RPC_PERMISSION_DENIED, 0, "exec: \"%s\": permission denied",
                          c->proc->args[0]);
    else
        (void)make_error(&err, e, "exec: \"%s\"", c->proc->args[0]);
    (void)send_msg(c->sock, MSG_ERROR, err, -1);
    _exit(127);
}

/* ---------------------------------------------------------------- parent side */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void spawn_result_close(struct spawn_result *r)
{
    if (r->pty_master >= 0 && r->pty_master == r->stdout_fd)
        r->stdout_fd = -1;
    close_fd(&r->stdin_fd);
    close_fd(&r->stdout_fd);
    close_fd(&r->stderr_fd);
    close_fd(&r->pty_master);
    close_fd(&r->release_fd);
}

static int write_id_map(pid_t pid, const char *file, Grpc__LinuxIDMapping **maps, size_t n,
                        struct kerr **err)
{
    if (n == 0)
        return 0;
    cleanup_free char *text = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *t =
            xasprintf("%s%u %u %u\n", text, maps[i]->containerid, maps[i]->hostid, maps[i]->size);
        free(text);
        text = t;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    return write_file(path, text, err);
}

static int validate(const struct spawn_config *cfg, struct kerr **err)
{
    if (cfg->spec == NULL || cfg->process == NULL)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "spec and process are required");
    if (cfg->process->n_args == 0 || str_empty(cfg->process->args[0]))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "process args must not be empty");
    if (cfg->exec && cfg->init_pid <= 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "exec needs the init pid");
    if (cfg->exec && cfg->hold)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "an exec'd process cannot be held");
    if (!cfg->exec) {
        const Grpc__Linux *lx = cfg->spec->linux;
        bool userns = false;
        for (size_t i = 0; lx && i < lx->n_namespaces; i++)
            if (lx->namespaces[i]->type && strcmp(lx->namespaces[i]->type, "user") == 0 &&
                str_empty(lx->namespaces[i]->path))
                userns = true;
        if (userns && (lx->n_uidmappings == 0 || lx->n_gidmappings == 0))
            return make_status(err, RPC_INVALID_ARGUMENT, 0,
                               "a new user namespace needs uid and gid mappings");
    }
    return 0;
}

/* Waits for the child to exec: EOF on the close-on-exec socket. */
static int wait_exec(int sock, struct kerr **err)
{
    struct spawn_msg m;
    int t = recv_msg_agent(sock, &m, NULL);
    if (t == MSG_ERROR)
        return error_from_msg(&m, err);
    if (t < 0)
        return make_error(err, -t, "waiting for the container process to exec");
    return 0;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
}

static int child_died(pid_t pid, struct kerr **err)
{
    int status = 0;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return make_error(err, ECHILD, "container process killed by signal %d during setup",
                          WTERMSIG(status));
    return make_error(err, ECHILD, "container process exited with %d during setup",
                      WEXITSTATUS(status));
}

/* Everything spawn_process() holds until it hands the process over; released on every
 * early return. */
struct launch {
    struct ns_plan ns;
    int pipes[3][2]; /* [i][0] read end, [i][1] write end */
    int sv[2];       /* [0] agent, [1] child */
    pid_t pid;       /* > 0: killed and reaped unless handed over */
    int master;
    struct seccomp_prog seccomp; /* compiled by the agent: a bad profile fails before clone */
};

static void launch_cleanup(struct launch *l)
{
    if (l->pid > 0)
        reap(l->pid);
    for (int i = 0; i < 3; i++) {
        close_fd(&l->pipes[i][0]);
        close_fd(&l->pipes[i][1]);
    }
    close_fd(&l->sv[0]);
    close_fd(&l->sv[1]);
    close_fd(&l->master);
    ns_plan_close(&l->ns);
    seccomp_prog_free(&l->seccomp);
}

/* The child's ends: stdin's read end, stdout's and stderr's write ends. */
static int child_end(int i)
{
    return i == 0 ? 0 : 1;
}

static int launch_prepare(const struct spawn_config *cfg, struct launch *l, struct kerr **err)
{
    int r = cfg->exec ? ns_plan_for_exec(cfg->init_pid, &l->ns, err)
                      : ns_plan_for_init(cfg->spec, &l->ns, err);
    if (r < 0)
        return r;
    if (!cfg->process->terminal)
        for (int i = 0; i < 3; i++)
            if (pipe2(l->pipes[i], O_CLOEXEC) < 0)
                return make_error(err, errno, "pipe");
    /* As upstream: only the output pipes, and a size the kernel refuses is an error. */
    for (int i = 1; i < 3 && !cfg->process->terminal && cfg->pipe_size > 0; i++)
        if (fcntl(l->pipes[i][1], F_SETPIPE_SZ, cfg->pipe_size) < 0)
            return make_error(err, errno, "set the pipe size to %d (agent.container_pipe_size)",
                              cfg->pipe_size);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l->sv) < 0)
        return make_error(err, errno, "socketpair");
    return 0;
}

static int launch_clone(const struct spawn_config *cfg, struct launch *l, struct kerr **err)
{
    int restore_pid = -1;
    int r = ns_pid_enter(&l->ns, &restore_pid, err);
    if (r < 0)
        return r;
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(l->ns.clone_flags | SIGCHLD), NULL, NULL,
                               NULL, NULL);
    if (pid == 0) {
        close(l->sv[0]);
        if (restore_pid >= 0)
            close(restore_pid);
        struct child_ctx c = {.cfg = cfg,
                              .proc = cfg->process,
                              .ns = &l->ns,
                              .seccomp = l->seccomp.insns ? &l->seccomp : NULL,
                              .sock = l->sv[1]};
        for (int i = 0; i < 3; i++) {
            c.stdio[i] = l->pipes[i][child_end(i)];
            if (l->pipes[i][!child_end(i)] >= 0)
                close(l->pipes[i][!child_end(i)]);
        }
        child_main(&c);
    }
    int clone_errno = errno;
    cleanup_error struct kerr *rerr = NULL;
    if (ns_pid_restore(&restore_pid, &rerr) < 0) {
        /* Every later process would land in the wrong pid namespace: worse than dying. */
        fprintf(stderr, "spawn: %s\n", rerr->msg);
        abort();
    }
    if (pid < 0)
        return make_error(err, clone_errno, "clone");
    l->pid = pid;
    close_fd(&l->sv[1]);
    for (int i = 0; i < 3; i++)
        close_fd(&l->pipes[i][child_end(i)]);
    return 0;
}

/* The prestart and createRuntime hooks, in the agent's namespaces; a failure fails the create
 * (the child is killed), as the OCI runtime spec has it. */
static int agent_hooks(const struct spawn_config *cfg, pid_t pid, struct kerr **err)
{
    const Grpc__Hooks *h = init_hooks(cfg);
    if (h == NULL)
        return make_error(err, EPROTO, "container process asked for hooks it has not");
    cleanup_free char *state = hook_state_json(cfg->hook_state, "created", pid);
    int r = hooks_run(h->prestart, h->n_prestart, "prestart", state, err);
    if (r == 0)
        r = hooks_run(h->createruntime, h->n_createruntime, "createRuntime", state, err);
    return r;
}

/* What only the agent can do for the child (id maps, cgroup), then GO and wait for READY. */
static int launch_run_setup(const struct spawn_config *cfg, struct launch *l, struct kerr **err)
{
    int r;
    if (l->ns.new_user) {
        const Grpc__Linux *lx = cfg->spec->linux;
        r = write_id_map(l->pid, "uid_map", lx->uidmappings, lx->n_uidmappings, err);
        if (r == 0)
            r = write_id_map(l->pid, "gid_map", lx->gidmappings, lx->n_gidmappings, err);
        if (r < 0)
            return r;
    }
    if (cfg->cgroup) {
        r = cgroup_enter(cfg->cgroup, l->pid, err);
        if (r < 0)
            return r;
    }
    struct spawn_msg m;
    int t = send_msg(l->sv[0], MSG_GO, NULL, -1) < 0 ? 0 : recv_msg_agent(l->sv[0], &m, &l->master);
    if (t == MSG_HOOKS) {
        r = agent_hooks(cfg, l->pid, err);
        if (r < 0)
            return r;
        t = send_msg(l->sv[0], MSG_GO, NULL, -1) < 0 ? 0 : recv_msg_agent(l->sv[0], &m, &l->master);
    }
    if (t == MSG_ERROR)
        return error_from_msg(&m, err);
    if (t == -ETIMEDOUT)
        return make_status(err, RPC_DEADLINE_EXCEEDED, ETIMEDOUT,
                           "container process setup did not finish in %d s",
                           SETUP_TIMEOUT_MS / 1000);
    if (t != MSG_READY) {
        r = child_died(l->pid, err);
        l->pid = -1;
        return r;
    }
    if (cfg->process->terminal && l->master < 0)
        return make_error(err, EPROTO, "container process sent no terminal");
    return 0;
}

int spawn_process(const struct spawn_config *cfg, struct spawn_result *ret, struct kerr **err)
{
    int r = validate(cfg, err);
    if (r < 0)
        return r;
    __attribute__((cleanup(launch_cleanup))) struct launch l = {
        .pipes = {{-1, -1}, {-1, -1}, {-1, -1}}, .sv = {-1, -1}, .pid = -1, .master = -1};
    for (int i = 0; i < NS_COUNT; i++)
        l.ns.join_fd[i] = -1;
    /* Exec'd processes get the container's profile too, as upstream's agent does. */
    const Grpc__Linux *lx = cfg->spec->linux;
    if (lx && lx->seccomp)
        r = seccomp_compile(lx->seccomp, seccomp_native_arch(), &l.seccomp, err);
    if (r == 0)
        r = launch_prepare(cfg, &l, err);
    if (r == 0)
        r = launch_clone(cfg, &l, err);
    if (r == 0)
        r = launch_run_setup(cfg, &l, err);
    if (r == 0 && !cfg->hold)
        r = wait_exec(l.sv[0], err);
    if (r < 0)
        return r;
    int master = steal_fd(&l.master);
    *ret = (struct spawn_result){
        .pid = l.pid,
        .stdin_fd = steal_fd(&l.pipes[0][1]),
        .stdout_fd = master >= 0 ? master : steal_fd(&l.pipes[1][0]),
        .stderr_fd = steal_fd(&l.pipes[2][0]),
        .pty_master = master,
        .release_fd = cfg->hold ? steal_fd(&l.sv[0]) : -1,
    };
    l.pid = -1;
    return 0;
}

int spawn_release(struct spawn_result *r, struct kerr **err)
{
    if (r->release_fd < 0)
        return make_status(err, RPC_FAILED_PRECONDITION, 0, "process is not held");
    int fd = r->release_fd;
    r->release_fd = -1;
    int ret = 0;
    if (send_msg(fd, MSG_RELEASE, NULL, -1) < 0)
        ret = make_error(err, errno == EPIPE ? ECHILD : errno,
                         "container process is gone before start");
    else
        ret = wait_exec(fd, err);
    close(fd);
    return ret;
}
