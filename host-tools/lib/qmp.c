#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "dial.h"
#include "loop.h"
#include "xalloc.h"

/* One line from fd (no buffering beyond it: answers are read one byte at a time, which is
 * fine for the few short lines of a QMP exchange). */
static int read_line(int fd, int64_t deadline, char **ret, struct kerr **err)
{
    size_t cap = 256, n = 0;
    cleanup_free char *buf = xmalloc(cap);
    for (;;) {
        int left = (int)((deadline - loop_now_ns()) / 1000000);
        if (left <= 0)
            return make_error(err, ETIMEDOUT, "QMP: no answer");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return make_error(err, r == 0 ? ETIMEDOUT : errno, "QMP: no answer");
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return make_error(err, got == 0 ? ECONNRESET : errno, "QMP: connection lost");
        if (c == '\n') {
            buf[n] = '\0';
            *ret = steal_ptr(buf);
            return 0;
        }
        if (n + 2 > cap)
            buf = xrealloc(buf, cap *= 2);
        buf[n++] = c;
    }
}

char *qmp_string(const char *line, const char *key)
{
    cleanup_free char *pat = xasprintf("\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != '"')
        return NULL;
    const char *end = strchr(++p, '"');
    return end ? xstrndup(p, (size_t)(end - p)) : NULL;
}

int qmp_call(int fd, const char *command, int timeout_ms, char **ret, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    size_t len = strlen(command);
    if (write(fd, command, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
        return make_error(err, errno, "QMP: send %s", command);
    for (;;) {
        cleanup_free char *line = NULL;
        int r = read_line(fd, deadline, &line, err);
        if (r < 0)
            return r;
        if (strncmp(line, "{\"return\"", 9) == 0) {
            if (ret)
                *ret = steal_ptr(line);
            return 0;
        }
        if (strncmp(line, "{\"error\"", 8) == 0) {
            cleanup_free char *desc = qmp_string(line, "desc");
            return make_error(err, EIO, "QMP %s: %s", command, desc ? desc : line);
        }
        /* {"event": ...} and anything else: not our answer */
    }
}

int qmp_connect(const char *path, int timeout_ms, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    int fd;
    for (;;) {
        struct kerr *e = NULL;
        fd = dial_unix(path, &e);
        if (fd >= 0) {
            error_free(e);
            break;
        }
        if (loop_now_ns() > deadline) {
            int r = make_error(err, e->errnum, "QMP socket %s: %s", path, e->msg);
            error_free(e);
            return r;
        }
        error_free(e);
        usleep(2000);
    }
    cleanup_free char *greeting = NULL;
    int r = read_line(fd, deadline, &greeting, err);
    if (r == 0)
        r = qmp_call(fd, "{\"execute\":\"qmp_capabilities\"}", timeout_ms, NULL, err);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}
