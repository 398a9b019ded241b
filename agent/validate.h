/* Checks of a request's contents that have no side effect (shared by the handlers and the
 * fuzz targets under tests/fuzz). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "error.h"

/* Upstream's verify_id: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (so at least two characters). */
bool agent_valid_id(const char *id);
/* Exec ids, which upstream does not check: the same characters, one at least (containerd's
 * ids, "e" among them, all pass); so never "/", "." or "..". */
bool agent_valid_exec_id(const char *id);
/* The parts of an OCI spec CreateContainer cannot do without; INVALID_ARGUMENT naming it. */
int agent_validate_spec(const Grpc__Spec *spec, struct kerr **err);
/* A guest path the host names (what says which, for the message): absolute, no ".." component;
 * INVALID_ARGUMENT otherwise (guest-path.c). */
int agent_check_guest_path(const char *what, const char *path, struct kerr **err);
/* agent_check_guest_path, then every directory of path created or opened without following a
 * symlink: one on the way is INVALID_ARGUMENT naming it. */
int agent_mkdir_nofollow(const char *what, const char *path, mode_t mode, struct kerr **err);
