/* A pool keeper: one process per pooled VM (pool.h). It clones the template VM, waits until the
 * agent answers, reports READY to the pool daemon and idles; handed out, it passes the agent
 * channel to the taker and from then on lives as long as the taker's connection: it reports
 * QEMU's exit there, and kills QEMU when the taker is gone. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "paths.h"
#include "pool.h"
#include "loop.h"
#include "pool_keeper.h"
#include "pool_nice.h"
#include "pool_shape.h"
#include "pool_warm.h"
#include "sandbox.h"
#include "xalloc.h"

static int exit_pipe[2] = {-1, -1};

/* On the VM's waiter thread: wake the keeper's poll. */
static void vm_lost(void *data)
{
    if (write(exit_pipe[1], "x", 1) < 0) {
    }
}

/* Waits for the taker to close its connection (it does at teardown, or by dying), reporting
 * QEMU's exit on it meanwhile. */
static void serve_taker(struct sandbox *sb, int conn)
{
    bool reported = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = conn, .events = POLLIN},
                              {.fd = exit_pipe[0], .events = POLLIN}};
        if (poll(p, reported ? 1 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (!reported && p[1].revents) {
            (void)vm_wait(&sb->vm, 1000);
            cleanup_free char *msg = xasprintf("EXIT %d", sb->vm.exit_status);
            (void)pool_send(conn, msg, -1, NULL);
            reported = true;
        }
        if (p[0].revents) {
            char buf[64];
            ssize_t n = recv(conn, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return;
        }
    }
}

void pool_keeper_main(int daemon_sock, pid_t daemon_pid, const char *dir, enum pool_shape shape)
{
    /* Idle, the VM goes with the daemon (it cannot be handed out any more). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != daemon_pid)
        _exit(1);
    prctl(PR_SET_NAME, "kh-pool-keeper"); /* for ps -o comm; argv stays the daemon's */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(exit_pipe, O_CLOEXEC) < 0 || mkdir(dir, 0700) < 0)
        _exit(1);
    const char *name = strrchr(dir, '/') + 1;
    struct run_opts o;
    struct sandbox sb;
    cleanup_error struct kerr *err = NULL;
    int code = 1;
    if (pool_shape_opts(shape, name, dir, &o, &err) < 0) {
        cleanup_free char *log = xasprintf("%s/../keeper-failed.log", dir);
        (void)pool_write_file(log, err->msg, NULL);
        paths_remove_tree(dir);
        _exit(1);
    }
    pool_nice_background();
    int agent = -1;
    int warm_ms = -1;
    if (sandbox_prepare(&sb, &o, &err) == 0) {
        sb.on_vm_lost = vm_lost;
        agent = sandbox_start_pool_vm(&sb, &err);
    }
    if (agent >= 0 && pool_warm_passes() > 0) {
        int64_t t0 = loop_now_ns();
        if (pool_warm(&sb, agent, &err) < 0) {
            close(agent);
            agent = -1;
        } else {
            warm_ms = (int)((loop_now_ns() - t0) / 1000000);
        }
    }
    cleanup_free char *ready = xasprintf("READY %d", agent >= 0 ? (int)sb.vm.pid : 0);
    if (agent < 0) {
        cleanup_free char *log = xasprintf("%s/../keeper-failed.log", dir);
        (void)pool_write_file(log, err ? err->msg : "failed", NULL);
    } else if (pool_send(daemon_sock, ready, -1, NULL) == 0) {
        for (;;) {
            struct pollfd p[2] = {{.fd = daemon_sock, .events = POLLIN},
                                  {.fd = exit_pipe[0], .events = POLLIN}};
            if (poll(p, 2, -1) < 0 && errno == EINTR)
                continue;
            if (p[1].revents)
                break; /* the idle VM died: the daemon starts another */
            char buf[64];
            int conn = -1;
            int n = pool_recv(daemon_sock, buf, sizeof(buf), &conn, 0, NULL);
            if (n <= 0 || strcmp(buf, "GIVE") != 0 || conn < 0) {
                if (conn >= 0)
                    close(conn);
                if (n == -ETIMEDOUT)
                    continue;
                break; /* the daemon stopped */
            }
            /* Handed out: the taker owns the VM now, whatever happens to the daemon. */
            pool_nice_restore(sb.vm.pid);
            prctl(PR_SET_PDEATHSIG, 0);
            close(daemon_sock);
            daemon_sock = -1;
            cleanup_free char *msg = xasprintf("VM %d %llu %u %d %s", (int)sb.vm.pid,
                                               (unsigned long long)sb.hello_boottime_ns,
                                               sb.next_stream_id, warm_ms, dir);
            if (pool_send(conn, msg, agent, NULL) == 0) {
                close(agent);
                agent = -1;
                serve_taker(&sb, conn);
                code = 0;
            }
            close(conn);
            break;
        }
    }
    if (agent >= 0)
        close(agent);
    if (sb.vm_started && vm_running(&sb.vm))
        kill(sb.vm.pid, SIGKILL);
    sandbox_teardown(&sb);
    pool_shape_opts_free(shape, &o);
    paths_remove_tree(dir);
    /* The last VM handed out after `pool stop` takes the pool's directory with it: it is
     * empty only when no daemon runs (one has its socket and pid file there). */
    cleanup_free char *pool = xstrdup(dir);
    *strrchr(pool, '/') = '\0';
    (void)rmdir(pool);
    _exit(code);
}
