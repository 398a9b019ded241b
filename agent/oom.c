/* OOM events for GetOOMEvent: each started container's memory cgroup is watched (v2: inotify
 * on memory.events, the oom_kill counter going up; v1: an eventfd registered through
 * cgroup.event_control for memory.oom_control, which fires on each OOM). Events wait in a small
 * queue until a GetOOMEvent call takes them; calls park until one arrives. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "linux/cgroup.h"
#include "log.h"
#include "xalloc.h"

#define OOM_QUEUE_MAX 64

struct oom_watch {
    struct container *c;
    char *counter_file; /* v2 memory.events, v1 memory.oom_control */
    int fd;             /* inotify (v2) or eventfd (v1) */
    int ctl_fd;         /* v1: the memory.oom_control fd the eventfd is bound to */
    struct loop_source *src;
    uint64_t oom_kills;
};

/* The oom_kill counter of memory.events / memory.oom_control (0 when absent). */
static uint64_t read_oom_kills(const char *path)
{
    cleanup_file FILE *f = fopen(path, "re");
    char line[128];
    uint64_t v = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "oom_kill %" SCNu64, &v) == 1)
            break;
    return v;
}

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
        ttrpc_reply_error(call, RPC_UNAVAILABLE, "sandbox destroyed: no more OOM events");
    for (size_t i = 0; i < sb->n_oom_queue; i++)
        free(sb->oom_queue[i]);
    free(sb->oom_queue);
    sb->oom_queue = NULL;
    sb->n_oom_queue = 0;
}

static void on_event(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct oom_watch *w = data;
    char buf[4096];
    ssize_t got = 0, r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        got += r;
    if (w->ctl_fd >= 0) {
        /* v1: the eventfd fires when the cgroup hits its limit, before the kill is counted */
        if (got > 0)
            oom_notify(w->c->sb, w->c->id);
        return;
    }
    uint64_t n = read_oom_kills(w->counter_file);
    log_debug("oom", "container %s: memory event, oom_kill %" PRIu64 " (was %" PRIu64 ")", w->c->id,
              n, w->oom_kills);
    if (n > w->oom_kills) {
        w->oom_kills = n;
        oom_notify(w->c->sb, w->c->id);
    }
}

void oom_unwatch(struct oom_watch *w)
{
    if (!w)
        return;
    loop_remove_fd(w->src);
    if (w->fd >= 0)
        close(w->fd);
    if (w->ctl_fd >= 0)
        close(w->ctl_fd);
    free(w->counter_file);
    free(w);
}

int oom_watch(struct container *c, struct oom_watch **ret, struct kerr **err)
{
    const char *dir = c->cg ? cgroup_dir(c->cg, "memory") : NULL;
    if (!dir)
        return make_error(err, ENOENT, "no memory cgroup for %s", c->id);
    struct oom_watch *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->fd = w->ctl_fd = -1;
    if (cgroup_is_v2(c->cg)) {
        w->counter_file = xasprintf("%s/memory.events", dir);
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0 || inotify_add_watch(w->fd, w->counter_file, IN_MODIFY) < 0) {
            int r = make_error(err, errno, "watch %s: %s", w->counter_file, strerror(errno));
            oom_unwatch(w);
            return r;
        }
    } else {
        w->counter_file = xasprintf("%s/memory.oom_control", dir);
        cleanup_free char *ctl = xasprintf("%s/cgroup.event_control", dir);
        w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        w->ctl_fd = open(w->counter_file, O_RDONLY | O_CLOEXEC);
        cleanup_close int cfd = open(ctl, O_WRONLY | O_CLOEXEC);
        char line[64];
        int len = snprintf(line, sizeof(line), "%d %d", w->fd, w->ctl_fd);
        if (w->fd < 0 || w->ctl_fd < 0 || cfd < 0 || write(cfd, line, (size_t)len) != len) {
            int r = make_error(err, errno, "register OOM eventfd in %s: %s", ctl, strerror(errno));
            oom_unwatch(w);
            return r;
        }
    }
    w->oom_kills = read_oom_kills(w->counter_file);
    w->src = loop_add_fd(c->sb->loop, w->fd, EPOLLIN, on_event, w);
    log_debug("oom", "container %s: watching %s", c->id, w->counter_file);
    *ret = w;
    return 0;
}
