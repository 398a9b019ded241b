/* kata-agent: serves Kata's agent API (grpc.AgentService, grpc.Health) over ttRPC.
 * One thread: an epoll loop owns every piece of state (see agent.h). Signals arrive through
 * a signalfd: SIGCHLD reaps container processes, SIGTERM/SIGINT shut down (killing the
 * containers). After DestroySandbox the agent exits 0 once the reply is out; as PID 1's
 * child under kata-init that powers the VM off. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "initsync.h"
#include "log.h"
#include "version.h"
#include "xalloc.h"

/* How long replies already given (DestroySandbox's) may take to leave before the exit. */
#define EXIT_DRAIN_MS 2000

struct agent {
    struct loop *loop;
    struct ttrpc_server *server;
    struct transport *transport;
    struct sandbox sandbox;
    struct init_sync *init_sync;
    struct debug_console *debug_console;
    struct log_vport *log_vport;
    int sigfd;
    int exit_code;
};

static char *read_cmdline(void)
{
    cleanup_close int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xstrdup("");
    char *buf = xmalloc(4097);
    ssize_t n = read(fd, buf, 4096);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* Names what is set but has no effect here, in one line. */
static void log_unsupported(const struct agent_config *c)
{
    cleanup_free char *what = xstrdup("");
    const struct {
        bool set;
        const char *text;
    } items[] = {
        {c->tracing, " agent.trace (no OpenTelemetry tracing)"},
        {c->passfd_listener_port > 0, " agent.passfd_listener_port (no passfd I/O)"},
        {c->mem_agent_enable, " agent.mem_agent_enable (no memory agent)"},
        {c->https_proxy || c->no_proxy, " agent.https_proxy/no_proxy (no image pull in the guest)"},
    };
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        if (items[i].set) {
            char *s = xasprintf("%s%s", what, items[i].text);
            free(what);
            what = s;
        }
    }
    if (*what)
        log_warn("config", "set but not supported, no effect:%s", what);
}

/* Upstream aborts on a malformed parameter. Here the agent is kata-init's child, not PID 1:
 * its exit powers the VM off, and all the runtime sees is a dead VM after its dial timeout,
 * with the reason only on a console nobody reads by default. A Kata user is better served by
 * an agent that keeps the default for the bad parameter, says so in its log, and answers. */
static void load_config(struct agent_config *config, struct agent *a)
{
    cleanup_error struct kerr *cmdline_err = NULL, *env_err = NULL, *vport_err = NULL;
    cleanup_free char *cmdline = read_cmdline();
    (void)config_parse_cmdline(config, cmdline, &cmdline_err);
    (void)config_apply_env(config, &env_err);
    log_set_level(config->log_level);
    /* Before the announce, so the host's log reader gets it as upstream's does. */
    (void)log_vport_start(a->loop, config->log_vport, &a->log_vport, &vport_err);
    log_info("agent",
             "announce version=%s api-version=%s pid=%d server_addr=%s log_level=%d "
             "hotplug_timeout=%llds launch_process_timeout=%llds container_pipe_size=%d "
             "debug_console=%s debug_console_vport=%d log_vport=%d config_file=%s init_mode=%s",
             AGENT_VERSION, AGENT_API_VERSION, (int)getpid(), config->server_addr,
             config->log_level, (long long)(config->hotplug_timeout_ns / 1000000000LL),
             (long long)(config->launch_process_timeout_ns / 1000000000LL),
             config->container_pipe_size, config->debug_console ? "true" : "false",
             config->debug_console_vport, config->log_vport,
             config->config_file ? config->config_file : "", getpid() == 1 ? "true" : "false");
    if (cmdline_err)
        log_error("config", "kernel command line: %s (defaults kept for these)", cmdline_err->msg);
    if (env_err)
        log_error("config", "environment: %s (ignored)", env_err->msg);
    if (config->unknown)
        log_warn("config", "unknown parameters ignored: %s", config->unknown);
    if (vport_err)
        log_warn("log", "%s", vport_err->msg);
    log_unsupported(config);
}

static void on_destroyed(void *data)
{
    struct agent *a = data;
    log_info("agent", "sandbox destroyed, exiting");
    loop_quit(a->loop);
}

static void on_guest_setup_done(void *data)
{
    struct agent *a = data;
    ttrpc_server_release(a->server, grpc__agent_service__descriptor.name);
}

static void on_signal(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct agent *a = data;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            break; /* reaped below, all at once */
        case SIGTERM:
        case SIGINT:
            log_info("agent", "signal %d: shutting down", (int)si.ssi_signo);
            loop_quit(a->loop);
            break;
        default:
            break;
        }
    }
    sandbox_reap(&a->sandbox);
}

int main(int argc, char **argv)
{
    log_init("kata-agent", "agent", 2);
    /* Only as an ordinary process: as a guest's PID 1 (upstream's init mode) the arguments
     * are whatever the kernel passed on, and the agent must serve regardless. */
    if (argc > 1 && getpid() != 1) {
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
            printf("kata-agent %s (commit %s, API %s)\n", AGENT_VERSION, KATA_COMMIT,
                   AGENT_API_VERSION);
            return 0;
        }
        /* Hidden: the tables the man page is checked against (tests/unit/man-drift.sh). */
        if (strcmp(argv[1], "--list-parameters") == 0) {
            config_list_parameters(stdout);
            printf("env %s\n", KATA_INIT_SYNC_ENV);
            return 0;
        }
    }

    struct agent a = {.exit_code = 0};
    a.loop = loop_new();
    if (!a.loop) {
        log_msg(LOG_CRITICAL, "agent", "epoll: %m");
        return 1;
    }
    struct agent_config config;
    config_init(&config);
    load_config(&config, &a);
    cleanup_error struct kerr *err = NULL;

    /* An initrd's root (the initial ramfs) cannot be pivoted away from: kata-init moves the
     * whole system onto a bind mount of it first; under an init that does not, containers
     * fall back to move + chroot (agent/linux/rootfs.c). */

    /* Orphans of container processes are reparented to us and reaped by the SIGCHLD loop. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        log_warn("agent", "cannot become a child subreaper: %m");
    /* A client that vanished must not kill us through a write; children get SIG_DFL back. */
    signal(SIGPIPE, SIG_IGN);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    a.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (a.sigfd < 0) {
        log_msg(LOG_CRITICAL, "agent", "signalfd: %m");
        return 1;
    }
    struct loop_source *sigsrc = loop_add_fd(a.loop, a.sigfd, EPOLLIN, on_signal, &a);
    a.server = ttrpc_server_new(a.loop);
    sandbox_init(&a.sandbox, a.loop, &config);
    /* from the start, as upstream: devices hot-plugged before a call asks are recorded */
    if (uevents_start(a.loop, &a.sandbox.uevents, &err) < 0) {
        log_warn("uevent", "no uevent listener (devices are only found in sysfs): %s", err->msg);
        error_freep(&err);
    }
    a.sandbox.on_destroyed = on_destroyed;
    a.sandbox.on_destroyed_data = &a;
    rpc_register(a.server, &a.sandbox);
    /* Under kata-init, serve first and let init finish the guest setup meanwhile: container
     * calls wait for it, health checks do not. */
    a.init_sync = init_sync_from_env(a.loop);
    if (a.init_sync)
        (void)ttrpc_server_hold(a.server, grpc__agent_service__descriptor.name);

    /* A console that cannot start is logged; the agent serves all the same. */
    cleanup_error struct kerr *console_err = NULL;
    if (debug_console_start(a.loop, &config, &a.debug_console, &console_err) < 0)
        log_error("debug-console", "%s", console_err->msg);

    if (transport_start(a.server, a.loop, config.server_addr, &a.transport, &err) < 0) {
        log_msg(LOG_CRITICAL, "agent", "%s", err->msg);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    log_info("agent", "agent ready boottime_ns=%lld",
             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (a.init_sync)
        init_sync_ready(a.init_sync, on_guest_setup_done, &a);

    int r = loop_run(a.loop);
    if (r < 0)
        log_error("agent", "event loop: %s", strerror(-r));

    if (!ttrpc_server_drain(a.server, EXIT_DRAIN_MS))
        log_warn("agent", "replies still unsent after %d ms: the host stopped reading",
                 EXIT_DRAIN_MS);
    init_sync_free(a.init_sync);
    transport_stop(a.transport);
    debug_console_stop(a.debug_console);
    sandbox_shutdown(&a.sandbox);
    ttrpc_server_free(a.server);
    /* after the server: calls parked on a device drop their watches when cancelled */
    uevents_stop(a.sandbox.uevents);
    loop_remove_fd(sigsrc);
    log_vport_stop(a.log_vport);
    loop_free(a.loop);
    close(a.sigfd);
    free(a.sandbox.id);
    guest_hooks_free(a.sandbox.guest_hooks);
    free(a.sandbox.hostname);
    config_free(&config);
    log_info("agent", "exit");
    return r < 0 ? 1 : a.exit_code;
}
