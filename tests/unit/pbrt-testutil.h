/* Helpers shared by the pbrt unit test and the cross-check program: a descriptor-driven deep
 * comparison of two messages and hex conversion. Only descriptors are read, so the same code
 * runs against pbrt and against libprotobuf-c. */
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

/* Only its static inline layout helpers are used, which hold for libprotobuf-c too. */
#include "protocol/pbrt/pbrt-internal.h"

static inline int pbrt_test_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b,
                                      char *why, size_t why_len);

/* Floats are equal when numerically equal (so -0.0 == 0.0, which proto3 does not preserve)
 * or when both are NaN with the same bits. */
static inline int pbrt_test_value_equal(const ProtobufCFieldDescriptor *f, const void *x,
                                        const void *y, char *why, size_t why_len)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)x, *t = *(char *const *)y;
        return strcmp(s ? s : "", t ? t : "") == 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *p = x, *q = y;
        return p->len == q->len && (p->len == 0 || memcmp(p->data, q->data, p->len) == 0);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)x;
        const ProtobufCMessage *n = *(ProtobufCMessage *const *)y;
        if (!m || !n)
            return m == n;
        return pbrt_test_msg_equal(m, n, why, why_len);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float p, q;
        memcpy(&p, x, 4);
        memcpy(&q, y, 4);
        return p == q || (isnan(p) && isnan(q) && memcmp(x, y, 4) == 0);
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double p, q;
        memcpy(&p, x, 8);
        memcpy(&q, y, 8);
        return p == q || (isnan(p) && isnan(q) && memcmp(x, y, 8) == 0);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)x == !*(const protobuf_c_boolean *)y;
    default:
        return memcmp(x, y, pbrt_value_size(f->type)) == 0;
    }
}

static inline int pbrt_test_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b,
                                      char *why, size_t why_len)
{
    const ProtobufCMessageDescriptor *d = a->descriptor;

    if (a->descriptor != b->descriptor) {
        snprintf(why, why_len, "descriptor differs");
        return 0;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
        const char *qx = (const char *)a + f->quantifier_offset;
        const char *qy = (const char *)b + f->quantifier_offset;
        int same = 1;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)qx, es = pbrt_value_size(f->type);
            const char *ax = *(char *const *)x, *ay = *(char *const *)y;
            same = n == *(const size_t *)qy;
            for (size_t j = 0; same && j < n; j++)
                same = pbrt_test_value_equal(f, ax + j * es, ay + j * es, why, why_len);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t cx = *(const uint32_t *)qx, cy = *(const uint32_t *)qy;
            if (cx == f->id || cy == f->id)
                same = cx == cy && pbrt_test_value_equal(f, x, y, why, why_len);
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE) {
            int hx = *(const protobuf_c_boolean *)qx, hy = *(const protobuf_c_boolean *)qy;
            same = hx == hy && (!hx || pbrt_test_value_equal(f, x, y, why, why_len));
        } else {
            same = pbrt_test_value_equal(f, x, y, why, why_len);
        }
        if (!same) {
            size_t used = strlen(why);
            if (used + 2 < why_len)
                snprintf(why + used, why_len - used, "%s%s.%s", used ? " < " : "", d->name,
                         f->name);
            return 0;
        }
    }
    return 1;
}

static inline void pbrt_test_hex(const uint8_t *p, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
}

/* Returns the number of bytes decoded into out (at most cap), or -1 on bad hex. */
static inline long pbrt_test_unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[0] != '\n') {
        unsigned v;
        if (!s[1] || n >= cap || sscanf(s, "%2x", &v) != 1)
            return -1;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return (long)n;
}

/* libprotobuf-c accepts a bool field sent with a non-varint wire type (reading whatever bytes
 * follow as the flag); pbrt rejects it like any other wire type mismatch. This walker tells the
 * cross-check which inputs contain such a field, anywhere in the nesting. */
static inline int pbrt_test_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

static inline int pbrt_test_has_odd_bool(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                                         size_t len, int depth)
{
    const uint8_t *end = p + len;
    while (p < end && depth < 100) {
        uint64_t tag, v;
        if (pbrt_test_read_varint(&p, end, &tag) < 0)
            return 0;
        unsigned wt = tag & 7;
        const ProtobufCFieldDescriptor *f = NULL;
        for (unsigned i = 0; i < d->n_fields; i++)
            if (d->fields[i].id == tag >> 3)
                f = &d->fields[i];
        if (f && f->type == PROTOBUF_C_TYPE_BOOL && wt != 0 &&
            !(wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED))
            return 1;
        if (wt == 0) {
            if (pbrt_test_read_varint(&p, end, &v) < 0)
                return 0;
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return 0;
            p += w;
        } else if (wt == 2) {
            if (pbrt_test_read_varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
                return 0;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                pbrt_test_has_odd_bool(f->descriptor, p, (size_t)v, depth + 1))
                return 1;
            p += v;
        } else {
            return 0;
        }
    }
    return 0;
}
