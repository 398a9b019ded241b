/* NULL-terminated vectors of allocated strings. */
#pragma once
#include <stddef.h>
#include <stdlib.h>

static inline size_t strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static inline void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}
