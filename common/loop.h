/* A single-threaded epoll loop. The loop's thread owns every piece of state reached from its
 * callbacks, so nothing in the agent needs locks. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_source;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop_source *src, int fd, uint32_t events, void *data);
typedef void (*loop_timer_cb)(struct loop_timer *t, void *data);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watches fd for events (EPOLLIN/EPOLLOUT/...). The fd is not owned by the loop. */
struct loop_source *loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *data);
int loop_modify_fd(struct loop_source *src, uint32_t events);
/* Safe to call from within any callback, including the source's own. */
void loop_remove_fd(struct loop_source *src);

/* One-shot timer firing after `ns` nanoseconds (CLOCK_MONOTONIC; negative = now, huge values
 * are clamped). The timer is freed once its callback returns: owners drop their pointer in the
 * callback and never cancel a timer that has fired. */
struct loop_timer *loop_add_timer(struct loop *l, int64_t ns, loop_timer_cb cb, void *data);
/* Safe to call from within callbacks; a NULL timer is ignored. */
void loop_cancel_timer(struct loop_timer *t);

/* Runs until loop_quit(). Returns 0, or a negative errno if epoll itself fails. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);
int64_t loop_now_ns(void);
