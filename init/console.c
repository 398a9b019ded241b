#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static bool debug_enabled;

void console_set_debug(bool on)
{
    debug_enabled = on;
}

bool console_debug_enabled(void)
{
    return debug_enabled;
}

void console_log(enum console_level level, const char *fmt, ...)
{
    static const char *const prefixes[] = {"error: ", "warning: ", "", "debug: "};
    if (level == CONSOLE_DEBUG && !debug_enabled)
        return;
    char line[1024];
    int n;
    if (level == CONSOLE_DEBUG) {
        /* Debug lines carry the guest clock, to see where boot time goes. */
        struct timespec boot;
        clock_gettime(CLOCK_BOOTTIME, &boot);
        n = snprintf(line, sizeof(line), "kata-init: debug: [%ld.%06ld] ", (long)boot.tv_sec,
                     boot.tv_nsec / 1000);
    } else {
        n = snprintf(line, sizeof(line), "kata-init: %s", prefixes[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    (void)!write(STDERR_FILENO, line, len);
}

int console_attach_stdio(void)
{
    int fd = -1;
    for (int target = 0; target <= 2; target++) {
        if (fcntl(target, F_GETFD) >= 0)
            continue;
        if (fd < 0) {
            fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (fd < 0)
                return -errno;
        }
        if (fd != target && dup2(fd, target) < 0)
            return -errno;
    }
    /* When the console landed on one of 0-2 itself, dup2 was skipped for it and the
     * close-on-exec flag must come off or the agent would lose that descriptor. */
    if (fd >= 0 && fd <= 2)
        (void)fcntl(fd, F_SETFD, 0);
    else if (fd > 2)
        close(fd);
    return 0;
}
