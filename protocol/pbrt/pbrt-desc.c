/* Descriptor look-ups, message init and check, services, the simple buffer and the version.
 * All look-up tables in generated descriptors are sorted, so every look-up is a binary search. */
#include <stdio.h>
#include "pbrt-internal.h"

const char protobuf_c_empty_string[] = "";

const char *protobuf_c_version(void)
{
    return PROTOBUF_C_VERSION;
}

uint32_t protobuf_c_version_number(void)
{
    return PROTOBUF_C_VERSION_NUMBER;
}

/* Binary search over `n` entries; `cmp(ctx, i, key)` orders entry i against the key. */
static long bsearch_index(unsigned n, const void *ctx, const void *key,
                          int (*cmp)(const void *ctx, unsigned i, const void *key))
{
    unsigned lo = 0, hi = n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = cmp(ctx, mid, key);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int cmp_int(long have, long want)
{
    return (have > want) - (have < want);
}

static int cmp_enum_value(const void *ctx, unsigned i, const void *key)
{
    return cmp_int(((const ProtobufCEnumDescriptor *)ctx)->values[i].value, *(const int *)key);
}

static int cmp_enum_name(const void *ctx, unsigned i, const void *key)
{
    return strcmp(((const ProtobufCEnumDescriptor *)ctx)->values_by_name[i].name, key);
}

static int cmp_field_id(const void *ctx, unsigned i, const void *key)
{
    return cmp_int(((const ProtobufCMessageDescriptor *)ctx)->fields[i].id, *(const unsigned *)key);
}

static int cmp_field_name(const void *ctx, unsigned i, const void *key)
{
    const ProtobufCMessageDescriptor *d = ctx;
    return strcmp(d->fields[d->fields_sorted_by_name[i]].name, key);
}

static int cmp_method_name(const void *ctx, unsigned i, const void *key)
{
    const ProtobufCServiceDescriptor *d = ctx;
    return strcmp(d->methods[d->method_indices_by_name[i]].name, key);
}

const ProtobufCEnumValue *protobuf_c_enum_descriptor_get_value(const ProtobufCEnumDescriptor *desc,
                                                               int value)
{
    long i = bsearch_index(desc->n_values, desc, &value, cmp_enum_value);
    return i < 0 ? NULL : &desc->values[i];
}

const ProtobufCEnumValue *
protobuf_c_enum_descriptor_get_value_by_name(const ProtobufCEnumDescriptor *desc, const char *name)
{
    if (!desc->values_by_name || !name)
        return NULL;
    long i = bsearch_index(desc->n_value_names, desc, name, cmp_enum_name);
    return i < 0 ? NULL : &desc->values[desc->values_by_name[i].index];
}

const ProtobufCFieldDescriptor *
protobuf_c_message_descriptor_get_field(const ProtobufCMessageDescriptor *desc, unsigned value)
{
    long i = bsearch_index(desc->n_fields, desc, &value, cmp_field_id);
    return i < 0 ? NULL : &desc->fields[i];
}

const ProtobufCFieldDescriptor *
protobuf_c_message_descriptor_get_field_by_name(const ProtobufCMessageDescriptor *desc,
                                                const char *name)
{
    if (!desc->fields_sorted_by_name || !name)
        return NULL;
    long i = bsearch_index(desc->n_fields, desc, name, cmp_field_name);
    return i < 0 ? NULL : &desc->fields[desc->fields_sorted_by_name[i]];
}

const ProtobufCMethodDescriptor *
protobuf_c_service_descriptor_get_method_by_name(const ProtobufCServiceDescriptor *desc,
                                                 const char *name)
{
    if (!desc->method_indices_by_name || !name)
        return NULL;
    long i = bsearch_index(desc->n_methods, desc, name, cmp_method_name);
    return i < 0 ? NULL : &desc->methods[desc->method_indices_by_name[i]];
}

void protobuf_c_message_init(const ProtobufCMessageDescriptor *descriptor, void *message)
{
    if (descriptor->message_init) {
        descriptor->message_init(message);
        return;
    }
    memset(message, 0, descriptor->sizeof_message);
    ((ProtobufCMessage *)message)->descriptor = descriptor;
}

static protobuf_c_boolean check_value(const ProtobufCFieldDescriptor *f, const void *member,
                                      int required)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        return (!sub && !required) || protobuf_c_message_check(sub);
    }
    if (f->type == PROTOBUF_C_TYPE_STRING)
        return !required || *(char *const *)member;
    if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *b = member;
        return !b->len || b->data;
    }
    return 1;
}

protobuf_c_boolean protobuf_c_message_check(const ProtobufCMessage *message)
{
    if (!message || !message->descriptor ||
        message->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
        return 0;
    const ProtobufCMessageDescriptor *d = message->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *member = PBRT_MEMBER(message, f->offset);
        const void *quant = PBRT_MEMBER(message, f->quantifier_offset);

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)quant, es = pbrt_value_size(f->type);
            const char *arr = *(char *const *)member;
            if (n && !arr)
                return 0;
            for (size_t j = 0; !pbrt_is_scalar(f->type) && j < n; j++)
                if (!check_value(f, arr + j * es, 1))
                    return 0;
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)quant == f->id && !check_value(f, member, 0))
                return 0;
        } else if (!check_value(f, member, f->label == PROTOBUF_C_LABEL_REQUIRED)) {
            return 0;
        }
    }
    return 1;
}

void protobuf_c_buffer_simple_append(ProtobufCBuffer *buffer, size_t len, const unsigned char *data)
{
    ProtobufCBufferSimple *simple = (ProtobufCBufferSimple *)buffer;
    size_t need = simple->len + len;

    if (need > simple->alloced) {
        size_t cap = simple->alloced ? simple->alloced : 16;
        while (cap < need)
            cap *= 2;
        uint8_t *fresh = pbrt_alloc(simple->allocator, cap);
        if (!fresh) {
            /* The append interface cannot report failure; dropping bytes would corrupt the
             * stream silently, so this is treated like any other allocation failure. */
            fputs("pbrt: out of memory\n", stderr);
            abort();
        }
        if (simple->len)
            memcpy(fresh, simple->data, simple->len);
        if (simple->must_free_data)
            pbrt_free(simple->allocator, simple->data);
        simple->data = fresh;
        simple->alloced = cap;
        simple->must_free_data = 1;
    }
    if (len)
        memcpy(simple->data + simple->len, data, len);
    simple->len = need;
}

/* Generated service structures place one handler pointer per method right after the base. */
typedef void (*pbrt_handler)(ProtobufCService *service, const ProtobufCMessage *input,
                             ProtobufCClosure closure, void *closure_data);

void protobuf_c_service_invoke_internal(ProtobufCService *service, unsigned method_index,
                                        const ProtobufCMessage *input, ProtobufCClosure closure,
                                        void *closure_data)
{
    pbrt_handler handler = NULL;

    if (method_index < service->descriptor->n_methods)
        memcpy(&handler, (const char *)(service + 1) + method_index * sizeof handler,
               sizeof handler);
    if (handler)
        handler(service, input, closure, closure_data);
    else
        closure(NULL, closure_data);
}

void protobuf_c_service_generated_init(ProtobufCService *service,
                                       const ProtobufCServiceDescriptor *descriptor,
                                       ProtobufCServiceDestroy destroy)
{
    service->descriptor = descriptor;
    service->invoke = protobuf_c_service_invoke_internal;
    service->destroy = destroy;
}

void protobuf_c_service_destroy(ProtobufCService *service)
{
    service->destroy(service);
}
