#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_name = "kata";
static const char *log_source = "agent";
static int log_fd = 2;
static enum log_level log_threshold = LOG_INFO;
static log_writer_fn log_writer;
static void *log_writer_data;

static const char *const level_names[] = {"critical", "error", "warn", "info", "debug", "trace"};

void log_init(const char *name, const char *source, int fd)
{
    log_name = name;
    log_source = source;
    log_fd = fd;
}

void log_set_level(enum log_level level)
{
    log_threshold = level;
}

void log_set_writer(log_writer_fn fn, void *data)
{
    log_writer = fn;
    log_writer_data = data;
}

enum log_level log_get_level(void)
{
    return log_threshold;
}

int log_parse_level(const char *text)
{
    if (strcasecmp(text, "warning") == 0)
        return LOG_WARN;
    if (strcasecmp(text, "fatal") == 0 || strcasecmp(text, "panic") == 0)
        return LOG_CRITICAL;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(text, level_names[i]) == 0)
            return (int)i;
    return -1;
}

/* Appends s to out as JSON string contents, bounded by cap. */
static size_t json_escape(char *out, size_t used, size_t cap, const char *s)
{
    for (; *s && used + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[used++] = '\\';
            out[used++] = (char)c;
        } else if (c < 0x20) {
            used += (size_t)snprintf(out + used, cap - used, "\\u%04x", c);
        } else {
            out[used++] = (char)c;
        }
    }
    return used;
}

void log_msg(enum log_level level, const char *subsystem, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[4096];
    size_t n = (size_t)snprintf(
        line, sizeof(line),
        "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"%s\","
        "\"name\":\"%s\",\"pid\":\"%d\",\"source\":\"%s\",\"subsystem\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000, level_names[level], log_name, (int)getpid(), log_source);
    n = json_escape(line, n, sizeof(line) - 16, subsystem ? subsystem : "root");
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
    n = json_escape(line, n, sizeof(line) - 4, msg);
    line[n++] = '"';
    line[n++] = '}';
    line[n++] = '\n';
    if (log_writer) {
        log_writer(line, n, log_writer_data);
        return;
    }
    /* One write per line so concurrent writers never interleave within a line. */
    (void)!write(log_fd, line, n);
}
