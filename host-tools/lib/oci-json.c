/* OCI JSON -> protobuf, driven by the message descriptors: every field of oci.proto is looked
 * up under its OCI JSON key and converted by its protobuf type, so a field added to the proto
 * is read without code here. What the descriptors cannot say is spelled out in the tables
 * below: the keys that are not the field name in lowerCamelCase, the OCI fields narrower than
 * their protobuf type (Go's decoder refuses values that do not fit the OCI struct), and the
 * placeholder messages Kata's runtime skips. Like Go's encoding/json into the OCI structs,
 * integers must be written as integers in range, null leaves a field unset, and unknown keys
 * are ignored. */
#include "oci-json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "pbrt/pbrt-internal.h" /* the C layout of a field value */
#include "spec.h"
#include "xalloc.h"

#define STATUS_INVALID_ARGUMENT 3

static const struct {
    const char *proto, *json;
} renamed_keys[] = {
    {"Version", "ociVersion"},
    {"Pagesize", "pageSize"},
    {"errnoret", "errnoRet"},
};

/* uint16 in runtime-spec's Go types, uint32 on the wire. */
static const struct {
    const char *message, *field;
    uint64_t max;
} narrow_fields[] = {
    {"grpc.LinuxBlockIO", "Weight", UINT16_MAX},
    {"grpc.LinuxBlockIO", "LeafWeight", UINT16_MAX},
    {"grpc.LinuxWeightDevice", "Weight", UINT16_MAX},
    {"grpc.LinuxWeightDevice", "LeafWeight", UINT16_MAX},
};

/* Placeholders in oci.proto, never filled (Kata's runtime skips them too). */
static const char *const skipped_messages[] = {"grpc.Solaris", "grpc.Windows"};

struct conv {
    const char *text; /* the input, to quote numbers in errors */
    size_t text_len;
    const char *what; /* "OCI spec" */
    char path[256];   /* JSON path of the value being converted, truncated if longer */
    size_t path_len;
    struct kerr **err;
};

static int invalid(struct conv *c, const struct json_value *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int invalid(struct conv *c, const struct json_value *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    make_status(c->err, STATUS_INVALID_ARGUMENT, 0, "invalid %s: %s: %s (at byte %zu)", c->what,
                c->path_len ? c->path : "(top level)", msg, v->offset);
    free(msg);
    return -EINVAL;
}

static size_t path_push(struct conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct conv *c, const char *fmt, ...)
{
    size_t old = c->path_len;
    if (old < sizeof(c->path) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
        va_end(ap);
        if (n > 0)
            c->path_len = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
    }
    return old;
}

static void path_pop(struct conv *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

/* The OCI key of a field: its name with the leading capitals lowered, keeping the last one of
 * an acronym that runs into a word ("UIDMappings" -> "uidMappings", "HostID" -> "hostID"). */
static void oci_key(const char *name, char *out, size_t len)
{
    for (size_t i = 0; i < sizeof(renamed_keys) / sizeof(renamed_keys[0]); i++)
        if (strcmp(name, renamed_keys[i].proto) == 0) {
            snprintf(out, len, "%s", renamed_keys[i].json);
            return;
        }
    size_t caps = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    bool word_follows = caps > 1 && name[caps] >= 'a' && name[caps] <= 'z';
    size_t lower = word_follows ? caps - 1 : caps, i = 0;
    for (; name[i] && i + 1 < len; i++)
        out[i] = i < lower ? (char)(name[i] - 'A' + 'a') : name[i];
    out[i] = '\0';
}

static bool name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

static uint64_t field_max(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *fd,
                          uint64_t wire_max)
{
    for (size_t i = 0; i < sizeof(narrow_fields) / sizeof(narrow_fields[0]); i++)
        if (strcmp(md->name, narrow_fields[i].message) == 0 &&
            strcmp(fd->name, narrow_fields[i].field) == 0)
            return narrow_fields[i].max;
    return wire_max;
}

/* Length of the number as written in the input, for messages (the input has no terminator). */
static int number_text(const struct conv *c, const struct json_value *v)
{
    size_t n = 0;
    while (n < 40 && v->offset + n < c->text_len && c->text[v->offset + n] &&
           strchr("+-.0123456789eE", c->text[v->offset + n]))
        n++;
    return (int)n;
}

static int want_integer(struct conv *c, const struct json_value *v, unsigned flag)
{
    if (v->type != JSON_NUMBER)
        return invalid(c, v, "an integer expected, found %s", json_type_name(v->type));
    if (!(v->num_flags & JSON_NUM_INTEGER))
        return invalid(c, v, "an integer expected, found %.*s", number_text(c, v),
                       c->text + v->offset);
    if (!(v->num_flags & flag))
        return invalid(c, v, "%.*s is out of range", number_text(c, v), c->text + v->offset);
    return 0;
}

/* One scalar value (a singular field or one element of a repeated one) into dst. */
static int set_scalar(struct conv *c, const ProtobufCMessageDescriptor *md,
                      const ProtobufCFieldDescriptor *fd, const struct json_value *v, void *dst)
{
    int r;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        if (v->type != JSON_STRING)
            return invalid(c, v, "a string expected, found %s", json_type_name(v->type));
        if (strlen(v->str.s) != v->str.len)
            return invalid(c, v, "string holds a NUL character");
        char **slot = dst;
        if (*slot && *slot != protobuf_c_empty_string && *slot != fd->default_value)
            free(*slot);
        *slot = xstrndup(v->str.s, v->str.len);
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (v->type != JSON_TRUE && v->type != JSON_FALSE)
            return invalid(c, v, "a boolean expected, found %s", json_type_name(v->type));
        *(protobuf_c_boolean *)dst = v->type == JSON_TRUE;
        return 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((r = want_integer(c, v, JSON_NUM_INT64)) < 0)
            return r;
        if (v->num.i < INT32_MIN || v->num.i > INT32_MAX)
            return invalid(c, v, "%" PRId64 " is out of range (32-bit)", v->num.i);
        *(int32_t *)dst = (int32_t)v->num.i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        if ((r = want_integer(c, v, JSON_NUM_UINT64)) < 0)
            return r;
        uint64_t max = field_max(md, fd, UINT32_MAX);
        if (v->num.u > max)
            return invalid(c, v, "%" PRIu64 " is out of range (at most %" PRIu64 ")", v->num.u,
                           max);
        *(uint32_t *)dst = (uint32_t)v->num.u;
        return 0;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((r = want_integer(c, v, JSON_NUM_INT64)) < 0)
            return r;
        *(int64_t *)dst = v->num.i;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((r = want_integer(c, v, JSON_NUM_UINT64)) < 0)
            return r;
        *(uint64_t *)dst = v->num.u;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_FLOAT:
        if (v->type != JSON_NUMBER)
            return invalid(c, v, "a number expected, found %s", json_type_name(v->type));
        if (fd->type == PROTOBUF_C_TYPE_DOUBLE)
            *(double *)dst = v->num.d;
        else
            *(float *)dst = (float)v->num.d;
        return 0;
    default:
        /* oci.proto has no enum or bytes field; one added later needs its OCI form decided */
        return invalid(c, v, "field %s has a protobuf type the converter does not handle",
                       fd->name);
    }
}

static int fill_message(struct conv *c, const struct json_value *obj, ProtobufCMessage *m);

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    return d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0 &&
           strcmp(d->fields[1].name, "value") == 0 && d->fields[0].type == PROTOBUF_C_TYPE_STRING;
}

/* A value of a message type (a singular field or an array element); null gives an empty one,
 * as a null element of a Go slice of structs decodes to the zero struct. */
static int new_message(struct conv *c, const ProtobufCFieldDescriptor *fd,
                       const struct json_value *v, ProtobufCMessage **slot)
{
    if (v->type != JSON_OBJECT && v->type != JSON_NULL)
        return invalid(c, v, "an object expected, found %s", json_type_name(v->type));
    *slot = spec_new_message(fd->descriptor);
    return v->type == JSON_NULL ? 0 : fill_message(c, v, *slot);
}

/* Whether member i's key comes again: the last one wins, as in Go, and the map sent holds
 * each key once. */
static bool repeated_later(const struct json_value *obj, size_t i)
{
    const struct json_member *m = &obj->obj.members[i];
    for (size_t j = i + 1; j < obj->obj.n; j++) {
        const struct json_member *o = &obj->obj.members[j];
        if (o->key_len == m->key_len && memcmp(o->key, m->key, m->key_len) == 0)
            return true;
    }
    return false;
}

/* A protobuf map (map<string, scalar>) from a JSON object. */
static int fill_map(struct conv *c, const ProtobufCFieldDescriptor *fd, const struct json_value *v,
                    ProtobufCMessage *m)
{
    if (v->type != JSON_OBJECT)
        return invalid(c, v, "an object expected, found %s", json_type_name(v->type));
    const ProtobufCMessageDescriptor *ed = fd->descriptor;
    ProtobufCMessage **entries = xcalloc(v->obj.n ? v->obj.n : 1, sizeof(*entries));
    *(ProtobufCMessage ***)((char *)m + fd->offset) = entries;
    size_t *count = (size_t *)((char *)m + fd->quantifier_offset);
    for (size_t i = 0; i < v->obj.n; i++) {
        const struct json_member *mb = &v->obj.members[i];
        if (repeated_later(v, i))
            continue;
        size_t old = path_push(c, "[\"%s\"]", mb->key);
        ProtobufCMessage *e = entries[(*count)++] = spec_new_message(ed);
        struct json_value key = {.type = JSON_STRING, .offset = mb->value.offset};
        key.str.s = mb->key;
        key.str.len = mb->key_len;
        int r = set_scalar(c, ed, &ed->fields[0], &key, (char *)e + ed->fields[0].offset);
        if (r == 0 && mb->value.type != JSON_NULL)
            r = set_scalar(c, ed, &ed->fields[1], &mb->value, (char *)e + ed->fields[1].offset);
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

static int fill_repeated(struct conv *c, const ProtobufCFieldDescriptor *fd,
                         const struct json_value *v, ProtobufCMessage *m)
{
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(fd->descriptor))
        return fill_map(c, fd, v, m);
    if (v->type != JSON_ARRAY)
        return invalid(c, v, "an array expected, found %s", json_type_name(v->type));
    size_t es = pbrt_value_size(fd->type), n = v->arr.n;
    char *arr = xcalloc(n ? n : 1, es);
    *(char **)((char *)m + fd->offset) = arr;
    /* counted up front: free_unpacked copes with the zeroed elements not reached yet */
    *(size_t *)((char *)m + fd->quantifier_offset) = n;
    for (size_t i = 0; i < n; i++) {
        const struct json_value *item = &v->arr.items[i];
        size_t old = path_push(c, "[%zu]", i);
        /* a null element is the zero value, as in a Go slice */
        int r = 0;
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
            r = new_message(c, fd, item, (ProtobufCMessage **)(arr + i * es));
        else if (item->type == JSON_NULL && fd->type == PROTOBUF_C_TYPE_STRING)
            *(char **)(arr + i * es) = xstrdup("");
        else if (item->type != JSON_NULL)
            r = set_scalar(c, m->descriptor, fd, item, arr + i * es);
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

static int fill_field(struct conv *c, const ProtobufCFieldDescriptor *fd,
                      const struct json_value *v, ProtobufCMessage *m)
{
    void *member = (char *)m + fd->offset;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        return fill_repeated(c, fd, v, m);
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
        return new_message(c, fd, v, (ProtobufCMessage **)member);
    int r = set_scalar(c, m->descriptor, fd, v, member);
    if (r == 0 && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        *(uint32_t *)((char *)m + fd->quantifier_offset) = fd->id;
    return r;
}

static int fill_message(struct conv *c, const struct json_value *obj, ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE &&
            name_in(((const ProtobufCMessageDescriptor *)fd->descriptor)->name, skipped_messages,
                    sizeof(skipped_messages) / sizeof(skipped_messages[0])))
            continue;
        char key[64];
        oci_key(fd->name, key, sizeof(key));
        const struct json_value *v = json_get(obj, key);
        if (!v || v->type == JSON_NULL)
            continue;
        size_t old = path_push(c, "%s%s", c->path_len ? "." : "", key);
        int r = fill_field(c, fd, v, m);
        path_pop(c, old);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_root(const char *json, size_t len, const ProtobufCMessageDescriptor *d,
                      const char *what, ProtobufCMessage **ret, struct kerr **err)
{
    cleanup_json struct json_doc *doc = NULL;
    int r = json_parse(json, len, NULL, &doc, err);
    if (r < 0)
        return error_wrap(err, r, "invalid %s", what);
    struct conv c = {.text = json, .text_len = len, .what = what, .err = err};
    const struct json_value *root = json_root(doc);
    if (root->type != JSON_OBJECT)
        return invalid(&c, root, "an object expected, found %s", json_type_name(root->type));
    ProtobufCMessage *m = spec_new_message(d);
    r = fill_message(&c, root, m);
    if (r < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
    }
    *ret = m;
    return 0;
}

int oci_json_parse_spec(const char *json, size_t len, Grpc__Spec **ret, struct kerr **err)
{
    ProtobufCMessage *m = NULL;
    int r = parse_root(json, len, &grpc__spec__descriptor, "OCI spec", &m, err);
    if (r == 0)
        *ret = (Grpc__Spec *)m;
    return r;
}

int oci_json_parse_resources(const char *json, size_t len, Grpc__LinuxResources **ret,
                             struct kerr **err)
{
    ProtobufCMessage *m = NULL;
    int r = parse_root(json, len, &grpc__linux_resources__descriptor, "OCI resources", &m, err);
    if (r == 0)
        *ret = (Grpc__LinuxResources *)m;
    return r;
}

int oci_json_parse_process(const char *json, size_t len, Grpc__Process **ret, struct kerr **err)
{
    ProtobufCMessage *m = NULL;
    int r = parse_root(json, len, &grpc__process__descriptor, "OCI process", &m, err);
    if (r == 0)
        *ret = (Grpc__Process *)m;
    return r;
}
