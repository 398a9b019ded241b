#include "tests/tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int planned, run, failed;

void tap_plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

static bool record(bool cond, const char *fmt, va_list ap)
{
    printf("%sok %d - ", cond ? "" : "not ", ++run);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    if (!cond)
        failed++;
    return cond;
}

bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(cond, fmt, ap);
    va_end(ap);
    return cond;
}

bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
    bool same = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    va_list ap;
    va_start(ap, fmt);
    record(same, fmt, ap);
    va_end(ap);
    if (!same)
        printf("#   got '%s', want '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return same;
}

int tap_done(void)
{
    if (planned == 0) {
        printf("1..%d\n", run);
        return failed ? 1 : 0;
    }
    if (run != planned) {
        printf("# planned %d tests but ran %d\n", planned, run);
        return 1;
    }
    return failed ? 1 : 0;
}
