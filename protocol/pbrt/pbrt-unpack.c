/* Decoder and free_unpacked.
 *
 * Semantics (documented deviations from libprotobuf-c are marked):
 *  - unknown fields are skipped, not kept (deviation: libprotobuf-c keeps them for re-packing);
 *  - a known field arriving with the wrong wire type, a group wire type (3/4), tag 0, a bad
 *    or overlong varint, a length past the end, a missing required field, or nesting deeper
 *    than PBRT_MAX_DEPTH make the whole unpack fail (NULL), with everything freed;
 *  - repeated scalar fields accept packed and unpacked encodings, even mixed;
 *  - a non-repeated field seen twice keeps the last value; for message fields this means the
 *    last occurrence replaces the earlier one (deviation: protobuf merges them);
 *  - a oneof member replaces whichever member was set before.
 * Repeated arrays grow to the next power of two, so the capacity follows from the count and
 * needs no storage; total memory stays proportional to the input length. */
#include "pbrt-internal.h"

void *pbrt_alloc(ProtobufCAllocator *a, size_t size)
{
    return a ? a->alloc(a->allocator_data, size) : malloc(size);
}

void pbrt_free(ProtobufCAllocator *a, void *p)
{
    if (!p)
        return;
    if (a)
        a->free(a->allocator_data, p);
    else
        free(p);
}

struct pbrt_reader {
    const uint8_t *p, *end;
};

static int read_varint(struct pbrt_reader *r, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -1;
}

static int read_fixed(struct pbrt_reader *r, size_t n, uint64_t *ret)
{
    uint64_t v = 0;

    if ((size_t)(r->end - r->p) < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << 8 * i;
    r->p += n;
    *ret = v;
    return 0;
}

/* One wire value: `v` for scalars, `data`/`len` for length-delimited ones. */
struct pbrt_value {
    unsigned wire_type;
    uint64_t v;
    const uint8_t *data;
    size_t len;
};

static int read_value(struct pbrt_reader *r, unsigned wire_type, struct pbrt_value *ret)
{
    ret->wire_type = wire_type;
    switch (wire_type) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        return read_varint(r, &ret->v);
    case PROTOBUF_C_WIRE_TYPE_64BIT:
        return read_fixed(r, 8, &ret->v);
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        return read_fixed(r, 4, &ret->v);
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        if (read_varint(r, &ret->v) < 0 || ret->v > (uint64_t)(r->end - r->p))
            return -1;
        ret->data = r->p;
        ret->len = (size_t)ret->v;
        r->p += ret->len;
        return 0;
    default:
        return -1;
    }
}

static void scalar_from_wire(ProtobufCType t, void *member, uint64_t v)
{
    if (pbrt_value_size(t) == 4) {
        uint32_t u = (uint32_t)v;
        if (t == PROTOBUF_C_TYPE_SINT32)
            u = u >> 1 ^ (0u - (u & 1));
        else if (t == PROTOBUF_C_TYPE_BOOL)
            u = v != 0;
        memcpy(member, &u, 4);
        return;
    }
    if (t == PROTOBUF_C_TYPE_SINT64)
        v = v >> 1 ^ (0 - (v & 1));
    memcpy(member, &v, 8);
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, uint32_t id)
{
    return protobuf_c_message_descriptor_get_field(d, id);
}

/* Releases what a non-repeated value (or one array element) owns. Defaults and the shared
 * empty string are static and never freed. */
static void free_value(const ProtobufCFieldDescriptor *f, void *member, ProtobufCAllocator *a)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = *(char **)member;
        if (s != f->default_value && s != protobuf_c_empty_string)
            pbrt_free(a, s);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *def = f->default_value;
        uint8_t *data = ((ProtobufCBinaryData *)member)->data;
        if (!def || data != def->data)
            pbrt_free(a, data);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        protobuf_c_message_free_unpacked(*(ProtobufCMessage **)member, a);
    }
}

static size_t capacity_for(size_t n)
{
    size_t c = n ? 1 : 0;
    while (c < n)
        c <<= 1;
    return c;
}

/* Makes room for `k` more elements; returns the first free slot or NULL. */
static void *grow_array(const ProtobufCFieldDescriptor *f, ProtobufCMessage *msg,
                        ProtobufCAllocator *a, size_t k)
{
    size_t *n = PBRT_MEMBER(msg, f->quantifier_offset);
    char **arr = PBRT_MEMBER(msg, f->offset);
    size_t es = pbrt_value_size(f->type);

    if (k > SIZE_MAX / 64 - *n)
        return NULL;
    if (*n + k > capacity_for(*n)) {
        size_t cap = capacity_for(*n + k);
        if (cap > SIZE_MAX / es)
            return NULL;
        char *fresh = pbrt_alloc(a, cap * es);
        if (!fresh)
            return NULL;
        if (*n)
            memcpy(fresh, *arr, *n * es);
        pbrt_free(a, *arr);
        *arr = fresh;
    }
    return *arr + *n * es;
}

static ProtobufCMessage *unpack_message(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
                                        const uint8_t *data, size_t len, unsigned depth);

/* Builds the new value of a string, bytes or message field into `out`. */
static int make_pointer_value(const ProtobufCFieldDescriptor *f, const struct pbrt_value *val,
                              ProtobufCAllocator *a, unsigned depth, void *out)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *sub = unpack_message(f->descriptor, a, val->data, val->len, depth + 1);
        memcpy(out, &sub, sizeof sub);
        return sub ? 0 : -1;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = pbrt_alloc(a, val->len + 1);
        if (!s)
            return -1;
        if (val->len)
            memcpy(s, val->data, val->len);
        s[val->len] = '\0';
        memcpy(out, &s, sizeof s);
        return 0;
    }
    ProtobufCBinaryData b = {val->len, NULL};
    if (val->len) {
        b.data = pbrt_alloc(a, val->len);
        if (!b.data)
            return -1;
        memcpy(b.data, val->data, val->len);
    }
    memcpy(out, &b, sizeof b);
    return 0;
}

/* A oneof shares its storage: before a member is written, the member set earlier (if
 * another one) is released and the storage cleared. */
static void oneof_switch(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                         ProtobufCMessage *msg, ProtobufCAllocator *a)
{
    uint32_t *which = PBRT_MEMBER(msg, f->quantifier_offset);
    void *member = PBRT_MEMBER(msg, f->offset);

    if (*which == f->id)
        return;
    const ProtobufCFieldDescriptor *old = find_field(d, *which);
    if (old && (old->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        old->quantifier_offset == f->quantifier_offset)
        free_value(old, PBRT_MEMBER(msg, old->offset), a);
    memset(member, 0, pbrt_value_size(f->type));
    *which = 0;
}

static int store_packed(const ProtobufCFieldDescriptor *f, ProtobufCMessage *msg,
                        ProtobufCAllocator *a, const struct pbrt_value *val)
{
    unsigned wt = pbrt_wire_type(f->type);
    size_t es = pbrt_value_size(f->type), count = 0;

    if (wt == PROTOBUF_C_WIRE_TYPE_VARINT) {
        for (size_t i = 0; i < val->len; i++)
            count += !(val->data[i] & 0x80);
        if (val->len && (val->data[val->len - 1] & 0x80))
            return -1;
    } else {
        size_t width = wt == PROTOBUF_C_WIRE_TYPE_32BIT ? 4 : 8;
        if (val->len % width)
            return -1;
        count = val->len / width;
    }
    if (count == 0)
        return 0;
    char *slot = grow_array(f, msg, a, count);
    if (!slot)
        return -1;
    struct pbrt_reader r = {val->data, val->data + val->len};
    for (size_t i = 0; i < count; i++) {
        struct pbrt_value one;
        if (read_value(&r, wt, &one) < 0)
            return -1;
        scalar_from_wire(f->type, slot + i * es, one.v);
    }
    *(size_t *)PBRT_MEMBER(msg, f->quantifier_offset) += count;
    return 0;
}

static int store_field(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                       ProtobufCMessage *msg, ProtobufCAllocator *a, const struct pbrt_value *val,
                       unsigned depth)
{
    int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;

    if (repeated && pbrt_is_scalar(f->type) &&
        val->wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
        return store_packed(f, msg, a, val);
    if (val->wire_type != pbrt_wire_type(f->type))
        return -1;

    void *member = PBRT_MEMBER(msg, f->offset);
    void *quant = PBRT_MEMBER(msg, f->quantifier_offset);
    if (repeated) {
        void *slot = grow_array(f, msg, a, 1);
        if (!slot)
            return -1;
        if (pbrt_is_scalar(f->type))
            scalar_from_wire(f->type, slot, val->v);
        else if (make_pointer_value(f, val, a, depth, slot) < 0)
            return -1;
        (*(size_t *)quant)++;
        return 0;
    }

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        oneof_switch(d, f, msg, a);
    if (pbrt_is_scalar(f->type)) {
        scalar_from_wire(f->type, member, val->v);
    } else {
        union {
            void *p;
            ProtobufCBinaryData b;
        } fresh;
        if (make_pointer_value(f, val, a, depth, &fresh) < 0)
            return -1;
        free_value(f, member, a);
        memcpy(member, &fresh, pbrt_value_size(f->type));
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)quant = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)quant = 1;
    return 0;
}

/* `seen` has one bit per field index, used to find missing required fields. */
static int parse_fields(const ProtobufCMessageDescriptor *d, ProtobufCMessage *msg,
                        ProtobufCAllocator *a, struct pbrt_reader *r, unsigned depth, uint8_t *seen)
{
    while (r->p < r->end) {
        uint64_t tag;
        struct pbrt_value val;

        if (read_varint(r, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
            return -1;
        if (read_value(r, (unsigned)(tag & 7), &val) < 0)
            return -1;
        const ProtobufCFieldDescriptor *f = find_field(d, (uint32_t)(tag >> 3));
        if (!f)
            continue;
        if (store_field(d, f, msg, a, &val, depth) < 0)
            return -1;
        size_t idx = (size_t)(f - d->fields);
        seen[idx / 8] |= (uint8_t)(1u << idx % 8);
    }
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !(seen[i / 8] & (1u << i % 8)))
            return -1;
    return 0;
}

static ProtobufCMessage *unpack_message(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
                                        const uint8_t *data, size_t len, unsigned depth)
{
    uint8_t seen_small[32] = {0};
    uint8_t *seen = seen_small;
    size_t seen_len = (d->n_fields + 7) / 8;

    if (depth > PBRT_MAX_DEPTH)
        return NULL;
    ProtobufCMessage *msg = pbrt_alloc(a, d->sizeof_message);
    if (!msg)
        return NULL;
    protobuf_c_message_init(d, msg);
    if (seen_len > sizeof seen_small) {
        seen = pbrt_alloc(a, seen_len);
        if (!seen) {
            pbrt_free(a, msg);
            return NULL;
        }
        memset(seen, 0, seen_len);
    }
    struct pbrt_reader r = {data, len ? data + len : data};
    int ret = parse_fields(d, msg, a, &r, depth, seen);
    if (seen != seen_small)
        pbrt_free(a, seen);
    if (ret < 0) {
        protobuf_c_message_free_unpacked(msg, a);
        return NULL;
    }
    return msg;
}

ProtobufCMessage *protobuf_c_message_unpack(const ProtobufCMessageDescriptor *descriptor,
                                            ProtobufCAllocator *allocator, size_t len,
                                            const uint8_t *data)
{
    if (!data && len)
        return NULL;
    return unpack_message(descriptor, allocator, data, len, 0);
}

void protobuf_c_message_free_unpacked(ProtobufCMessage *message, ProtobufCAllocator *allocator)
{
    if (!message)
        return;
    const ProtobufCMessageDescriptor *d = message->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *member = PBRT_MEMBER(message, f->offset);
        const void *quant = PBRT_MEMBER(message, f->quantifier_offset);

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            char *arr = *(char **)member;
            size_t n = *(const size_t *)quant, es = pbrt_value_size(f->type);
            for (size_t j = 0; arr && !pbrt_is_scalar(f->type) && j < n; j++)
                free_value(f, arr + j * es, allocator);
            pbrt_free(allocator, arr);
        } else if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || *(const uint32_t *)quant == f->id) {
            free_value(f, member, allocator);
        }
    }
    for (unsigned i = 0; i < message->n_unknown_fields; i++)
        pbrt_free(allocator, message->unknown_fields[i].data);
    pbrt_free(allocator, message->unknown_fields);
    pbrt_free(allocator, message);
}
