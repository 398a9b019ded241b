#include "tests/tap.h"

#include <stdarg.h>
#include <stdio.h>

static int planned, run, failed;

void tap_plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++run);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!cond)
        failed++;
    return cond;
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
