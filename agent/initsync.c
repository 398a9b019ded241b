/* The agent's side of kata-init's handshake (common/initsync.h): say when serving, then wait
 * for init to close its end, which means the guest is set up for containers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "initsync.h"
#include "log.h"
#include "xalloc.h"

/* kata-init's setup takes tens of milliseconds; this only bounds a broken one. */
#define INIT_SETUP_TIMEOUT_NS (10LL * 1000 * 1000 * 1000)

struct init_sync {
    struct loop *loop;
    int fd;
    struct loop_source *src;
    struct loop_timer *timer;
    init_sync_done_fn on_done;
    void *data;
};

struct init_sync *init_sync_from_env(struct loop *loop)
{
    const char *value = getenv(KATA_INIT_SYNC_ENV);
    if (!value)
        return NULL;
    char *end = NULL;
    errno = 0;
    long fd = strtol(value, &end, 10);
    bool valid = errno == 0 && end != value && *end == '\0' && fd >= 0 && fd <= INT_MAX;
    int flags = valid ? fcntl((int)fd, F_GETFL) : -1;
    if (flags < 0 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl((int)fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_warn("init", "%s=%s is not an open descriptor: not waiting for kata-init",
                 KATA_INIT_SYNC_ENV, value);
        unsetenv(KATA_INIT_SYNC_ENV);
        return NULL;
    }
    /* Processes the agent starts must not inherit it (nor the descriptor: close-on-exec). */
    unsetenv(KATA_INIT_SYNC_ENV);
    struct init_sync *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->fd = (int)fd;
    return s;
}

static void finish(struct init_sync *s)
{
    loop_remove_fd(s->src);
    s->src = NULL;
    loop_cancel_timer(s->timer);
    s->timer = NULL;
    close(s->fd);
    s->fd = -1;
    init_sync_done_fn done = s->on_done;
    s->on_done = NULL;
    if (done)
        done(s->data);
}

static void on_readable(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct init_sync *s = data;
    char buf[64];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0)
            continue; /* init writes nothing; only the end of the stream means done */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0)
            log_warn("init", "reading kata-init's handshake: %m; serving anyway");
        else
            log_info("init", KATA_INIT_SYNC_DONE_MSG);
        finish(s);
        return;
    }
}

static void on_timeout(struct loop_timer *t, void *data)
{
    struct init_sync *s = data;
    s->timer = NULL;
    log_warn("init", "kata-init did not finish the guest setup within %lld s; serving anyway",
             INIT_SETUP_TIMEOUT_NS / 1000000000LL);
    finish(s);
}

void init_sync_ready(struct init_sync *s, init_sync_done_fn on_done, void *data)
{
    s->on_done = on_done;
    s->data = data;
    /* If init has already closed its end (it gave up waiting), this fails and the read below
     * sees the end of the stream at once. SIGPIPE is ignored by the agent. */
    size_t len = strlen(KATA_INIT_SYNC_READY);
    if (write(s->fd, KATA_INIT_SYNC_READY, len) != (ssize_t)len)
        log_debug("init", "telling kata-init the agent is ready: %m");
    s->src = loop_add_fd(s->loop, s->fd, EPOLLIN, on_readable, s);
    if (!s->src) {
        log_warn("init", "cannot watch kata-init's handshake; serving anyway");
        finish(s);
        return;
    }
    s->timer = loop_add_timer(s->loop, INIT_SETUP_TIMEOUT_NS, on_timeout, s);
}

void init_sync_free(struct init_sync *s)
{
    if (!s)
        return;
    s->on_done = NULL;
    if (s->fd >= 0)
        finish(s);
    free(s);
}
