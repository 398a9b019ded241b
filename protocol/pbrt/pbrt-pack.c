/* Encoder. One walk over the message serves three purposes: counting (get_packed_size),
 * writing into a flat array (pack) and streaming into a ProtobufCBuffer (pack_to_buffer).
 * Fields are written in descriptor order (ascending tag), which is what libprotobuf-c does,
 * so both runtimes produce identical bytes for the same message. */
#include "pbrt-internal.h"

struct pbrt_sink {
    uint8_t *out;         /* flat destination, or NULL */
    ProtobufCBuffer *buf; /* streaming destination, or NULL */
    size_t len;           /* bytes produced so far */
};

static void sink_put(struct pbrt_sink *s, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (s->buf)
        s->buf->append(s->buf, n, data);
    else if (s->out)
        memcpy(s->out + s->len, data, n);
    s->len += n;
}

static void sink_varint(struct pbrt_sink *s, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;

    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    sink_put(s, b, n);
}

static void sink_tag(struct pbrt_sink *s, uint32_t id, unsigned wire_type)
{
    sink_varint(s, (uint64_t)id << 3 | wire_type);
}

/* A scalar as it travels on the wire: the varint value (int32 and enum sign-extended to 64
 * bits, sint zigzag-encoded) or the raw bits of a fixed-width value. */
static uint64_t scalar_to_wire(ProtobufCType t, const void *member)
{
    if (pbrt_value_size(t) == 4) {
        uint32_t u;
        memcpy(&u, member, 4);
        if (t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_ENUM)
            return (uint64_t)(int64_t)(int32_t)u;
        if (t == PROTOBUF_C_TYPE_SINT32)
            return (uint32_t)(u << 1 ^ (0u - (u >> 31)));
        if (t == PROTOBUF_C_TYPE_BOOL)
            return u != 0;
        return u;
    }
    uint64_t v;
    memcpy(&v, member, 8);
    if (t == PROTOBUF_C_TYPE_SINT64)
        return v << 1 ^ (0 - (v >> 63));
    return v;
}

static void sink_message(struct pbrt_sink *s, const ProtobufCMessage *msg);

/* Writes a length-prefixed body whose size is already in `count`. A counting sink only adds
 * the size: walking the body again at every level would make nesting cost exponential. */
static void sink_body(struct pbrt_sink *s, size_t counted, const ProtobufCMessage *sub)
{
    if (!s->out && !s->buf)
        s->len += counted;
    else if (sub)
        sink_message(s, sub);
}

static void sink_value(struct pbrt_sink *s, const ProtobufCFieldDescriptor *f, const void *member,
                       int tagged)
{
    unsigned wt = pbrt_wire_type(f->type);

    if (tagged)
        sink_tag(s, f->id, wt);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)member;
        size_t n = str ? strlen(str) : 0;
        sink_varint(s, n);
        sink_put(s, str, n);
        return;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = member;
        sink_varint(s, b->len);
        sink_put(s, b->data, b->len);
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        struct pbrt_sink count = {0};
        if (sub)
            sink_message(&count, sub);
        sink_varint(s, count.len);
        sink_body(s, count.len, sub);
        return;
    }
    default:
        break;
    }
    uint64_t v = scalar_to_wire(f->type, member);
    if (wt == PROTOBUF_C_WIRE_TYPE_VARINT) {
        sink_varint(s, v);
        return;
    }
    uint8_t b[8];
    size_t n = wt == PROTOBUF_C_WIRE_TYPE_32BIT ? 4 : 8;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> 8 * i);
    sink_put(s, b, n);
}

/* proto3 fields without a label are sent only when they differ from the zero value. Like
 * libprotobuf-c, floats compare numerically (so -0.0 counts as zero) and bytes by length. */
static int unlabeled_is_zero(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)member;
        return !str || !*str;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return !*(void *const *)member;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member == 0;
    default:
        return scalar_to_wire(f->type, member) == 0;
    }
}

static int field_is_sent(const ProtobufCFieldDescriptor *f, const void *member, const void *quant)
{
    int pointer_type = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;

    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)quant != f->id)
            return 0;
    } else if (f->label == PROTOBUF_C_LABEL_NONE) {
        return !unlabeled_is_zero(f, member);
    } else if (!pointer_type) {
        return *(const protobuf_c_boolean *)quant;
    }
    if (!pointer_type)
        return 1;
    const void *p = *(void *const *)member;
    return p && p != f->default_value;
}

static void sink_repeated(struct pbrt_sink *s, const ProtobufCFieldDescriptor *f, size_t n,
                          const char *arr)
{
    size_t es = pbrt_value_size(f->type);

    if (n == 0 || !arr)
        return;
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) || !pbrt_is_scalar(f->type)) {
        for (size_t i = 0; i < n; i++)
            sink_value(s, f, arr + i * es, 1);
        return;
    }
    struct pbrt_sink count = {0};
    for (size_t i = 0; i < n; i++)
        sink_value(&count, f, arr + i * es, 0);
    sink_tag(s, f->id, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
    sink_varint(s, count.len);
    if (!s->out && !s->buf) {
        s->len += count.len;
        return;
    }
    for (size_t i = 0; i < n; i++)
        sink_value(s, f, arr + i * es, 0);
}

static void sink_message(struct pbrt_sink *s, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *member = PBRT_MEMBER(msg, f->offset);
        const void *quant = PBRT_MEMBER(msg, f->quantifier_offset);

        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            sink_repeated(s, f, *(const size_t *)quant, *(char *const *)member);
        else if (field_is_sent(f, member, quant))
            sink_value(s, f, member, 1);
    }
    /* Unknown fields keep their raw value bytes (length prefix included), as in protobuf-c. */
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &msg->unknown_fields[i];
        sink_tag(s, u->tag, u->wire_type);
        sink_put(s, u->data, u->len);
    }
}

size_t protobuf_c_message_get_packed_size(const ProtobufCMessage *message)
{
    struct pbrt_sink s = {0};
    sink_message(&s, message);
    return s.len;
}

size_t protobuf_c_message_pack(const ProtobufCMessage *message, uint8_t *out)
{
    struct pbrt_sink s = {.out = out};
    sink_message(&s, message);
    return s.len;
}

size_t protobuf_c_message_pack_to_buffer(const ProtobufCMessage *message, ProtobufCBuffer *buffer)
{
    struct pbrt_sink s = {.buf = buffer};
    sink_message(&s, message);
    return s.len;
}
