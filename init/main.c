/* kata-init: the guest's PID 1. It prepares the system, starts the agent, reaps every
 * process that ends up as its child, and turns a power button, Ctrl-Alt-Del, a signal or the
 * agent's end into an orderly power-off.
 *
 * THE RULE: until the agent has been started, init may bail out on an error (print it and
 * power off: there is nothing to protect yet and the host must learn about it fast). Once
 * the agent runs, init never exits on an error; it warns and goes on reaping, because PID 1
 * dying is a kernel panic that takes every container with it and hides the real cause.
 *
 * Signals (all blocked and read from a signalfd; only synchronous faults are left deliverable,
 * so a bug in init still crashes loudly instead of looping):
 *   SIGCHLD                          reap every child with waitpid(WNOHANG) until none is left
 *   SIGTERM, SIGUSR2, SIGPWR         power off (busybox's `poweroff` sends SIGUSR2)
 *   SIGINT (Ctrl-Alt-Del, armed by   power off too: a sandbox VM that reboots by itself would
 *   reboot(RB_DISABLE_CAD))          only confuse the host, which owns the VM's life cycle
 *   SIGUSR1                          reboot, the one explicit way to ask for it
 *   KEY_POWER on /dev/input/event*   power off (ACPI power button: QEMU's system_powerdown)
 * Shutdown: SIGTERM to the agent, up to 2 s for it to finish, SIGKILL to everything left,
 * sync, unmount in reverse order (lazily when busy), then power off or reboot.
 *
 * Order: the mounts the agent needs, then the agent, then (once the agent reports that it
 * serves, common/initsync.h) what only containers need: /dev/pts, /dev/shm, /tmp, cgroups,
 * /dev/ptmx, loopback, host name, power buttons. The agent holds container calls until
 * then, so the host can talk to it ~40 ms sooner under TCG; init runs as SCHED_IDLE
 * meanwhile. An agent named by kata.agent= gets the whole setup before it starts, unless
 * kata.init_defer_setup says otherwise.
 *
 * Not PID 1 (e.g. under a test harness) it is a child subreaper and touches nothing
 * system-wide: no mounts, no host name, no reboot; it exits with the agent's status. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "cmdline.h"
#include "console.h"
#include "fsutil.h"
#include "loop.h"
#include "powerbutton.h"
#include "setup.h"
#include "shutdown.h"
#include "status.h"
#include "version.h"

#define AGENT_STOP_TIMEOUT_NS (2LL * 1000 * 1000 * 1000)
/* An agent that has not said it is serving by then gets the rest of the setup anyway. */
#define AGENT_READY_TIMEOUT_NS (2LL * 1000 * 1000 * 1000)
#define FINAL_REAP_TIMEOUT_MS 1000
#define MAX_POWER_BUTTONS 8
#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Only honoured when not PID 1, so tests can drive init without a kernel command line. */
#define CMDLINE_ENV "KATA_INIT_CMDLINE"

enum phase {
    PHASE_RUNNING,  /* the agent runs */
    PHASE_STOPPING, /* the agent was sent SIGTERM; waiting for it */
    PHASE_FINISHED, /* power-off failed: reap forever */
    PHASE_EXITING,  /* not PID 1: leave with the agent's status */
};

/* Owned by the main loop's thread (the only thread). */
struct init_state {
    struct loop *loop;
    bool pid1;
    pid_t agent_pid; /* 0 once reaped */
    int agent_status;
    enum phase phase;
    enum shutdown_action action;
    struct loop_timer *stop_timer;
    bool cgroup_v1;
    /* Deferred setup (common/initsync.h): init's end of the handshake until it is done. */
    int sync_fd;
    struct loop_source *sync_src;
    struct loop_timer *sync_timer;
};

static _Noreturn void bail(bool pid1, const char *what)
{
    init_error("%s; powering off", what);
    sync();
    if (pid1)
        (void)reboot(RB_POWER_OFF);
    /* As PID 1 this panics the kernel, which with panic=N also ends the VM. */
    _exit(1);
}

static void finish(struct init_state *st)
{
    loop_cancel_timer(st->stop_timer);
    st->stop_timer = NULL;
    bool agent_was_running = st->agent_pid > 0;
    shutdown_kill_remaining(st->pid1, &st->agent_pid, &st->agent_status, FINAL_REAP_TIMEOUT_MS);
    if (agent_was_running && st->agent_pid == 0) {
        char how[96];
        status_describe(st->agent_status, how, sizeof(how));
        init_info("agent %s", how);
    }
    if (!st->pid1) {
        st->phase = PHASE_EXITING;
        loop_quit(st->loop);
        return;
    }
    init_info("%s", st->action == SHUTDOWN_REBOOT ? "rebooting" : "powering off");
    int r = shutdown_machine(true, st->action);
    /* Still here: the rule says warn and keep reaping. */
    init_warn("%s failed: %s; still reaping", shutdown_action_name(st->action), strerror(-r));
    st->phase = PHASE_FINISHED;
}

static void stop_timeout(struct loop_timer *t, void *data)
{
    struct init_state *st = data;
    st->stop_timer = NULL;
    init_warn("agent did not stop within %lld s; killing everything",
              AGENT_STOP_TIMEOUT_NS / 1000000000LL);
    finish(st);
}

static void request_shutdown(struct init_state *st, enum shutdown_action action, const char *why)
{
    if (st->phase == PHASE_FINISHED || st->phase == PHASE_EXITING)
        return;
    if (st->phase == PHASE_STOPPING) {
        init_info("%s again: not waiting for the agent any longer", why);
        finish(st);
        return;
    }
    st->action = action;
    if (st->agent_pid <= 0) {
        init_info("%s: %s", why, shutdown_action_name(action));
        finish(st);
        return;
    }
    init_info("%s: stopping the agent for %s", why, shutdown_action_name(action));
    st->phase = PHASE_STOPPING;
    if (kill(st->agent_pid, SIGTERM) < 0)
        init_warn("signal agent: %s", strerror(errno));
    st->stop_timer = loop_add_timer(st->loop, AGENT_STOP_TIMEOUT_NS, stop_timeout, st);
}

static void agent_ended(struct init_state *st, int status)
{
    char how[96];
    status_describe(status, how, sizeof(how));
    /* The line the host (and the tests) look for on the console. */
    init_info("agent %s", how);
    st->agent_pid = 0;
    st->agent_status = status;
    if (st->phase == PHASE_RUNNING)
        st->action = SHUTDOWN_POWER_OFF;
    if (st->phase == PHASE_RUNNING || st->phase == PHASE_STOPPING)
        finish(st);
}

static void reap_children(struct init_state *st)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        if (pid == st->agent_pid) {
            agent_ended(st, status);
        } else if (console_debug_enabled()) {
            char how[96];
            status_describe(status, how, sizeof(how));
            init_debug("reaped pid %d: %s", (int)pid, how);
        }
    }
}

static void on_signal(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct init_state *st = data;
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(fd, &si, sizeof(si));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(si))
            return; /* EAGAIN: drained */
        int sig = (int)si.ssi_signo;
        if (sig != SIGCHLD)
            init_debug("signal %d from pid %u", sig, si.ssi_pid);
        switch (sig) {
        case SIGCHLD:
            reap_children(st);
            break;
        case SIGTERM:
        case SIGUSR2:
        case SIGPWR:
            request_shutdown(st, SHUTDOWN_POWER_OFF, "shutdown requested by signal");
            break;
        case SIGINT:
            request_shutdown(st, SHUTDOWN_POWER_OFF, "shutdown requested by Ctrl-Alt-Del");
            break;
        case SIGUSR1:
            request_shutdown(st, SHUTDOWN_REBOOT, "reboot requested by signal");
            break;
        default:
            break;
        }
    }
}

static void on_power_button(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct init_state *st = data;
    struct input_event ev[16];
    bool pressed = false;
    for (;;) {
        ssize_t n = read(fd, ev, sizeof(ev));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            /* The device went away (ENODEV): stop watching it. */
            loop_remove_fd(src);
            close(fd);
            break;
        }
        for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
            pressed = pressed || powerbutton_is_press(&ev[i]);
    }
    if (pressed)
        request_shutdown(st, SHUTDOWN_POWER_OFF, "shutdown requested by power button");
}

static void watch_power_buttons(struct init_state *st)
{
    int buttons[MAX_POWER_BUTTONS];
    size_t n = powerbutton_open_all(buttons, MAX_POWER_BUTTONS);
    for (size_t i = 0; i < n; i++)
        if (loop_add_fd(st->loop, buttons[i], EPOLLIN, on_power_button, st) == NULL)
            close(buttons[i]);
    init_debug("watching %zu power button device(s)", n);
}

/* What the agent does not need to start serving; only warnings from here on. The power
 * buttons first: a press before they are watched is lost. */
static void setup_late(struct init_state *st)
{
    watch_power_buttons(st);
    setup_for_containers(st->cgroup_v1);
}

/* While the agent starts and answers its first calls, init (its setup included) runs only
 * when the agent waits: a SCHED_IDLE task neither preempts it on wake-up nor keeps the CPU
 * from it for a scheduler tick. */
static void set_idle_priority(bool idle)
{
    struct sched_param param = {0};
    /* musl's sched_setscheduler() is a stub (ENOSYS): the system call sets this thread's
     * policy, which for single-threaded init is the process's. */
    if (syscall(SYS_sched_setscheduler, 0, idle ? SCHED_IDLE : SCHED_OTHER, &param) < 0)
        init_warn("scheduling policy %s: %s", idle ? "SCHED_IDLE" : "SCHED_OTHER", strerror(errno));
}

/* Runs the late setup once, then closes init's end: the agent's held calls go ahead. */
static void finish_deferred_setup(struct init_state *st)
{
    if (st->sync_fd < 0)
        return;
    loop_remove_fd(st->sync_src);
    st->sync_src = NULL;
    loop_cancel_timer(st->sync_timer);
    st->sync_timer = NULL;
    setup_late(st);
    close(st->sync_fd);
    st->sync_fd = -1;
    set_idle_priority(false);
    init_debug("setup for containers done");
}

static void on_agent_sync(struct loop_source *src, int fd, uint32_t events, void *data)
{
    /* Whatever arrives (the ready line, or the end of the stream from an agent that exited
     * or closed it) means: go ahead. */
    char buf[64];
    while (read(fd, buf, sizeof(buf)) < 0 && errno == EINTR)
        ;
    finish_deferred_setup(data);
}

static void agent_ready_timeout(struct loop_timer *t, void *data)
{
    struct init_state *st = data;
    st->sync_timer = NULL;
    init_warn("the agent did not report ready within %lld s; finishing the setup anyway",
              AGENT_READY_TIMEOUT_NS / 1000000000LL);
    finish_deferred_setup(st);
}

/* Everything but the synchronous faults, which must still kill a broken init. */
static void block_signals(sigset_t *ret_set)
{
    sigfillset(ret_set);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        sigdelset(ret_set, faults[i]);
    sigprocmask(SIG_SETMASK, ret_set, NULL);
}

static void close_inherited_fds(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
        return;
#endif
    for (int fd = 3; fd < 1024; fd++)
        (void)close(fd);
}

static char *read_cmdline(bool pid1)
{
    const char *env = getenv(CMDLINE_ENV);
    char *text = NULL;
    if (!pid1 && env)
        text = strdup(env);
    else if (read_file("/proc/cmdline", &text, NULL) < 0)
        text = NULL;
    unsetenv(CMDLINE_ENV);
    return text ? text : strdup("");
}

/* Only for an ordinary process: PID 1's arguments are what the kernel passed on from its
 * command line, and nothing there may turn the guest's init into a printer. */
static bool print_info(int argc, char **argv)
{
    if (getpid() == 1 || argc != 2)
        return false;
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        dprintf(STDOUT_FILENO, "kata-init %s (commit %s)\n", KATA_VERSION, KATA_COMMIT);
        return true;
    }
    /* Hidden: what the man page is checked against (tests/unit/man-drift.sh). */
    if (strcmp(argv[1], "--list-parameters") == 0) {
        for (const char *const *k = init_config_keys; *k; k++)
            dprintf(STDOUT_FILENO, "param %s\n", *k);
        dprintf(STDOUT_FILENO, "env %s\n", CMDLINE_ENV);
        return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    /* When the kernel handed over: the boot stages are measured from here. */
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    if (print_info(argc, argv))
        return 0;
    struct init_state st = {.pid1 = getpid() == 1, .sync_fd = -1};
    sigset_t blocked;
    block_signals(&blocked);
    close_inherited_fds();

    /* --- may bail out from here until the agent is started --- */
    cleanup_error struct kerr *err = NULL;
    if (st.pid1) {
        if (setup_base(&err) < 0)
            bail(true, err->msg);
        /* The kernel only prints "Run /init" without `quiet`, and printing costs boot time
         * under TCG: this one line (printed once the console is there, with the time of
         * init's first instruction) lets the host time the boot stages in quiet mode. */
        init_info("started at boottime %ld.%06ld s", (long)boot.tv_sec, boot.tv_nsec / 1000);
        /* Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reboot. */
        (void)reboot(RB_DISABLE_CAD);
    } else if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        init_warn("cannot become a child subreaper: %s", strerror(errno));
    }

    cleanup_free char *cmdline = read_cmdline(st.pid1);
    struct init_config cfg = {0};
    if (init_config_parse(cmdline, &cfg, &err) < 0)
        bail(st.pid1, err->msg);
    console_set_debug(cfg.debug);
    if (st.pid1)
        init_debug("/proc, /sys and /dev are mounted");
    init_debug("pid %d, cgroup %s, agent %s", (int)getpid(), cfg.cgroup_v1 ? "v1" : "v2",
               cfg.agent_argv[0]);

    st.cgroup_v1 = cfg.cgroup_v1;
    if (st.pid1 && setup_system(&err) < 0)
        bail(true, err->msg);
    setenv("PATH", GUEST_PATH, 1);

    int sfd = signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        bail(st.pid1, "signalfd failed");
    st.loop = loop_new();
    struct loop_source *signals = NULL;
    if (st.loop == NULL || (signals = loop_add_fd(st.loop, sfd, EPOLLIN, on_signal, &st)) == NULL)
        bail(st.pid1, "cannot set up the event loop");
    /* The late setup runs before the agent starts, unless the agent serves first and waits
     * for it (common/initsync.h); without a socket pair it cannot. */
    int agent_end = -1;
    if (st.pid1 && cfg.defer_setup) {
        int pair[2];
        /* Non-blocking on init's side only: O_NONBLOCK would be shared with the agent. */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0) {
            st.sync_fd = pair[0];
            agent_end = pair[1];
            (void)fcntl(st.sync_fd, F_SETFL, O_NONBLOCK);
        } else {
            init_warn("socketpair: %s; setting up before the agent starts", strerror(errno));
        }
    }
    if (st.pid1 && st.sync_fd < 0)
        setup_late(&st);

    if (agent_spawn(cfg.agent_argv, agent_end, &st.agent_pid, &err) < 0)
        bail(st.pid1, err->msg);
    /* --- the agent runs: from here on, never exit on an error --- */
    if (agent_end >= 0)
        close(agent_end);
    init_info("started agent %s (pid %d)", cfg.agent_argv[0], (int)st.agent_pid);
    if (st.sync_fd >= 0) {
        set_idle_priority(true);
        st.sync_src = loop_add_fd(st.loop, st.sync_fd, EPOLLIN, on_agent_sync, &st);
        st.sync_timer = loop_add_timer(st.loop, AGENT_READY_TIMEOUT_NS, agent_ready_timeout, &st);
        if (st.sync_src == NULL)
            finish_deferred_setup(&st);
    }

    for (;;) {
        int r = loop_run(st.loop);
        if (st.phase == PHASE_EXITING)
            break;
        init_warn("event loop failed: %s; restarting it", strerror(-r));
        sleep(1);
        reap_children(&st);
    }
    loop_remove_fd(signals);
    loop_free(st.loop);
    close(sfd);
    init_config_clear(&cfg);
    return status_exit_code(st.agent_status);
}
