/* A sandbox's shim directory. Its name is a hash of namespace and sandbox id: every container
 * of a pod finds the pod's shim from the id alone (shim start), and unix socket paths stay
 * far below sun_path's 108 bytes whatever the ids' length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "xalloc.h"

const char *shim_run_base(void)
{
    const char *e = getenv("KATA_GUEST_SHIM_RUN_DIR");
    return e && *e == '/' ? e : SHIM_RUN_DIR_DEFAULT;
}

static uint64_t fnv1a64(const char *a, const char *b)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = a; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    h = (h ^ '/') * 0x100000001b3ULL;
    for (const char *p = b; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    return h;
}

char *shim_run_dir_for(const char *ns, const char *sandbox_id)
{
    return xasprintf("%s/%016llx", shim_run_base(),
                     (unsigned long long)fnv1a64(ns, sandbox_id));
}

char *shim_socket_path(const char *run_dir)
{
    return xasprintf("%s/shim.sock", run_dir);
}
