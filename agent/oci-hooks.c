/* The hooks a container runs: its spec's with the sandbox's guest hooks appended (as upstream's
 * append_guest_hooks means to: prestart to prestart, where upstream, when the spec has hooks
 * of its own, appends them to poststart; the Kata runtime sends none, so that case is not
 * seen), and the poststart/poststop runs, whose failures the OCI runtime spec has logged
 * only. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "linux/hooks.h"
#include "log.h"
#include "xalloc.h"

static Grpc__Hook **concat(Grpc__Hook **a, size_t na, Grpc__Hook **b, size_t nb, size_t *n)
{
    *n = na + nb;
    if (*n == 0)
        return NULL;
    Grpc__Hook **r = xcalloc(*n, sizeof(*r));
    if (na)
        memcpy(r, a, na * sizeof(*r));
    if (nb)
        memcpy(r + na, b, nb * sizeof(*r));
    return r;
}

Grpc__Hooks *oci_hooks_merge(const Grpc__Hooks *spec, const Grpc__Hooks *guest)
{
    if (!spec && !guest)
        return NULL;
    static const Grpc__Hooks none = GRPC__HOOKS__INIT;
    if (!spec)
        spec = &none;
    if (!guest)
        guest = &none;
    Grpc__Hooks *h = xmalloc(sizeof(*h));
    *h = *spec;
    h->prestart = concat(spec->prestart, spec->n_prestart, guest->prestart, guest->n_prestart,
                         &h->n_prestart);
    h->poststart = concat(spec->poststart, spec->n_poststart, guest->poststart, guest->n_poststart,
                          &h->n_poststart);
    h->poststop = concat(spec->poststop, spec->n_poststop, guest->poststop, guest->n_poststop,
                         &h->n_poststop);
    return h;
}

void oci_hooks_free(Grpc__Hooks *h)
{
    if (!h)
        return;
    free(h->prestart);
    free(h->poststart);
    free(h->poststop);
    free(h);
}

void oci_hooks_run_logged(Grpc__Hook *const *hooks, size_t n, const char *kind, const char *cid,
                          const char *state)
{
    for (size_t i = 0; i < n; i++) {
        struct kerr *err = NULL;
        if (hook_run(hooks[i], kind, state, &err) < 0) {
            log_warn("hooks", "container %s: %s", cid, err->msg);
            error_free(err);
        }
    }
}
