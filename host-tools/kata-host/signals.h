/* Signals to kata-host are handled by one thread (sigwaitinfo), never by async handlers, so a
 * handler may make blocking calls (e.g. forward the signal to the container over ttRPC).
 * signals_start() must run before any other thread exists: it blocks the set for all. */
#pragma once

typedef void (*signals_fn)(int sig, void *data);

int signals_start(void);
/* Replaces the handler (NULL: ignore). Returns when no old handler runs any more. */
void signals_set_handler(signals_fn fn, void *data);
void signals_stop(void);
