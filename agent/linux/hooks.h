/* OCI hooks: one hook program run to completion with the container state on its stdin, and
 * the state document itself. Used by the agent (prestart, createRuntime, poststart, poststop:
 * the runtime's namespaces) and by the container's setup child (createContainer and
 * startContainer: the container's namespaces). The caller waits; the hook's own timeout, or
 * HOOK_DEFAULT_TIMEOUT_S without one (upstream's default), bounds the wait. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "oci.pb-c.h"

#define HOOK_DEFAULT_TIMEOUT_S 10

/* What the state document says besides status and pid. */
struct hook_state {
    const char *oci_version;
    const char *id;
    const char *bundle;
    Grpc__Spec__AnnotationsEntry **annotations;
    size_t n_annotations;
};

/* {"ociVersion", "id", "status", "pid" (0 for none, as upstream and crun), "bundle",
 * "annotations"}. */
char *hook_state_json(const struct hook_state *st, const char *status, pid_t pid);

/* Runs h: argv is h->args (h->path alone without args), the environment h->env only, stdin the
 * state, stdout and stderr captured for the error message. Fails (the hook killed, with its
 * process group, and reaped) on a timeout, a non-zero exit or a signal. kind names the hook
 * in messages ("prestart"). */
int hook_run(const Grpc__Hook *h, const char *kind, const char *state, struct kerr **err);

/* Runs hooks in order, stopping at the first failure. */
int hooks_run(Grpc__Hook *const *hooks, size_t n, const char *kind, const char *state,
              struct kerr **err);
