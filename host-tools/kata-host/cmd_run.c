/* kata-host run: boot a sandbox, run one container in it, relay its stdio, exit with its
 * status, and leave nothing behind. With -d a background kata-host owns the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_api.h"
#include "background.h"
#include "cleanup.h"
#include "commands.h"
#include "loop.h"
#include "options.h"
#include "sandbox.h"
#include "session.h"
#include "signals.h"
#include "spec.h"
#include "stdio.h"
#include "terminal.h"
#include "xalloc.h"

struct run_state {
    struct sandbox sb;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool container_exited;
    bool container_running;
    int interrupted; /* signal received before the container ran */
};

static void boot_signal(int sig, void *data)
{
    struct run_state *rs = data;
    if (sig == SIGWINCH || sig == SIGUSR1)
        return;
    /* Interrupted while booting: stop the VM; boot then fails and everything is undone. */
    rs->interrupted = sig;
    if (rs->sb.vm_started && rs->sb.vm.pid > 0)
        kill(rs->sb.vm.pid, SIGKILL);
}

/* The owner's own session methods: Stop (payload: grace seconds as text) and Ping. */
static int local_method(const char *method, const uint8_t *payload, size_t len,
                        uint8_t **ret_payload, size_t *ret_len, struct kerr **err, void *data)
{
    struct run_state *rs = data;
    *ret_payload = NULL;
    *ret_len = 0;
    if (strcmp(method, "Ping") == 0)
        return 0;
    if (strcmp(method, "Stop") != 0)
        return make_status(err, RPC_UNIMPLEMENTED, 0, "%s method", method);
    char buf[16] = "";
    memcpy(buf, payload, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
    int grace = len ? atoi(buf) : 10;
    struct kerr *e = NULL;
    /* docker stop: SIGTERM to the main process, SIGKILL to everything after the grace. */
    agent_signal(rs->sb.client, rs->sb.container_id, rs->sb.container_id, SIGTERM, &e);
    error_freep(&e);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace;
    pthread_mutex_lock(&rs->lock);
    while (!rs->container_exited)
        if (pthread_cond_timedwait(&rs->cond, &rs->lock, &deadline) == ETIMEDOUT)
            break;
    bool exited = rs->container_exited;
    pthread_mutex_unlock(&rs->lock);
    if (!exited) {
        agent_signal(rs->sb.client, rs->sb.container_id, "", SIGKILL, &e);
        error_freep(&e);
    }
    return 0;
}

static char *join_command(const struct process_opts *p)
{
    size_t cap = 1;
    for (size_t i = 0; i < p->argc; i++)
        cap += strlen(p->argv[i]) + 1;
    char *s = xmalloc(cap), *o = s;
    for (size_t i = 0; i < p->argc; i++) {
        if (i)
            *o++ = ' ';
        for (const char *c = p->argv[i]; *c; c++)
            *o++ = *c == '\n' ? ' ' : *c;
    }
    *o = '\0';
    return s;
}

static int create_container(struct run_state *rs, struct kerr **err)
{
    struct sandbox *sb = &rs->sb;
    const struct run_opts *o = sb->opts;
    unsigned rows = 0, cols = 0;
    if (o->proc.tty && !terminal_size(0, &rows, &cols))
        terminal_size(1, &rows, &cols);
    cleanup_free char *cgpath = xasprintf("/kata/%s", sb->container_id);
    struct spec_input in = {
        .proc = &o->proc,
        .hostname = sb->name,
        .root_path = sandbox_root_path(sb),
        .read_only = o->read_only,
        .cgroups_path = cgpath,
        .memory_limit = o->memory_limit,
        .cpu_quota = o->cpu_quota,
        .tty_rows = rows,
        .tty_cols = cols,
    };
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = sb->container_id;
    req.exec_id = sb->container_id;
    req.oci = spec_default(&in);
    req.string_user = spec_string_user(&o->proc.user);
    int r = agent_create_container(sb->client, &req, err);
    protobuf_c_message_free_unpacked(&req.oci->base, NULL);
    if (req.string_user)
        protobuf_c_message_free_unpacked(&req.string_user->base, NULL);
    return r;
}

static int fail(struct run_state *rs, struct kerr *err, int code)
{
    /* The channel may report the VM's death before the waiter thread has reaped it. */
    if (rs->sb.vm_started)
        vm_wait(&rs->sb.vm, 300);
    if (sandbox_vm_lost(&rs->sb)) {
        cleanup_free char *what = sandbox_vm_lost_text(&rs->sb);
        report_error("%s%s%s", what, err ? ": " : "", err ? err->msg : "");
        sandbox_dump_console(&rs->sb);
        return EXIT_KATA_HOST;
    }
    if (rs->interrupted) {
        report_error("interrupted by signal %d", rs->interrupted);
        return 128 + rs->interrupted;
    }
    report_error("%s", err && err->msg ? err->msg : "failed");
    return code;
}

/* Writes one status line to the detach pipe: "OK\n" or "ERR <code> <message>\n". */
static void notify(int fd, int code, const char *msg)
{
    if (fd < 0)
        return;
    char *line = code == 0 ? xstrdup("OK\n") : xasprintf("ERR %d %s\n", code, msg ? msg : "");
    if (write(fd, line, strlen(line)) < 0) {
    }
    free(line);
    close(fd);
}

static int run_owner(const struct run_opts *o, int notify_fd)
{
    struct run_state rs = {0};
    pthread_mutex_init(&rs.lock, NULL);
    pthread_cond_init(&rs.cond, NULL);
    cleanup_error struct kerr *err = NULL;
    int code = 0;
    if (sandbox_prepare(&rs.sb, o, &err) < 0) {
        code = fail(&rs, err, EXIT_KATA_HOST);
        notify(notify_fd, code, err->msg);
        sandbox_teardown(&rs.sb);
        return code;
    }
    signals_set_handler(boot_signal, &rs);
    int r = sandbox_boot(&rs.sb, &err);
    if (r >= 0) {
        cleanup_free char *sock = xasprintf("%s/session.sock", rs.sb.run_dir);
        rs.sb.session = session_server_start(sock, rs.sb.client, local_method, &rs, &err);
        r = rs.sb.session ? 0 : -1;
    }
    if (r >= 0) {
        cleanup_free char *cmd = join_command(&o->proc);
        struct session_state st = {.name = rs.sb.name,
                                   .pid = (long)getpid(),
                                   .vmm_pid = rs.sb.vm_started ? (long)rs.sb.vm.pid : 0,
                                   .created = (long)time(NULL),
                                   .command = cmd,
                                   .container_id = rs.sb.container_id,
                                   .debug_console = o->debug_console,
                                   .vsock_cid = (long)rs.sb.vmc.vsock_cid};
        r = session_write_state(rs.sb.run_dir, &st, &err);
    }
    if (r < 0) {
        code = fail(&rs, err, EXIT_KATA_HOST);
        if (!sandbox_vm_lost(&rs.sb) && rs.sb.vm_started)
            sandbox_dump_console(&rs.sb);
        notify(notify_fd, code, err ? err->msg : NULL);
        signals_set_handler(NULL, NULL);
        sandbox_teardown(&rs.sb);
        return code;
    }
    r = create_container(&rs, &err);
    if (r >= 0) {
        rs.sb.container_created_at = loop_now_ns();
        r = agent_start_container(rs.sb.client, rs.sb.container_id, &err);
    }
    int64_t started = loop_now_ns();
    if (r < 0) {
        code = fail(&rs, err, agent_exit_code_for(err));
        notify(notify_fd, code, err ? err->msg : NULL);
        signals_set_handler(NULL, NULL);
        sandbox_teardown(&rs.sb);
        return code;
    }
    if (o->verbose)
        sandbox_print_stages(&rs.sb, started);
    unsigned rows, cols;
    if (o->proc.tty && (terminal_size(0, &rows, &cols) || terminal_size(1, &rows, &cols))) {
        /* Also resize after start, for agents that ignore Process.ConsoleSize. */
        struct kerr *e = NULL;
        agent_tty_resize(rs.sb.client, rs.sb.container_id, rs.sb.container_id, rows, cols, &e);
        error_free(e);
    }

    int out_fd = 1, err_fd = 2, in_fd = 0;
    cleanup_close int log_fd = -1;
    if (o->detach) {
        cleanup_free char *log = xasprintf("%s/container.log", rs.sb.run_dir);
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        out_fd = err_fd = log_fd >= 0 ? log_fd : open("/dev/null", O_WRONLY | O_CLOEXEC);
        in_fd = -1;
    }
    notify(notify_fd, 0, NULL);
    signals_set_handler(NULL, NULL);

    struct stdio_relay relay = {
        .client = rs.sb.client,
        .cid = rs.sb.container_id,
        .eid = rs.sb.container_id,
        .tty = o->proc.tty,
        .interactive = o->proc.interactive,
        .in_fd = in_fd,
        .out_fd = out_fd,
        .err_fd = err_fd,
        .stop_pipe = {-1, -1},
        /* No -i: the command's stdin is at EOF, like docker's /dev/null. */
        .close_stdin = !o->proc.interactive && !o->proc.tty,
    };
    int status = 0;
    r = stdio_run_to_exit(&relay, &status, &err);
    pthread_mutex_lock(&rs.lock);
    rs.container_exited = true;
    pthread_cond_broadcast(&rs.cond);
    pthread_mutex_unlock(&rs.lock);
    if (r < 0)
        code = fail(&rs, err, EXIT_KATA_HOST);
    else
        code = status;
    int64_t t0 = rs.sb.start_ns;
    if (o->verbose && r >= 0)
        fprintf(stderr, "kata-host: %-18s %8.1f ms  (output at EOF, WaitProcess answered)\n",
                "exit status", (double)(loop_now_ns() - t0) / 1e6);
    sandbox_teardown(&rs.sb);
    if (o->verbose)
        fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "torn down",
                (double)(loop_now_ns() - t0) / 1e6);
    return code;
}

/* -d: the sandbox is owned by a background kata-host; we wait for it to report that the
 * container started (or why it failed), then print the name. */
static int run_detached(const struct run_opts *o)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        report_error("pipe: %s", strerror(errno));
        return EXIT_KATA_HOST;
    }
    struct run_opts copy = *o;
    char *gen_name = NULL;
    if (!copy.name) {
        /* The parent prints the name, so it picks it. */
        unsigned char b[4] = {0};
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (read(fd, b, sizeof(b)) < 0) {
            }
            close(fd);
        }
        gen_name = xasprintf("kata-%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
        copy.name = gen_name;
    }
    pid_t pid = background_fork();
    if (pid < 0) {
        report_error("fork: %s", strerror(errno));
        return EXIT_KATA_HOST;
    }
    if (pid == 0) {
        close(pipefd[0]);
        if (signals_start() < 0)
            _exit(EXIT_KATA_HOST);
        int code = run_owner(&copy, pipefd[1]);
        signals_stop();
        _exit(code);
    }
    close(pipefd[1]);
    char buf[1024];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(buf) - 1 &&
           (n = read(pipefd[0], buf + used, sizeof(buf) - 1 - used)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(pipefd[0]);
    int code;
    if (strncmp(buf, "OK", 2) == 0) {
        printf("%s\n", copy.name);
        code = 0;
    } else if (strncmp(buf, "ERR ", 4) == 0) {
        char *msg = NULL;
        code = (int)strtol(buf + 4, &msg, 10);
        if (msg && *msg == ' ')
            msg++;
        if (msg)
            msg[strcspn(msg, "\n")] = '\0';
        report_error("%s", msg && *msg ? msg : "the sandbox failed to start");
    } else {
        report_error("the background kata-host died before the container started");
        code = EXIT_KATA_HOST;
    }
    free(gen_name);
    return code;
}

int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    cleanup_error struct kerr *err = NULL;
    if (options_parse_run(argc, argv, &o, &err) < 0) {
        report_error("run: %s (see kata-host --help)", err->msg);
        return EXIT_KATA_HOST;
    }
    int code;
    if (o.dry_run) {
        struct sandbox sb;
        code = 0;
        if (sandbox_prepare(&sb, &o, &err) < 0 || sandbox_print_command(&sb, &err) < 0) {
            report_error("%s", err->msg);
            code = EXIT_KATA_HOST;
        }
        sandbox_teardown(&sb);
        options_free_run(&o);
        return code;
    }
    if (o.rootfs && !o.agent_addr) {
        /* A private mount namespace for the shared rootfs bind mount: it vanishes with us and
         * our children even if we are killed, so nothing is left mounted on the host. Must
         * happen while we are single-threaded. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
            report_error("private mount namespace for --rootfs: %s", strerror(errno));
            options_free_run(&o);
            return EXIT_KATA_HOST;
        }
    }
    if (o.detach) {
        code = run_detached(&o);
    } else {
        if (signals_start() < 0) {
            report_error("cannot start the signal thread");
            options_free_run(&o);
            return EXIT_KATA_HOST;
        }
        code = run_owner(&o, -1);
        signals_stop();
    }
    options_free_run(&o);
    return code;
}
