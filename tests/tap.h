/* Minimal TAP output shared by the C unit tests. */
#pragma once
#include <stdbool.h>

void tap_plan(int n);
/* Records one result; returns cond. */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records whether two strings (either may be NULL) are equal, showing both when not. */
bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exit status: 0 when every planned test passed. Without tap_plan() the plan is printed here,
 * at the end (TAP allows either place). */
int tap_done(void);
