/* Minimal TAP output shared by the C unit tests. */
#pragma once
#include <stdbool.h>

void tap_plan(int n);
/* Records one result; returns cond. */
bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit status: 0 when every planned test passed. Without tap_plan() the plan is printed here,
 * at the end (TAP allows either place). */
int tap_done(void);
