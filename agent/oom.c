/* OOM events for GetOOMEvent: each started container's memory cgroup is watched through
 * cgroup_oom_fd() (agent/linux). Events wait in a small queue until a GetOOMEvent call takes
 * them; calls park until one arrives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "linux/cgroup.h"
#include "log.h"
#include "xalloc.h"

#define OOM_QUEUE_MAX 64
/* v1 counts the kill just after it notifies; 1 s covers a loaded TCG guest many times over */
#define OOM_RECHECK_NS (20 * 1000 * 1000)
#define OOM_RECHECKS 50

struct oom_watch {
    struct container *c;
    struct loop_source *src; /* on the cgroup's OOM fd (owned by the cgroup) */
    struct loop_timer *recheck;
    int rechecks_left;
};

static void reply_event(struct ttrpc_call *call, const char *id)
{
    Grpc__OOMEvent ev = GRPC__OOMEVENT__INIT;
    ev.container_id = (char *)id;
    ttrpc_reply(call, &ev.base);
}

void oom_notify(struct sandbox *sb, const char *id)
{
    log_info("oom", "container %s: out of memory", id);
    struct ttrpc_call *call = park_pop(&sb->oom_waiters, NULL);
    if (call) {
        reply_event(call, id);
        return;
    }
    if (sb->n_oom_queue >= OOM_QUEUE_MAX) {
        free(sb->oom_queue[0]);
        memmove(sb->oom_queue, sb->oom_queue + 1, (sb->n_oom_queue - 1) * sizeof(char *));
        sb->n_oom_queue--;
    }
    sb->oom_queue = xrealloc(sb->oom_queue, (sb->n_oom_queue + 1) * sizeof(char *));
    sb->oom_queue[sb->n_oom_queue++] = xstrdup(id);
}

void oom_get_event(struct sandbox *sb, struct ttrpc_call *call)
{
    if (sb->n_oom_queue == 0) {
        park(&sb->oom_waiters, call, 0);
        return;
    }
    char *id = sb->oom_queue[0];
    memmove(sb->oom_queue, sb->oom_queue + 1, (sb->n_oom_queue - 1) * sizeof(char *));
    sb->n_oom_queue--;
    reply_event(call, id);
    free(id);
}

void oom_cancel_waiters(struct sandbox *sb)
{
    struct ttrpc_call *call;
    while ((call = park_pop(&sb->oom_waiters, NULL)))
        /* upstream drops the event channel: the receive fails with INTERNAL and an empty
         * message, quoted as its error text is (the runtime stops its loop on any error) */
        ttrpc_reply_error(call, RPC_INTERNAL, "\"\"");
    for (size_t i = 0; i < sb->n_oom_queue; i++)
        free(sb->oom_queue[i]);
    free(sb->oom_queue);
    sb->oom_queue = NULL;
    sb->n_oom_queue = 0;
}

static void stop_watch(struct oom_watch *w)
{
    loop_remove_fd(w->src);
    w->src = NULL;
    loop_cancel_timer(w->recheck);
    w->recheck = NULL;
}

static void on_recheck(struct loop_timer *t, void *data);

/* `last`: the container is going away, processes waited for, so a kill is counted by now */
static void check(struct oom_watch *w, bool last)
{
    enum cgroup_oom state = CGROUP_OOM_NONE;
    struct kerr *err = NULL;
    if (cgroup_oom_check(w->c->cg, &state, &err) < 0) {
        log_warn("oom", "container %s: %s", w->c->id, err->msg);
        error_free(err);
        /* a broken watch would spin: stop it */
        stop_watch(w);
        return;
    }
    if (state == CGROUP_OOM_KILLED) {
        loop_cancel_timer(w->recheck);
        w->recheck = NULL;
        w->rechecks_left = 0;
        oom_notify(w->c->sb, w->c->id);
        return;
    }
    if (state == CGROUP_OOM_PENDING)
        w->rechecks_left = OOM_RECHECKS;
    if (w->rechecks_left > 0 && !w->recheck && !last) {
        w->rechecks_left--;
        w->recheck = loop_add_timer(w->c->sb->loop, OOM_RECHECK_NS, on_recheck, w);
    }
}

static void on_recheck(struct loop_timer *t, void *data)
{
    (void)t;
    struct oom_watch *w = data;
    w->recheck = NULL;
    check(w, false);
}

static void on_event(struct loop_source *src, int fd, uint32_t events, void *data)
{
    (void)src, (void)fd, (void)events;
    check(data, false);
}

void oom_unwatch(struct oom_watch *w)
{
    if (!w)
        return;
    /* a kill whose notification has not been read yet (RemoveContainer came first in this
     * loop turn, or v1 had not counted it at the notification) is still reported */
    if (w->src)
        check(w, true);
    stop_watch(w);
    free(w);
}

int oom_watch(struct container *c, struct oom_watch **ret, struct kerr **err)
{
    int fd;
    if (!c->cg)
        return make_error(err, ENOENT, "container %s has no cgroup", c->id);
    int r = cgroup_oom_fd(c->cg, &fd, err);
    if (r < 0)
        return r;
    struct oom_watch *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->src = loop_add_fd(c->sb->loop, fd, EPOLLIN, on_event, w);
    *ret = w;
    return 0;
}
