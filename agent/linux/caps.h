/* The five capability sets of Process.Capabilities, applied with prctl and the capset system
 * call directly (no libcap). */
#pragma once
#include <stdint.h>
#include <stddef.h>

#include "error.h"
#include "oci.pb-c.h"

/* "CAP_SYS_ADMIN" (case-insensitive) -> 21; -1 when unknown. */
int cap_from_name(const char *name);
/* Names to a bit mask; an unknown name is an INVALID_ARGUMENT error naming it. */
int caps_mask(char *const *names, size_t n, uint64_t *ret, struct kerr **err);

struct caps_sets {
    uint64_t bounding, effective, inheritable, permitted, ambient;
};
int caps_from_spec(const Grpc__LinuxCapabilities *c, struct caps_sets *ret, struct kerr **err);

/* Before the uid changes: drops what is not in the bounding set and keeps the permitted set
 * across setuid. */
int caps_prepare(const struct caps_sets *s, struct kerr **err);
/* After the uid changed: sets effective/permitted/inheritable, raises the ambient set. */
int caps_finish(const struct caps_sets *s, struct kerr **err);
