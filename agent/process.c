/* Container processes: the table entry per exec id, exit status, parked waiters, and the
 * drain window after exit (readers get what the pipe still holds for up to
 * PROC_DRAIN_NS, then EOF, even if an orphan keeps the pipe open). */
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "xalloc.h"

#define PROC_DRAIN_NS (500 * 1000 * 1000LL)
/* How long a waited-for process keeps a stream nobody has asked for. */
#define PROC_UNREAD_NS (5 * 1000 * 1000 * 1000LL)

struct proc *proc_new(struct container *c, const char *exec_id, const struct spawn_result *r,
                      bool init)
{
    struct proc *p = xcalloc(1, sizeof(*p));
    p->ctr = c;
    p->exec_id = xstrdup(exec_id);
    p->pid = r->pid;
    p->init = init;
    p->pty = r->pty_master;
    struct loop *loop = c->sb->loop;
    io_out_init(&p->out, loop, r->stdout_fd);
    io_out_init(&p->err, loop, r->stderr_fd);
    /* The pty master serves both directions; stdin gets its own descriptor so that the two
     * can be watched and closed independently. */
    io_in_init(&p->in, loop,
               r->pty_master >= 0 ? fcntl(r->pty_master, F_DUPFD_CLOEXEC, 0) : r->stdin_fd);
    p->next = c->procs;
    c->procs = p;
    return p;
}

static void reply_status(struct ttrpc_call *call, int status)
{
    Grpc__WaitProcessResponse resp = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    resp.status = status;
    ttrpc_reply(call, &resp.base);
}

void proc_free(struct proc *p)
{
    struct container *c = p->ctr;
    for (struct proc **pp = &c->procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    struct ttrpc_call *call;
    while ((call = park_pop(&p->waiters, NULL))) {
        if (p->exited)
            reply_status(call, p->status);
        else
            ttrpc_reply_error(call, RPC_NOT_FOUND, "process %s of container %s was removed",
                              p->exec_id, c->id);
    }
    loop_cancel_timer(p->drain_timer);
    loop_cancel_timer(p->unread_timer);
    io_out_close(&p->out);
    io_out_close(&p->err);
    io_in_close(&p->in);
    free(p->exec_id);
    free(p);
}

void proc_wait(struct proc *p, struct ttrpc_call *call)
{
    if (!p->exited) {
        park(&p->waiters, call, 0);
        return;
    }
    /* Like upstream: a completed wait removes the exec id, so a second one is NOT_FOUND. */
    reply_status(call, p->status);
    p->waited = true;
    proc_gc(p);
}

static void unread_done(struct loop_timer *t, void *data)
{
    struct proc *p = data;
    p->unread_timer = NULL;
    io_out_abandon(&p->out);
    io_out_abandon(&p->err);
    proc_gc(p);
}

/* A waited-for process stays readable until both its streams reported EOF, so a client that
 * waits while it still reads loses no output; then its exec id is gone. A stream no client
 * has asked for within PROC_UNREAD_NS of the wait is closed instead: a client that never
 * reads one (upstream's shim does not read a stream it has no FIFO for) would otherwise
 * keep the process's pipes open until RemoveContainer, three fds per exec. */
bool proc_gc(struct proc *p)
{
    if (!p->waited)
        return false;
    if (!p->out.eof || !p->err.eof) {
        if (!p->unread_timer)
            p->unread_timer = loop_add_timer(p->ctr->sb->loop, PROC_UNREAD_NS, unread_done, p);
        return false;
    }
    proc_free(p);
    return true;
}

static void drain_done(struct loop_timer *t, void *data)
{
    struct proc *p = data;
    p->drain_timer = NULL;
    io_out_set_drained(&p->out);
    io_out_set_drained(&p->err);
    proc_gc(p);
}

void proc_exited(struct proc *p, int wstatus)
{
    struct container *c = p->ctr;
    p->exited = true;
    p->status = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
    bool init = p->init;
    int status = p->status;
    p->drain_timer = loop_add_timer(c->sb->loop, PROC_DRAIN_NS, drain_done, p);
    if (!park_empty(&p->waiters)) {
        struct ttrpc_call *call;
        while ((call = park_pop(&p->waiters, NULL)))
            reply_status(call, status);
        p->waited = true;
        proc_gc(p);
    }
    container_proc_exited(c, init, status);
}
