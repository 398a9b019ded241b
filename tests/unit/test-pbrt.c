/* Unit tests of pbrt, our protobuf-c compatible runtime: hand-written wire vectors, round
 * trips of every sample, packed/unpacked decoding, unknown fields, malformed and hostile
 * input, truncation at every offset, a deterministic mutation loop, allocator failure at
 * every allocation, buffers, look-ups, check, init and services. Runs under ASan+UBSan. */
#include "tests/tap.h"
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pbrt-samples.h"
#include "pbrt-test.pb-c.h"
#include "pbrt-test2.pb-c.h"
#include "pbrt-testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

struct bytes {
    uint8_t *p;
    size_t n;
};

static struct bytes pack(const ProtobufCMessage *m)
{
    struct bytes b = {malloc(protobuf_c_message_get_packed_size(m) + 1), 0};
    b.n = protobuf_c_message_pack(m, b.p);
    return b;
}

/* Packs `m` and compares with the expected bytes; on mismatch prints both as a diagnostic. */
static int packs_to(const ProtobufCMessage *m, const uint8_t *want, size_t want_len)
{
    struct bytes b = pack(m);
    int same = b.n == want_len && (!want_len || memcmp(b.p, want, want_len) == 0) &&
               protobuf_c_message_get_packed_size(m) == want_len;
    if (!same) {
        printf("# got  ");
        pbrt_test_hex(b.p, b.n, stdout);
        printf("\n# want ");
        pbrt_test_hex(want, want_len, stdout);
        printf("\n");
    }
    free(b.p);
    return same;
}

static int equal(const void *a, const void *b)
{
    char why[512] = "";
    int same = pbrt_test_msg_equal(a, b, why, sizeof why);
    if (!same)
        printf("# differs at %s\n", why);
    return same;
}

static void *unpack(const ProtobufCMessageDescriptor *d, const void *data, size_t len)
{
    return protobuf_c_message_unpack(d, NULL, len, data);
}

#define NOBYTES NULL, 0
#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* A decoded message must survive pack -> unpack -> compare, and pass check. */
static int survives_repack(const ProtobufCMessage *m)
{
    struct bytes b = pack(m);
    ProtobufCMessage *again = unpack(m->descriptor, b.p, b.n);
    int good = again && equal(m, again) && b.n == protobuf_c_message_get_packed_size(m);
    protobuf_c_message_free_unpacked(again, NULL);
    free(b.p);
    return good;
}

/* ---- known vectors, written by hand from the protobuf encoding spec ------------------------ */

static void test_vectors(void)
{
    Pbrt3__Scalars s;
    Pbrt3__Leaf leaf = PBRT3__LEAF__INIT;

#define VEC(setup, bytes_, what)                                                                   \
    do {                                                                                           \
        pbrt3__scalars__init(&s);                                                                  \
        setup;                                                                                     \
        tap_ok(packs_to(&s.base, bytes_), "vector: %s", what);                                     \
        Pbrt3__Scalars *back = unpack(&pbrt3__scalars__descriptor, bytes_);                        \
        tap_ok(back &&equal(&s, back), "vector decodes: %s", what);                                \
        pbrt3__scalars__free_unpacked(back, NULL);                                                 \
    } while (0)

    VEC((void)0, NOBYTES, "empty message packs to nothing");
    VEC(s.f_int32 = 150, BYTES(0x08, 0x96, 0x01), "int32 150");
    VEC(s.f_int32 = -1, BYTES(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
        "int32 -1 is a 10-byte varint");
    VEC(s.f_sint32 = -1, BYTES(0x10, 0x01), "sint32 -1 zigzags to 1");
    VEC(s.f_sint32 = INT32_MIN, BYTES(0x10, 0xff, 0xff, 0xff, 0xff, 0x0f), "sint32 INT32_MIN");
    VEC(s.f_sfixed32 = -2, BYTES(0x1d, 0xfe, 0xff, 0xff, 0xff), "sfixed32 -2");
    VEC(s.f_int64 = INT64_MIN,
        BYTES(0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), "int64 INT64_MIN");
    VEC(s.f_sint64 = INT64_MIN,
        BYTES(0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
        "sint64 INT64_MIN");
    VEC(s.f_sint64 = 63, BYTES(0x28, 0x7e), "sint64 63");
    VEC(s.f_sfixed64 = -1, BYTES(0x31, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
        "sfixed64 -1");
    VEC(s.f_uint32 = UINT32_MAX, BYTES(0x38, 0xff, 0xff, 0xff, 0xff, 0x0f), "uint32 max");
    VEC(s.f_fixed32 = 0x12345678, BYTES(0x45, 0x78, 0x56, 0x34, 0x12), "fixed32 little-endian");
    VEC(s.f_uint64 = UINT64_MAX,
        BYTES(0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "uint64 max");
    VEC(s.f_fixed64 = 0x0102030405060708ull,
        BYTES(0x51, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01), "fixed64 little-endian");
    VEC(s.f_float = 1.0f, BYTES(0x5d, 0x00, 0x00, 0x80, 0x3f), "float 1.0");
    VEC(s.f_float = -INFINITY, BYTES(0x5d, 0x00, 0x00, 0x80, 0xff), "float -inf");
    VEC(s.f_double = 1.0, BYTES(0x61, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f), "double 1.0");
    VEC(s.f_double = NAN, BYTES(0x61, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f), "double NaN");
    VEC(s.f_bool = 1, BYTES(0x68, 0x01), "bool true");
    VEC(s.f_enum = PBRT3__KIND__KIND_NEG,
        BYTES(0x70, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
        "negative enum is a 10-byte varint");
    VEC(s.f_string = "testing", BYTES(0x7a, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'), "string");
    VEC((s.f_bytes.len = 3, s.f_bytes.data = (uint8_t *)"\0\1\2"),
        BYTES(0x82, 0x01, 0x03, 0x00, 0x01, 0x02), "bytes with a two-byte tag");
    VEC((leaf.name = "a", leaf.v = 1, s.f_leaf = &leaf),
        BYTES(0x8a, 0x01, 0x05, 0x0a, 0x01, 'a', 0x10, 0x01), "nested message");
    VEC((s.f_int32 = 0, s.f_string = "", s.f_double = -0.0, s.f_bytes.len = 0), NOBYTES,
        "proto3 zero values (and -0.0, as libprotobuf-c) are not sent");

    Pbrt3__Repeats r = PBRT3__REPEATS__INIT;
    int32_t vals[] = {3, 270, 86942};
    r.n_r_int32 = 3;
    r.r_int32 = vals;
    tap_ok(packs_to(&r.base, BYTES(0x0a, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05)),
           "vector: packed repeated int32 (the spec's example)");
    r.n_r_int32 = 0;
    r.n_u_int32 = 2;
    r.u_int32 = vals;
    tap_ok(packs_to(&r.base, BYTES(0x90, 0x01, 0x03, 0x90, 0x01, 0x8e, 0x02)),
           "vector: unpacked repeated int32 repeats the tag");
    r.n_u_int32 = 0;
    tap_ok(packs_to(&r.base, NULL, 0), "vector: empty repeated fields send nothing");

    Pbrt3__Maps m = PBRT3__MAPS__INIT;
    Pbrt3__Maps__SsEntry e = PBRT3__MAPS__SS_ENTRY__INIT, *ep = &e;
    e.key = "k";
    e.value = "v";
    m.n_ss = 1;
    m.ss = &ep;
    tap_ok(packs_to(&m.base, BYTES(0x0a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v')),
           "vector: map entry is a nested key/value message");

    Pbrt3__Choice c = PBRT3__CHOICE__INIT;
    c.v_case = PBRT3__CHOICE__V_I;
    tap_ok(packs_to(&c.base, BYTES(0x08, 0x00)),
           "vector: a set oneof member is sent even when zero");

    Pbrt2__All a = PBRT2__ALL__INIT;
    Pbrt2__Inner in = PBRT2__INNER__INIT;
    a.q_int32 = 1;
    a.q_string = "";
    a.q_inner = &in;
    tap_ok(packs_to(&a.base, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00, 0x22, 0x00)),
           "vector: proto2 required fields are always sent, defaults are not");
    a.has_max_tag = 1;
    a.max_tag = 1;
    tap_ok(packs_to(&a.base, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00, 0x22, 0x00, 0xf8,
                                   0xff, 0xff, 0xff, 0x0f, 0x01)),
           "vector: largest field number 2^29-1");
    a.has_max_tag = 0;
    a.d_string = "dflt";
    tap_ok(packs_to(&a.base, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00, 0x22, 0x00, 0xda,
                                   0x01, 0x04, 'd', 'f', 'l', 't')),
           "vector: optional string equal to the default but set is sent");
#undef VEC
}

/* ---- round trips ------------------------------------------------------------------------- */

static void test_round_trips(void)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);

    for (size_t i = 0; i < n; i++) {
        struct bytes b = pack(s[i].msg);
        ProtobufCMessage *m = unpack(s[i].msg->descriptor, b.p, b.n);
        int good = m && equal(s[i].msg, m) && protobuf_c_message_check(m);
        if (good) {
            struct bytes again = pack(m);
            good = again.n == b.n && memcmp(again.p, b.p, b.n) == 0;
            free(again.p);
        }
        tap_ok(good, "round trip %s (%zu bytes)", s[i].name, b.n);
        protobuf_c_message_free_unpacked(m, NULL);
        free(b.p);
    }

    /* Bits that the comparison treats loosely are checked exactly here. */
    Pbrt2__All a = PBRT2__ALL__INIT;
    Pbrt2__Inner in = PBRT2__INNER__INIT;
    a.q_string = "x";
    a.q_inner = &in;
    a.has_o_float = 1;
    a.o_float = -0.0f;
    a.has_o_double = 1;
    a.o_double = nan("0x123");
    struct bytes b = pack(&a.base);
    Pbrt2__All *back = unpack(&pbrt2__all__descriptor, b.p, b.n);
    tap_ok(back && back->has_o_float && signbit(back->o_float) && back->o_float == 0 &&
               memcmp(&back->o_double, &a.o_double, 8) == 0,
           "optional -0.0 keeps its sign and NaN keeps its payload");
    pbrt2__all__free_unpacked(back, NULL);
    free(b.p);
}

/* ---- decoding rules ---------------------------------------------------------------------- */

static void test_packed_unpacked(void)
{
    Pbrt3__Repeats *r;

    r = unpack(&pbrt3__repeats__descriptor, BYTES(0x08, 0x03, 0x08, 0x8e, 0x02));
    tap_ok(r && r->n_r_int32 == 2 && r->r_int32[0] == 3 && r->r_int32[1] == 270,
           "packed field accepts unpacked elements");
    pbrt3__repeats__free_unpacked(r, NULL);

    r = unpack(&pbrt3__repeats__descriptor, BYTES(0x92, 0x01, 0x02, 0x01, 0x7f));
    tap_ok(r && r->n_u_int32 == 2 && r->u_int32[0] == 1 && r->u_int32[1] == 127,
           "unpacked field accepts a packed run");
    pbrt3__repeats__free_unpacked(r, NULL);

    r = unpack(&pbrt3__repeats__descriptor,
               BYTES(0x0a, 0x02, 0x01, 0x02, 0x08, 0x03, 0x0a, 0x00, 0x0a, 0x01, 0x04));
    int good = r && r->n_r_int32 == 4;
    for (int i = 0; good && i < 4; i++)
        good = r->r_int32[i] == i + 1;
    tap_ok(good, "packed runs and single elements mix and keep their order");
    pbrt3__repeats__free_unpacked(r, NULL);

    r = unpack(&pbrt3__repeats__descriptor,
               BYTES(0x45, 0x01, 0x00, 0x00, 0x00, 0x42, 0x04, 0x02, 0x00, 0x00, 0x00, 0x61, 0, 0,
                     0, 0, 0, 0, 0xf0, 0x3f, 0x6a, 0x03, 0x01, 0x00, 0x05, 0x72, 0x0a, 0xfe, 0xff,
                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
    tap_ok(r && r->n_r_fixed32 == 2 && r->r_fixed32[0] == 1 && r->r_fixed32[1] == 2 &&
               r->n_r_double == 1 && r->r_double[0] == 1.0 && r->n_r_bool == 3 &&
               r->r_bool[0] == 1 && r->r_bool[1] == 0 && r->r_bool[2] == 1 && r->n_r_enum == 1 &&
               r->r_enum[0] == PBRT3__KIND__KIND_NEG,
           "fixed32, double, bool (5 decodes as true) and negative enum in both encodings");
    pbrt3__repeats__free_unpacked(r, NULL);

    tap_ok(!unpack(&pbrt3__repeats__descriptor, BYTES(0x42, 0x05, 1, 2, 3, 4, 5)),
           "packed fixed32 run whose length is not a multiple of 4 is rejected");
    tap_ok(!unpack(&pbrt3__repeats__descriptor, BYTES(0x0a, 0x02, 0x01, 0x80)),
           "packed varint run ending inside a varint is rejected");
    r = unpack(&pbrt3__repeats__descriptor, BYTES(0x7a, 0x01, 'x', 0x7a, 0x00));
    tap_ok(r && r->n_r_string == 2 && strcmp(r->r_string[0], "x") == 0 && !r->r_string[1][0],
           "repeated string elements are length-delimited values, not packed runs");
    pbrt3__repeats__free_unpacked(r, NULL);

    /* A million-element packed run: memory proportional to the input, no quadratic copying. */
    size_t big = 1000000;
    uint8_t *buf = calloc(big + 8, 1);
    buf[0] = 0x0a;
    buf[1] = (uint8_t)(big | 0x80);
    buf[2] = (uint8_t)(big >> 7 | 0x80);
    buf[3] = (uint8_t)(big >> 14);
    r = unpack(&pbrt3__repeats__descriptor, buf, big + 4);
    tap_ok(r && r->n_r_int32 == big && r->r_int32[big - 1] == 0, "a 1,000,000-element packed run");
    pbrt3__repeats__free_unpacked(r, NULL);
    free(buf);
}

static void test_unknown_and_last_wins(void)
{
    Pbrt3__Leaf *l =
        unpack(&pbrt3__leaf__descriptor,
               BYTES(0x98, 0x06, 0x05,                                 /* 99: varint */
                     0x0a, 0x01, 'n',                                  /* name */
                     0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,               /* 100: fixed64 */
                     0xaa, 0x06, 0x03, 0x0a, 0x01, 'z',                /* 101: length-delimited */
                     0xb5, 0x06, 1, 2, 3, 4,                           /* 102: fixed32 */
                     0x10, 0x07, 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00)); /* v, then max tag */
    tap_ok(l && strcmp(l->name, "n") == 0 && l->v == 7 && l->base.n_unknown_fields == 0,
           "unknown fields of every wire type are skipped");
    pbrt3__leaf__free_unpacked(l, NULL);

    tap_ok(!unpack(&pbrt3__leaf__descriptor, BYTES(0x9b, 0x06, 0x9c, 0x06)),
           "group wire types (3/4) are rejected");
    tap_ok(!unpack(&pbrt3__leaf__descriptor, BYTES(0x9e, 0x06, 0x00)), "wire type 6 is rejected");
    tap_ok(!unpack(&pbrt3__leaf__descriptor, BYTES(0x9f, 0x06, 0x00)), "wire type 7 is rejected");

    l = unpack(&pbrt3__leaf__descriptor,
               BYTES(0x0a, 0x01, 'a', 0x10, 0x01, 0x0a, 0x02, 'b', 'c', 0x10, 0x02));
    tap_ok(l && strcmp(l->name, "bc") == 0 && l->v == 2, "a repeated scalar or string: last wins");
    pbrt3__leaf__free_unpacked(l, NULL);

    Pbrt3__Scalars *s = unpack(&pbrt3__scalars__descriptor,
                               BYTES(0x8a, 0x01, 0x03, 0x0a, 0x01, 'a', 0x8a, 0x01, 0x02, 0x10,
                                     0x05, 0x82, 0x01, 0x01, 'x', 0x82, 0x01, 0x00));
    tap_ok(s && s->f_leaf && s->f_leaf->name[0] == '\0' && s->f_leaf->v == 5 && s->f_bytes.len == 0,
           "a repeated message field: the last occurrence replaces the first (no merge)");
    pbrt3__scalars__free_unpacked(s, NULL);

    Pbrt3__Choice *c = unpack(&pbrt3__choice__descriptor,
                              BYTES(0x12, 0x01, 's', 0x22, 0x02, 0x0a, 0x00, 0x1a, 0x01, 'b', 0x08,
                                    0x05, 0x4a, 0x01, 'w', 0x40, 0x01));
    tap_ok(c && c->v_case == PBRT3__CHOICE__V_I && c->i == 5 && c->w_case == PBRT3__CHOICE__W_WU &&
               c->wu == 1,
           "oneof: each member replaces the previous one (string, message, bytes, int)");
    pbrt3__choice__free_unpacked(c, NULL);

    c = unpack(&pbrt3__choice__descriptor, BYTES(0x08, 0x05, 0x12, 0x02, 'h', 'i'));
    tap_ok(c && c->v_case == PBRT3__CHOICE__V_S && strcmp(c->s, "hi") == 0,
           "oneof: scalar then string");
    pbrt3__choice__free_unpacked(c, NULL);
}

static void test_defaults_and_required(void)
{
    const uint8_t req[] = {0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00, 0x22, 0x00};
    Pbrt2__All *a = unpack(&pbrt2__all__descriptor, req, sizeof req);
    tap_ok(a && a->d_string == pbrt2__all__d_string__default_value && !a->has_d_bytes &&
               a->d_bytes.len == 3 && memcmp(a->d_bytes.data, "xyz", 3) == 0 && a->d_int32 == -7 &&
               a->d_enum == PBRT2__COLOR__BLUE && a->d_double == 1.5 && a->d_bool == 1 &&
               !a->has_o_int32 && a->o_string == NULL && a->choice_case == 0,
           "absent proto2 fields keep their declared defaults");
    tap_ok(a && packs_to(&a->base, req, sizeof req), "defaults are not re-sent");
    pbrt2__all__free_unpacked(a, NULL);

    a = unpack(&pbrt2__all__descriptor, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00, 0x22,
                                              0x00, 0xda, 0x01, 0x01, 'n', 0xe2, 0x01, 0x00));
    tap_ok(a && strcmp(a->d_string, "n") == 0 && a->has_d_bytes && a->d_bytes.len == 0,
           "received values replace defaults (freed without touching the defaults)");
    pbrt2__all__free_unpacked(a, NULL);

    tap_ok(!unpack(&pbrt2__all__descriptor, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x02, 0x08, 0x00)),
           "missing required bytes field is rejected");
    tap_ok(!unpack(&pbrt2__all__descriptor, BYTES(0x08, 0x01, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00)),
           "missing required field in a nested message is rejected");
    tap_ok(!unpack(&pbrt2__inner__descriptor, NULL, 0), "empty input lacks the required field");
    Pbrt3__Leaf *l = unpack(&pbrt3__leaf__descriptor, NULL, 0);
    tap_ok(l && l->name == protobuf_c_empty_string && l->v == 0,
           "NULL, 0 decodes an empty message");
    pbrt3__leaf__free_unpacked(l, NULL);
    tap_ok(!unpack(&pbrt3__leaf__descriptor, NULL, 3), "NULL data with a length is rejected");
}

/* Node.next (field 4) wrapped `levels` times around an empty Node, built from the inside out. */
static uint8_t *nested_nodes(size_t levels, size_t *ret_len)
{
    size_t cap = levels * 5 + 1, start = cap;
    uint8_t *buf = malloc(cap);
    for (size_t i = 0; i < levels; i++) {
        uint8_t hdr[6];
        size_t h = 0, body = cap - start;
        hdr[h++] = 0x22;
        while (body >= 0x80) {
            hdr[h++] = (uint8_t)(body | 0x80);
            body >>= 7;
        }
        hdr[h++] = (uint8_t)body;
        start -= h;
        memcpy(buf + start, hdr, h);
    }
    *ret_len = cap - start;
    memmove(buf, buf + start, *ret_len);
    return buf;
}

static void test_malformed(void)
{
    const ProtobufCMessageDescriptor *leaf = &pbrt3__leaf__descriptor;

    tap_ok(!unpack(leaf, BYTES(0x00, 0x00)), "tag 0 is rejected");
    tap_ok(!unpack(leaf, BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)),
           "11-byte varint tag is rejected");
    tap_ok(!unpack(leaf,
                   BYTES(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
           "11-byte varint value is rejected");
    tap_ok(!unpack(leaf, BYTES(0x10, 0xff)), "truncated varint is rejected");
    tap_ok(!unpack(leaf, BYTES(0x88, 0x80, 0x80, 0x80, 0x80, 0x02, 0x00)),
           "field number beyond 32 bits is rejected");
    tap_ok(!unpack(leaf, BYTES(0x0a, 0x05, 'a', 'b')), "length past the end is rejected");
    tap_ok(!unpack(leaf, BYTES(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a')),
           "length near 2^63 is rejected");
    tap_ok(!unpack(leaf, BYTES(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a')),
           "length of 4 GiB in a short buffer is rejected");
    tap_ok(!unpack(leaf, BYTES(0x08, 0x01)), "string field sent as varint is rejected");
    tap_ok(!unpack(leaf, BYTES(0x11, 1, 2, 3, 4, 5, 6, 7, 8)),
           "int64 field sent as fixed64 rejected");
    tap_ok(!unpack(&pbrt3__scalars__descriptor, BYTES(0x45, 1, 2, 3)), "truncated fixed32");
    tap_ok(!unpack(&pbrt3__scalars__descriptor, BYTES(0x61, 1, 2, 3, 4, 5, 6, 7)),
           "truncated fixed64");
    tap_ok(!unpack(&pbrt3__scalars__descriptor, BYTES(0x8a, 0x01, 0x01, 0x10)),
           "nested message cut inside a field is rejected");
    tap_ok(!unpack(&pbrt3__repeats__descriptor, BYTES(0x8a, 0x01, 0x02, 0x0a, 0x01, 0x0a)),
           "error in a repeated message element frees what was built");

    for (size_t levels = 63; levels <= 66; levels++) {
        size_t len;
        uint8_t *buf = nested_nodes(levels, &len);
        Pbrt3__Node *n = unpack(&pbrt3__node__descriptor, buf, len);
        tap_ok(levels <= 64 ? n != NULL : n == NULL, "%zu levels of nesting %s", levels,
               levels <= 64 ? "accepted" : "rejected");
        pbrt3__node__free_unpacked(n, NULL);
        free(buf);
    }
    size_t len;
    uint8_t *buf = nested_nodes(200000, &len);
    tap_ok(!unpack(&pbrt3__node__descriptor, buf, len),
           "200000 levels of nesting (%zu bytes) fail without exhausting the stack", len);
    free(buf);
}

/* ---- truncation, mutation ---------------------------------------------------------------- */

static const struct pbrt_sample *find_sample(const char *name)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    abort();
}

static void test_truncation(void)
{
    const char *names[] = {"all2_full",     "repeats_edge", "maps",
                           "node_chain_40", "scalars_max",  "agent_create_container"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const struct pbrt_sample *s;
        size_t n = pbrt_samples(&s), i;
        for (i = 0; i < n && strcmp(s[i].name, names[k]) != 0; i++)
            ;
        if (i == n) {
            tap_ok(1, "truncation: %s # skip sample not built (no agent proto)", names[k]);
            continue;
        }
        struct bytes b = pack(s[i].msg);
        size_t rejected = 0, bad = 0;
        for (size_t cut = 0; cut < b.n; cut++) {
            /* A copy of exactly `cut` bytes, so ASan sees any read past the end. */
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, b.p, cut);
            ProtobufCMessage *m = unpack(s[i].msg->descriptor, copy, cut);
            if (!m)
                rejected++;
            else if (!survives_repack(m))
                bad++;
            protobuf_c_message_free_unpacked(m, NULL);
            free(copy);
        }
        tap_ok(bad == 0 && rejected > 0,
               "truncation of %s at all %zu offsets: %zu rejected, rest valid", names[k], b.n,
               rejected);
        free(b.p);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutation(void)
{
    const char *names[] = {"all2_full",     "repeats_edge",      "maps",
                           "node_chain_40", "choice_two_oneofs", "scalars_max"};
    const size_t nn = sizeof names / sizeof names[0];
    struct bytes base[sizeof names / sizeof names[0]];
    const ProtobufCMessageDescriptor *desc[sizeof names / sizeof names[0]];
    size_t iterations = 20000, accepted = 0, bad = 0;

    for (size_t k = 0; k < nn; k++) {
        base[k] = pack(find_sample(names[k])->msg);
        desc[k] = find_sample(names[k])->msg->descriptor;
    }
    for (size_t it = 0; it < iterations; it++) {
        size_t k = it % nn, n = base[k].n;
        uint8_t *buf = malloc(n + 16);
        memcpy(buf, base[k].p, n);
        for (int edits = 1 + (int)(rng() % 4); edits > 0; edits--) {
            size_t at = n ? rng() % n : 0;
            switch (rng() % 6) {
            case 0: /* flip a bit */
                if (n)
                    buf[at] ^= (uint8_t)(1u << rng() % 8);
                break;
            case 1: /* random byte */
                if (n)
                    buf[at] = (uint8_t)rng();
                break;
            case 2: /* insert a byte */
                if (n < base[k].n + 15) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (uint8_t)rng();
                    n++;
                }
                break;
            case 3: /* delete a byte */
                if (n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            case 4: /* truncate */
                n = at;
                break;
            default: /* a length-ish extreme value */
                if (n)
                    buf[at] = (rng() & 1) ? 0xff : 0x80;
                break;
            }
        }
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        ProtobufCMessage *m = unpack(desc[k], exact, n);
        if (m) {
            accepted++;
            if (!survives_repack(m))
                bad++;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        free(exact);
    }
    for (size_t k = 0; k < nn; k++)
        free(base[k].p);
    tap_ok(bad == 0 && accepted > 0 && accepted < iterations,
           "%zu mutated inputs: %zu accepted (all re-pack to an equal message), %zu rejected",
           iterations, accepted, iterations - accepted);
}

/* ---- allocators and buffers -------------------------------------------------------------- */

struct counting_alloc {
    long live, calls, fail_at; /* fail_at < 0: never */
};

static void *count_alloc(void *data, size_t size)
{
    struct counting_alloc *c = data;
    if (c->fail_at >= 0 && c->calls >= c->fail_at)
        return NULL;
    c->calls++;
    c->live++;
    return malloc(size);
}

static void count_free(void *data, void *p)
{
    struct counting_alloc *c = data;
    c->live--;
    free(p);
}

static void test_allocator(void)
{
    const char *names[] = {"all2_full", "maps", "repeats_big", "agent_create_container"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const struct pbrt_sample *s;
        size_t n = pbrt_samples(&s), i;
        for (i = 0; i < n && strcmp(s[i].name, names[k]) != 0; i++)
            ;
        if (i == n) {
            tap_ok(1, "allocator: %s # skip sample not built (no agent proto)", names[k]);
            continue;
        }
        struct bytes b = pack(s[i].msg);
        struct counting_alloc c = {0, 0, -1};
        ProtobufCAllocator a = {count_alloc, count_free, &c};
        ProtobufCMessage *m = protobuf_c_message_unpack(s[i].msg->descriptor, &a, b.n, b.p);
        long total = c.calls;
        int good = m && equal(s[i].msg, m);
        protobuf_c_message_free_unpacked(m, &a);
        good = good && c.live == 0;
        long leaks = 0, successes = 0;
        for (long fail = 0; fail < total; fail++) {
            struct counting_alloc f = {0, 0, fail};
            ProtobufCAllocator fa = {count_alloc, count_free, &f};
            ProtobufCMessage *fm = protobuf_c_message_unpack(s[i].msg->descriptor, &fa, b.n, b.p);
            successes += fm != NULL;
            protobuf_c_message_free_unpacked(fm, &fa);
            leaks += f.live != 0;
        }
        tap_ok(good && leaks == 0 && successes == 0,
               "custom allocator for %s: %ld allocations all freed; failing each one returns NULL "
               "without leaks",
               names[k], total);
        free(b.p);
    }
}

struct append_counter {
    ProtobufCBuffer base;
    size_t bytes, calls;
};

static void count_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    struct append_counter *c = (struct append_counter *)b;
    c->bytes += len;
    c->calls++;
}

static void test_buffers(void)
{
    const ProtobufCMessage *m = find_sample("all2_full")->msg;
    struct bytes flat = pack(m);
    uint8_t pad[4];
    ProtobufCBufferSimple simple = PROTOBUF_C_BUFFER_SIMPLE_INIT(pad);
    size_t n = protobuf_c_message_pack_to_buffer(m, &simple.base);
    tap_ok(n == flat.n && simple.len == flat.n && memcmp(simple.data, flat.p, n) == 0 &&
               simple.must_free_data && simple.data != pad,
           "pack_to_buffer into a growing ProtobufCBufferSimple equals pack");
    PROTOBUF_C_BUFFER_SIMPLE_CLEAR(&simple);

    struct counting_alloc c = {0, 0, -1};
    ProtobufCAllocator a = {count_alloc, count_free, &c};
    ProtobufCBufferSimple with_alloc = PROTOBUF_C_BUFFER_SIMPLE_INIT(pad);
    with_alloc.allocator = &a;
    protobuf_c_buffer_simple_append(&with_alloc.base, 3, (const uint8_t *)"abc");
    protobuf_c_buffer_simple_append(&with_alloc.base, 0, NULL);
    protobuf_c_buffer_simple_append(&with_alloc.base, 2, (const uint8_t *)"de");
    tap_ok(with_alloc.len == 5 && memcmp(with_alloc.data, "abcde", 5) == 0 && c.live == 1,
           "buffer_simple_append grows through the buffer's allocator");
    count_free(&c, with_alloc.data);

    struct append_counter counter = {{count_append}, 0, 0};
    tap_ok(protobuf_c_message_pack_to_buffer(m, &counter.base) == flat.n && counter.bytes == flat.n,
           "pack_to_buffer hands every byte to a custom append (%zu calls)", counter.calls);
    free(flat.p);
}

/* ---- descriptors, check, init, services, version ----------------------------------------- */

static void test_lookups(void)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&pbrt3__kind__descriptor, -2);
    tap_ok(v && strcmp(v->name, "KIND_NEG") == 0, "enum value by number (negative)");
    v = protobuf_c_enum_descriptor_get_value(&pbrt3__kind__descriptor, 1000000);
    tap_ok(v && strcmp(v->name, "KIND_BIG") == 0, "enum value by number (sparse)");
    tap_ok(!protobuf_c_enum_descriptor_get_value(&pbrt3__kind__descriptor, 5),
           "unknown enum number");
    v = protobuf_c_enum_descriptor_get_value_by_name(&pbrt3__kind__descriptor, "KIND_ONE");
    tap_ok(v && v->value == 1, "enum value by name");
    tap_ok(!protobuf_c_enum_descriptor_get_value_by_name(&pbrt3__kind__descriptor, "KIND_TWO"),
           "unknown enum name");

    const ProtobufCFieldDescriptor *f;
    f = protobuf_c_message_descriptor_get_field(&pbrt2__all__descriptor, 536870911);
    tap_ok(f && strcmp(f->name, "max_tag") == 0, "field by number");
    tap_ok(!protobuf_c_message_descriptor_get_field(&pbrt2__all__descriptor, 5),
           "unknown field number");
    int all = 1;
    for (unsigned i = 0; i < pbrt2__all__descriptor.n_fields; i++) {
        const ProtobufCFieldDescriptor *want = &pbrt2__all__descriptor.fields[i];
        all = all &&
              protobuf_c_message_descriptor_get_field(&pbrt2__all__descriptor, want->id) == want &&
              protobuf_c_message_descriptor_get_field_by_name(&pbrt2__all__descriptor,
                                                              want->name) == want;
    }
    tap_ok(all, "every field of All found by number and by name");
    tap_ok(!protobuf_c_message_descriptor_get_field_by_name(&pbrt2__all__descriptor, "nope"),
           "unknown field name");

    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(&pbrt3__echo__descriptor, "Count");
    tap_ok(md && md->input == &pbrt3__node__descriptor, "service method by name");
    tap_ok(!protobuf_c_service_descriptor_get_method_by_name(&pbrt3__echo__descriptor, "Nope"),
           "unknown method name");
    tap_ok(strcmp(protobuf_c_version(), "1.4.1") == 0 && protobuf_c_version_number() == 1004001,
           "version matches the header we implement");
}

static void test_check_init(void)
{
    Pbrt2__All a = PBRT2__ALL__INIT;
    Pbrt2__Inner in = PBRT2__INNER__INIT;
    tap_ok(!protobuf_c_message_check(&a.base), "check: required string and message missing");
    a.q_string = "";
    tap_ok(!protobuf_c_message_check(&a.base), "check: required message missing");
    a.q_inner = &in;
    tap_ok(protobuf_c_message_check(&a.base), "check: required fields present");
    char *strs[] = {"a", NULL};
    a.n_r_string = 2;
    a.r_string = strs;
    tap_ok(!protobuf_c_message_check(&a.base), "check: NULL element in a repeated string");
    a.n_r_string = 1;
    a.has_o_bytes = 1;
    a.o_bytes.len = 3;
    tap_ok(!protobuf_c_message_check(&a.base), "check: bytes with a length but no data");
    a.o_bytes.len = 0;
    Pbrt2__Inner bad = {{NULL, 0, NULL}, 0, NULL};
    a.choice_case = PBRT2__ALL__CHOICE_C_INNER;
    a.c_inner = &bad;
    tap_ok(!protobuf_c_message_check(&a.base), "check: oneof message without a descriptor");
    tap_ok(protobuf_c_message_check(find_sample("all2_full")->msg), "check: full sample is valid");

    union {
        Pbrt2__All all;
        unsigned char raw[sizeof(Pbrt2__All)];
    } u;
    memset(&u, 0xa5, sizeof u);
    protobuf_c_message_init(&pbrt2__all__descriptor, &u.all);
    tap_ok(u.all.base.descriptor == &pbrt2__all__descriptor && u.all.d_int32 == -7 &&
               u.all.n_r_inner == 0 && u.all.d_string == pbrt2__all__d_string__default_value,
           "message_init applies the generated initial values");
}

static int destroyed;
static void echo_ping(Pbrt3__Echo_Service *svc, const Pbrt3__Leaf *in, Pbrt3__Leaf_Closure done,
                      void *data)
{
    Pbrt3__Leaf out = PBRT3__LEAF__INIT;
    out.name = in->name;
    out.v = in->v + 1;
    done(&out, data);
}

static void echo_destroy(Pbrt3__Echo_Service *svc)
{
    destroyed++;
}

static void got_leaf(const Pbrt3__Leaf *leaf, void *data)
{
    *(int64_t *)data = leaf ? leaf->v : -1;
}

static void test_service(void)
{
    Pbrt3__Echo_Service svc = {{0}, echo_ping, NULL};
    pbrt3__echo__init(&svc, echo_destroy);
    Pbrt3__Leaf in = PBRT3__LEAF__INIT;
    in.v = 41;
    int64_t got = 0;
    pbrt3__echo__ping(&svc.base, &in, got_leaf, &got);
    tap_ok(got == 42, "service: generated init wires invoke to the handler");
    Pbrt3__Node node = PBRT3__NODE__INIT;
    pbrt3__echo__count(&svc.base, &node, got_leaf, &got);
    tap_ok(got == -1, "service: a method without handler answers NULL");
    protobuf_c_service_destroy(&svc.base);
    tap_ok(destroyed == 1, "service: destroy calls the destroy function");
}

int main(void)
{
    test_vectors();
    test_round_trips();
    test_packed_unpacked();
    test_unknown_and_last_wins();
    test_defaults_and_required();
    test_malformed();
    test_truncation();
    test_mutation();
    test_allocator();
    test_buffers();
    test_lookups();
    test_check_init();
    test_service();
    return tap_done();
}
