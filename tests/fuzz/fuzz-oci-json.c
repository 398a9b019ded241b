/* The JSON parser (common/json.c) and the OCI spec/resources conversion on top of it
 * (host-tools/lib/oci-json.c) on arbitrary bytes. A parsed DOM must be self-consistent
 * (terminated strings of valid UTF-8, offsets inside the input, integer forms that agree), a
 * converted Spec must survive pack -> unpack -> pack unchanged, and every refusal carries a
 * message. */
#include "fuzz.h"

#include "cleanup.h"
#include "json.h"
#include "oci-json.h"
#include "utf8.h"

static void check_value(const struct json_value *v, size_t size, unsigned depth)
{
    FUZZ_CHECK(v->offset < size, "offset %zu past the input (%zu)", v->offset, size);
    FUZZ_CHECK(depth <= JSON_DEFAULT_MAX_DEPTH + 1, "depth %u past the limit", depth);
    switch (v->type) {
    case JSON_STRING:
        FUZZ_CHECK(v->str.s[v->str.len] == '\0', "string not terminated at its length");
        for (size_t i = 0; i < v->str.len;) {
            size_t n = utf8_seq_len((const unsigned char *)v->str.s + i, v->str.len - i);
            FUZZ_CHECK(n > 0, "decoded string holds invalid UTF-8 at %zu", i);
            i += n;
        }
        break;
    case JSON_NUMBER:
        if ((v->num_flags & JSON_NUM_INT64) && (v->num_flags & JSON_NUM_UINT64))
            FUZZ_CHECK(v->num.i >= 0 && (uint64_t)v->num.i == v->num.u, "integer forms differ");
        FUZZ_CHECK(!(v->num_flags & (JSON_NUM_INT64 | JSON_NUM_UINT64)) ||
                       (v->num_flags & JSON_NUM_INTEGER),
                   "an integer form without an integer literal");
        break;
    case JSON_ARRAY:
        for (size_t i = 0; i < v->arr.n; i++)
            check_value(&v->arr.items[i], size, depth + 1);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < v->obj.n; i++) {
            const struct json_member *m = &v->obj.members[i];
            FUZZ_CHECK(m->key[m->key_len] == '\0', "key not terminated at its length");
            check_value(&m->value, size, depth + 1);
        }
        break;
    default:
        break;
    }
}

static void check_repack(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *a = malloc(n ? n : 1), *b;
    protobuf_c_message_pack(m, a);
    ProtobufCMessage *u = protobuf_c_message_unpack(m->descriptor, NULL, n, a);
    FUZZ_CHECK(u != NULL, "a converted message does not unpack");
    size_t n2 = protobuf_c_message_get_packed_size(u);
    b = malloc(n2 ? n2 : 1);
    protobuf_c_message_pack(u, b);
    FUZZ_CHECK(n == n2 && memcmp(a, b, n) == 0, "pack -> unpack -> pack changed the bytes");
    protobuf_c_message_free_unpacked(u, NULL);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = NULL;
    int r = json_parse(text, size, NULL, &doc, &err);
    FUZZ_CHECK((r == 0 && doc && !err) || (r < 0 && !doc && err && err->msg),
               "parse result %d inconsistent", r);
    if (r == 0)
        check_value(json_root(doc), size, 0);
    bool parsed = r == 0;
    error_freep(&err);

    Grpc__Spec *spec = NULL;
    r = oci_json_parse_spec(text, size, &spec, &err);
    FUZZ_CHECK((r == 0 && spec) || (r < 0 && !spec && err && err->msg),
               "spec result %d inconsistent", r);
    FUZZ_CHECK(r < 0 || parsed, "a spec converted from text the parser refuses");
    if (spec) {
        check_repack(&spec->base);
        protobuf_c_message_free_unpacked(&spec->base, NULL);
    }
    error_freep(&err);

    Grpc__LinuxResources *res = NULL;
    r = oci_json_parse_resources(text, size, &res, &err);
    FUZZ_CHECK((r == 0 && res) || (r < 0 && !res && err && err->msg),
               "resources result %d inconsistent", r);
    if (res) {
        check_repack(&res->base);
        protobuf_c_message_free_unpacked(&res->base, NULL);
    }
    return 0;
}
