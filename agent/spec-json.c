/* config.json beside a container's rootfs (/run/kata-containers/<cid>/config.json), as
 * upstream's setup_bundle saves it for hooks and tools that read the bundle. The spec arrives
 * as protobuf (oci.proto); its JSON form is written from the message descriptors: OCI's JSON
 * names are the proto field names in lowerCamelCase ("UIDMappings" -> "uidMappings",
 * "OOMScoreAdj" -> "oomScoreAdj"), but for the few listed below, and unset (zero) values are
 * left out, as the Go and Rust OCI types omit them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "linux/json-out.h"
#include "cleanup.h"
#include "pbrt/pbrt-internal.h" /* the C layout of a field value */
#include "xalloc.h"

static const struct {
    const char *proto, *json;
} renamed[] = {
    {"Version", "ociVersion"},
    {"Pagesize", "pageSize"},
    {"errnoret", "errnoRet"},
};

static void json_name(const char *name, char *out, size_t len)
{
    for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
        if (strcmp(name, renamed[i].proto) == 0) {
            snprintf(out, len, "%s", renamed[i].json);
            return;
        }
    snprintf(out, len, "%s", name);
    /* lower-case the leading capitals, but the last of a run that starts a word */
    size_t run = 0;
    while (out[run] >= 'A' && out[run] <= 'Z')
        run++;
    size_t lower = run > 1 && out[run] >= 'a' && out[run] <= 'z' ? run - 1 : run;
    for (size_t i = 0; i < lower; i++)
        out[i] = (char)(out[i] - 'A' + 'a');
}

static void json_message(FILE *f, const ProtobufCMessage *m);

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
    return d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0 &&
           strcmp(d->fields[1].name, "value") == 0;
}

/* Whether the single value at p is unset (proto3 zero). */
static bool value_zero(const ProtobufCFieldDescriptor *fd, const void *p)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        return !*(char *const *)p || !(*(char *const *)p)[0];
    case PROTOBUF_C_TYPE_MESSAGE:
        return !*(void *const *)p;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0;
    default:
        return *(const uint32_t *)p == 0;
    }
}

static void json_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        json_put_string(f, *(char *const *)p ? *(char *const *)p : "");
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        json_message(f, *(const ProtobufCMessage *const *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        fprintf(f, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(f, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        fprintf(f, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        fprintf(f, "%g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        fprintf(f, "%g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        fputs("\"\"", f); /* OCI specs carry no bytes fields */
        break;
    default:
        fprintf(f, "%" PRIu32, *(const uint32_t *)p);
        break;
    }
}

static void json_message(FILE *f, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    bool first = true;
    fputc('{', f);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const void *p = base + fd->offset;
        char name[64];
        json_name(fd->name, name, sizeof(name));
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            if (n == 0)
                continue;
            const char *arr = *(const char *const *)p;
            bool map = fd->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(fd->descriptor);
            fprintf(f, "%s\"%s\":%c", first ? "" : ",", name, map ? '{' : '[');
            for (size_t k = 0; k < n; k++) {
                const void *item = arr + k * pbrt_value_size(fd->type);
                if (k)
                    fputc(',', f);
                if (map) {
                    const ProtobufCMessage *e = *(const ProtobufCMessage *const *)item;
                    const ProtobufCMessageDescriptor *ed = e->descriptor;
                    json_value(f, &ed->fields[0], (const char *)e + ed->fields[0].offset);
                    fputc(':', f);
                    json_value(f, &ed->fields[1], (const char *)e + ed->fields[1].offset);
                } else {
                    json_value(f, fd, item);
                }
            }
            fputc(map ? '}' : ']', f);
            first = false;
            continue;
        }
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
                continue;
        } else if (value_zero(fd, p)) {
            continue;
        }
        fprintf(f, "%s\"%s\":", first ? "" : ",", name);
        json_value(f, fd, p);
        first = false;
    }
    fputc('}', f);
}

int spec_json_save(const Grpc__Spec *spec, const char *path, struct kerr **err)
{
    cleanup_file FILE *f = fopen(path, "we");
    if (!f)
        return make_error(err, errno, "create %s", path);
    json_message(f, &spec->base);
    fputc('\n', f);
    if (fflush(f) != 0 || ferror(f))
        return make_error(err, errno, "write %s", path);
    return 0;
}
