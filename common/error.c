#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int vset(struct kerr **err, int status, int errnum, const char *fmt, va_list ap)
{
    int ret = errnum > 0 ? -errnum : -1;
    if (err == NULL || *err != NULL)
        return ret;
    struct kerr *e = xcalloc(1, sizeof(*e));
    char *text = xvasprintf(fmt, ap);
    if (errnum > 0) {
        e->msg = xasprintf("%s: %s", text, strerror(errnum));
        free(text);
    } else {
        e->msg = text;
    }
    e->errnum = errnum > 0 ? errnum : 0;
    e->status = status;
    *err = e;
    return ret;
}

int make_error(struct kerr **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = vset(err, 0, errnum, fmt, ap);
    va_end(ap);
    return ret;
}

int make_status(struct kerr **err, int status, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int ret = vset(err, status, errnum, fmt, ap);
    va_end(ap);
    return ret;
}

int error_wrap(struct kerr **err, int ret, const char *fmt, ...)
{
    if (err == NULL || *err == NULL)
        return ret;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
    free(ctx);
    free((*err)->msg);
    (*err)->msg = msg;
    return ret;
}

void error_free(struct kerr *e)
{
    if (e == NULL)
        return;
    free(e->msg);
    free(e);
}

int error_status(const struct kerr *e)
{
    if (e == NULL)
        return 0;
    if (e->status)
        return e->status;
    switch (e->errnum) {
    case ENOENT:
    case ESRCH:
        return 5; /* NOT_FOUND */
    case EEXIST:
        return 6; /* ALREADY_EXISTS */
    case EINVAL:
        return 3; /* INVALID_ARGUMENT */
    case EPERM:
    case EACCES:
        return 7; /* PERMISSION_DENIED */
    case ETIMEDOUT:
    case ETIME:
        return 4; /* DEADLINE_EXCEEDED */
    case ENOSYS:
        return 12; /* UNIMPLEMENTED */
    default:
        return 13; /* INTERNAL */
    }
}
