/* The shapes of pooled VMs. A taker gets a VM only of exactly its own configuration (the
 * template key), so the pool keeps VMs of the two configurations that ask it: `kata-host run`'s
 * default one, and the containerd shim's (its configuration file, a 9p shared directory). */
#pragma once
#include "error.h"
#include "options.h"

enum pool_shape { POOL_SHAPE_RUN, POOL_SHAPE_SHIM };
#define POOL_SHAPES 2

const char *pool_shape_name(enum pool_shape shape);
/* The run options a VM of this shape is started with; name and run_dir may be NULL (the key
 * does not depend on them). Free with pool_shape_opts_free. */
int pool_shape_opts(enum pool_shape shape, const char *name, const char *run_dir,
                    struct run_opts *ret, struct kerr **err);
void pool_shape_opts_free(enum pool_shape shape, struct run_opts *o);
