/* CreateSandbox's kernel_modules: each one is loaded with `/sbin/modprobe -v NAME PARAMS...`
 * as upstream does, and a module that cannot be loaded fails the call with modprobe's exit
 * code and output. modprobe is short-lived, so it runs to completion here (the reaper's
 * waitpid(-1) cannot take it first: the loop does not run meanwhile). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

#define MODPROBE "/sbin/modprobe"
#define OUTPUT_MAX 4096

/* Reads what is left on out and err (both closed by the child's exit) into bufs. */
static void drain(int out, int err, char *obuf, char *ebuf)
{
    size_t on = 0, en = 0;
    struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        if (poll(p, 2, 5000) <= 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char *b = i ? ebuf : obuf;
            size_t *n = i ? &en : &on;
            char tmp[512];
            ssize_t r = read(p[i].fd, tmp, sizeof(tmp));
            if (r <= 0) {
                p[i].fd = -1;
                continue;
            }
            size_t take = (size_t)r < OUTPUT_MAX - *n ? (size_t)r : OUTPUT_MAX - *n;
            memcpy(b + *n, tmp, take);
            *n += take;
        }
    }
    obuf[on] = '\0';
    ebuf[en] = '\0';
}

static int load_module(const Grpc__KernelModule *m, struct kerr **err)
{
    if (!m->name[0])
        return make_status(err, RPC_INTERNAL, 0, "Kernel module name is empty");
    log_info("modules", "load_kernel_module %s", m->name);
    if (access(MODPROBE, X_OK) < 0)
        return make_status(err, RPC_INTERNAL, 0, "%s (os error %d)", strerror(errno), errno);
    cleanup_free char **argv = xcalloc(m->n_parameters + 4, sizeof(char *));
    size_t k = 0;
    argv[k++] = MODPROBE;
    argv[k++] = "-v";
    argv[k++] = m->name;
    for (size_t i = 0; i < m->n_parameters; i++)
        argv[k++] = m->parameters[i];
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return make_status(err, RPC_INTERNAL, 0, "pipe: %s", strerror(errno));
    if (pipe2(errp, O_CLOEXEC) < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return make_status(err, RPC_INTERNAL, 0, "pipe: %s", strerror(e));
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        execv(MODPROBE, argv);
        _exit(127);
    }
    int fork_errno = errno;
    close(out[1]);
    close(errp[1]);
    char obuf[OUTPUT_MAX + 1] = "", ebuf[OUTPUT_MAX + 1] = "";
    if (pid > 0)
        drain(out[0], errp[0], obuf, ebuf);
    close(out[0]);
    close(errp[0]);
    if (pid < 0)
        return make_status(err, RPC_INTERNAL, 0, "fork: %s", strerror(fork_errno));
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return make_status(err, RPC_INTERNAL, 0, "wait for modprobe: %s", strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (!WIFEXITED(st))
        return make_status(err, RPC_INTERNAL, 0, "Process terminated by signal");
    return make_status(err, RPC_INTERNAL, 0,
                       "load_kernel_module return code: %d stdout:%s stderr:%s", WEXITSTATUS(st),
                       obuf, ebuf);
}

int modules_load(Grpc__KernelModule **mods, size_t n, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        int r = load_module(mods[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}
