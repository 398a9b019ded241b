/* A strict JSON (RFC 8259) parser into a read-only DOM. Input is UTF-8 without a BOM; strings
 * are decoded (escapes, surrogate pairs) and NUL-terminated, with their length kept for the
 * rare \u0000. The whole DOM lives in a few large blocks owned by the json_doc, so a document
 * is freed in one call and parsing costs no allocation per token. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

/* Which exact integer forms a number has; a number with a fraction or exponent has none, even
 * when its value is integral ("1.0", "1e3"), as Go's decoder refuses those for integers. */
enum {
    JSON_NUM_INT64 = 1 << 0,  /* .i holds it exactly */
    JSON_NUM_UINT64 = 1 << 1, /* .u holds it exactly */
    JSON_NUM_INTEGER = 1 << 2 /* written as an integer (no fraction, no exponent) */
};

struct json_member;

struct json_value {
    enum json_type type;
    unsigned num_flags; /* JSON_NUM_*, numbers only */
    size_t offset;      /* byte offset of the value in the input, for error messages */
    union {
        struct {
            const char *s; /* NUL-terminated */
            size_t len;    /* bytes, without the terminator; strlen(s) < len if it holds NULs */
        } str;
        struct {
            int64_t i;
            uint64_t u;
            double d; /* always set (rounded for big integers) */
        } num;
        struct {
            const struct json_value *items;
            size_t n;
        } arr;
        struct {
            const struct json_member *members; /* in input order; duplicates kept */
            size_t n;
        } obj;
    };
};

struct json_member {
    const char *key; /* NUL-terminated */
    size_t key_len;
    struct json_value value;
};

struct json_limits {
    size_t max_size;    /* input bytes */
    unsigned max_depth; /* nested arrays/objects */
};
#define JSON_DEFAULT_MAX_SIZE (32u << 20)
#define JSON_DEFAULT_MAX_DEPTH 64u

struct json_doc;

/* Parses text[0..len) (no terminator needed). limits NULL means the defaults above. Errors are
 * -EINVAL (malformed: the message names the byte offset) or -E2BIG (over a limit). */
int json_parse(const char *text, size_t len, const struct json_limits *limits,
               struct json_doc **ret, struct kerr **err);
const struct json_value *json_root(const struct json_doc *doc);
void json_free(struct json_doc *doc);

static inline void json_freep(struct json_doc **d)
{
    json_free(*d);
}
#define cleanup_json __attribute__((cleanup(json_freep)))

/* The value of `key` in an object (the last one when a key repeats, as Go and most decoders
 * keep it); NULL when absent or when obj is not an object. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* "string", "number", ...: for messages about a value of the wrong type. */
const char *json_type_name(enum json_type t);
