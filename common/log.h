/* Structured logging: one JSON object per line, with the fields upstream's agent emits
 * (msg, level, subsystem, name, pid, source, time). Library code does not log; callers do. */
#pragma once
#include <stddef.h>

enum log_level { LOG_CRITICAL, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* name: "kata-agent"; source: "agent"; fd: where lines go (default 2). */
void log_init(const char *name, const char *source, int fd);
void log_set_level(enum log_level level);
/* Sends every line (with its '\n') to fn instead of the fd; NULL goes back to the fd. */
typedef void (*log_writer_fn)(const char *line, size_t len, void *data);
void log_set_writer(log_writer_fn fn, void *data);
enum log_level log_get_level(void);
/* Parses "critical|error|warn|warning|info|debug|trace"; returns -1 when unknown. */
int log_parse_level(const char *text);
void log_msg(enum log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_DEBUG, sub, __VA_ARGS__)
