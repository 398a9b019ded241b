/* Error objects: fallible functions return a negative errno-style int and fill *err.
 * The RPC layer turns an error into a ttRPC status: `status` when set, else one derived
 * from `errnum`. */
#pragma once
#include <stdarg.h>

struct kerr {
    int errnum;  /* errno value (positive), 0 if none */
    int status;  /* google.rpc code to answer with, 0 = derive from errnum */
    char *msg;
};

/* Sets *err (if err != NULL and *err == NULL) and returns -errnum (or -1 when errnum is 0). */
int make_error(struct kerr **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like make_error but with an explicit google.rpc status code. */
int make_status(struct kerr **err, int status, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes context onto an existing error: "context: old message". Returns the original code. */
int error_wrap(struct kerr **err, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void error_free(struct kerr *e);
/* Status code (google.rpc) that best describes the error. */
int error_status(const struct kerr *e);

static inline void error_freep(struct kerr **e)
{
    error_free(*e);
    *e = 0;
}
#define cleanup_error __attribute__((cleanup(error_freep)))
