/* Shared pieces of pbrt, our compact runtime for protoc-c generated code. It implements the
 * API declared by Debian's protobuf-c.h (1.4.1) from that header and the protobuf wire format
 * alone. Files: pbrt-pack.c (encoder), pbrt-unpack.c (decoder and free), pbrt-desc.c
 * (descriptor look-ups, check, init, services, buffers, version). */
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

/* Nesting deeper than this is rejected by the decoder: it bounds the C stack that hostile
 * input can consume, and no message of ours comes close. */
#define PBRT_MAX_DEPTH 64

#define PBRT_MEMBER(msg, off) ((void *)((char *)(msg) + (off)))

/* Wire type of a field's value when it is not packed. */
static inline unsigned pbrt_wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default:
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

/* Size of one value in the C structure (the element size for repeated fields). Enums are
 * int-sized (PROTOBUF_C__FORCE_ENUM_TO_BE_INT_SIZE) and protobuf_c_boolean is an int. */
static inline size_t pbrt_value_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static inline int pbrt_is_scalar(ProtobufCType t)
{
    return t < PROTOBUF_C_TYPE_STRING;
}

void *pbrt_alloc(ProtobufCAllocator *a, size_t size);
void pbrt_free(ProtobufCAllocator *a, void *p);
