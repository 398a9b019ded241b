#include "pool_shape.h"

#include <string.h>

#include "shim-config.h"

const char *pool_shape_name(enum pool_shape shape)
{
    return shape == POOL_SHAPE_SHIM ? "shim" : "run";
}

int pool_shape_opts(enum pool_shape shape, const char *name, const char *run_dir,
                    struct run_opts *o, struct kerr **err)
{
    if (shape == POOL_SHAPE_SHIM) {
        /* What the shim's own VMs are started with: its configuration, nothing else. */
        memset(o, 0, sizeof(*o));
        int r = shim_config_load(o, err);
        if (r < 0) {
            shim_config_clear(o);
            return r;
        }
        shim_config_sandbox(o, name, run_dir, NULL);
        return 0;
    }
    /* The options keep pointers into their argv: it must outlive them (a keeper or the
     * daemon's start asks once, on one thread). */
    static const char *named[] = {"run", "--name", NULL, "--", "true", NULL};
    static const char *const unnamed[] = {"run", "--", "true", NULL};
    named[2] = name;
    int r = name ? options_parse_run(5, (char *const *)named, o, err)
                 : options_parse_run(3, (char *const *)unnamed, o, err);
    if (r < 0)
        return r;
    o->run_dir = run_dir;
    return 0;
}

void pool_shape_opts_free(enum pool_shape shape, struct run_opts *o)
{
    if (shape == POOL_SHAPE_SHIM)
        shim_config_clear(o);
    else
        options_free_run(o);
}
