#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

struct loop_source {
    struct loop *loop;
    int fd;
    loop_fd_cb cb;
    void *data;
    bool removed;
    struct loop_source *next_dead;
};

struct loop_timer {
    struct loop *loop;
    int64_t deadline;
    loop_timer_cb cb;
    void *data;
    bool cancelled;
    struct loop_timer *next;
};

struct loop {
    int epfd;
    bool quit;
    /* Removed sources are freed only after the current dispatch round, because epoll may
     * still hand out their pointer in this round's event array. */
    struct loop_source *dead;
    struct loop_timer *timers; /* unsorted; the agent holds a handful at most */
};

int64_t loop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct loop *loop_new(void)
{
    struct loop *l = xcalloc(1, sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    return l;
}

static void reap_dead(struct loop *l)
{
    while (l->dead) {
        struct loop_source *s = l->dead;
        l->dead = s->next_dead;
        free(s);
    }
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    reap_dead(l);
    while (l->timers) {
        struct loop_timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    close(l->epfd);
    free(l);
}

struct loop_source *loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *data)
{
    struct loop_source *s = xcalloc(1, sizeof(*s));
    s->loop = l;
    s->fd = fd;
    s->cb = cb;
    s->data = data;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

int loop_modify_fd(struct loop_source *s, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};
    return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

void loop_remove_fd(struct loop_source *s)
{
    if (!s || s->removed)
        return;
    (void)epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->removed = true;
    s->next_dead = s->loop->dead;
    s->loop->dead = s;
}

struct loop_timer *loop_add_timer(struct loop *l, int64_t ns, loop_timer_cb cb, void *data)
{
    struct loop_timer *t = xcalloc(1, sizeof(*t));
    t->loop = l;
    /* Deadlines come from peers (ttRPC timeout_nano): clamp so the sum cannot overflow. */
    int64_t now = loop_now_ns();
    if (ns < 0)
        ns = 0;
    t->deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    t->cb = cb;
    t->data = data;
    t->next = l->timers;
    l->timers = t;
    return t;
}

void loop_cancel_timer(struct loop_timer *t)
{
    if (t)
        t->cancelled = true;
}

void loop_quit(struct loop *l)
{
    l->quit = true;
}

/* Fires due timers; returns the epoll timeout in ms until the next one (-1: none). */
static int run_timers(struct loop *l)
{
    int64_t now = loop_now_ns();
    struct loop_timer **pp = &l->timers;
    while (*pp) {
        struct loop_timer *t = *pp;
        if (t->cancelled) {
            *pp = t->next;
            free(t);
        } else if (t->deadline <= now) {
            t->cancelled = true; /* one-shot; freed on the next pass */
            t->cb(t, t->data);
            pp = &l->timers; /* callbacks may add timers: rescan */
        } else {
            pp = &t->next;
        }
    }
    int64_t next = -1;
    for (struct loop_timer *t = l->timers; t; t = t->next)
        if (!t->cancelled && (next < 0 || t->deadline < next))
            next = t->deadline;
    if (next < 0)
        return -1;
    int64_t left = next - loop_now_ns();
    if (left <= 0)
        return 0;
    if (left > 60000LL * 1000000)
        return 60000;
    return (int)((left + 999999) / 1000000);
}

int loop_run(struct loop *l)
{
    struct epoll_event events[32];
    l->quit = false;
    while (!l->quit) {
        int timeout = run_timers(l);
        if (l->quit)
            break;
        int n = epoll_wait(l->epfd, events, 32, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            struct loop_source *s = events[i].data.ptr;
            if (!s->removed)
                s->cb(s, s->fd, events[i].events, s->data);
        }
        reap_dead(l);
    }
    return 0;
}
