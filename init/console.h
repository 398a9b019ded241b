/* kata-init's own messages: plain "kata-init: ..." lines on the console (one write each),
 * because they are read by people and by tests scanning the serial log, not by a log
 * collector. Debug lines appear only with kata.init_debug. */
#pragma once
#include <stdbool.h>

enum console_level { CONSOLE_ERROR, CONSOLE_WARN, CONSOLE_INFO, CONSOLE_DEBUG };

void console_set_debug(bool on);
bool console_debug_enabled(void);
void console_log(enum console_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define init_error(...) console_log(CONSOLE_ERROR, __VA_ARGS__)
#define init_warn(...) console_log(CONSOLE_WARN, __VA_ARGS__)
#define init_info(...) console_log(CONSOLE_INFO, __VA_ARGS__)
#define init_debug(...) console_log(CONSOLE_DEBUG, __VA_ARGS__)

/* Points any of fds 0-2 that is closed at /dev/console. The kernel leaves them closed when
 * the initramfs has no /dev/console node; then nothing init or the agent writes is seen.
 * Returns 0, or a negative errno when /dev/console cannot be opened. */
int console_attach_stdio(void);
