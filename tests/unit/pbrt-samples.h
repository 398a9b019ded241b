/* Sample messages covering every type, label, packing, oneof and map of the pbrt test schema
 * (plus a realistic agent CreateContainerRequest). They are built with the generated init
 * functions only, never with a runtime call, so the same samples feed the pbrt unit test and
 * both sides of the cross-check against libprotobuf-c. The storage is static. */
#pragma once
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct pbrt_sample {
    const char *name;
    const ProtobufCMessage *msg;
};

/* Builds the samples on first use; returns how many there are. */
size_t pbrt_samples(const struct pbrt_sample **ret);
