/* __attribute__((cleanup)) helpers. Ownership moves by copying the value out and resetting the
 * local (steal_fd / steal_ptr). */
#pragma once
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_free_fn(void *p)
{
    free(*(void **)p);
}
static inline void cleanup_close_fn(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void cleanup_dir_fn(DIR **d)
{
    if (*d)
        closedir(*d);
}
static inline void cleanup_file_fn(FILE **f)
{
    if (*f)
        fclose(*f);
}
static inline int steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}
static inline void *steal_ptr_(void **p)
{
    void *r = *p;
    *p = NULL;
    return r;
}
#define steal_ptr(p) steal_ptr_((void **)&(p))

#define cleanup_free __attribute__((cleanup(cleanup_free_fn)))
#define cleanup_close __attribute__((cleanup(cleanup_close_fn)))
#define cleanup_dir __attribute__((cleanup(cleanup_dir_fn)))
#define cleanup_file __attribute__((cleanup(cleanup_file_fn)))
