/* Unit tests of the JSON parser (common/json.c): values and lookups, string decoding
 * (escapes, surrogate pairs, UTF-8), the integer forms of numbers, limits, and one malformed
 * input per rule with the byte offset its error names (TAP). */
#include "tests/tap.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"

static struct json_doc *parse(const char *text, size_t len, struct kerr **err)
{
    struct json_doc *doc = NULL;
    return json_parse(text, len, NULL, &doc, err) == 0 ? doc : NULL;
}

static void test_values(void)
{
    const char text[] = " {\"a\": [1, -2, true, false, null, \"s\", {}, []], \"b\": {\"c\": \"d\"},"
                        " \"dup\": 1, \"dup\": 2}\n";
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = parse(text, strlen(text), &err);
    if (!tap_ok(doc != NULL, "a document with every kind of value parses (%s)",
                err ? err->msg : "ok"))
        return;
    const struct json_value *root = json_root(doc);
    const struct json_value *a = json_get(root, "a");
    tap_ok(root->type == JSON_OBJECT && root->obj.n == 4 && a && a->type == JSON_ARRAY &&
               a->arr.n == 8,
           "object with its members in order, array with its items");
    tap_ok(a->arr.items[0].type == JSON_NUMBER && a->arr.items[0].num.i == 1 &&
               a->arr.items[1].num.i == -2 && a->arr.items[2].type == JSON_TRUE &&
               a->arr.items[3].type == JSON_FALSE && a->arr.items[4].type == JSON_NULL &&
               a->arr.items[5].type == JSON_STRING && strcmp(a->arr.items[5].str.s, "s") == 0 &&
               a->arr.items[6].type == JSON_OBJECT && a->arr.items[6].obj.n == 0 &&
               a->arr.items[7].type == JSON_ARRAY && a->arr.items[7].arr.n == 0,
           "numbers, booleans, null, strings, empty containers");
    tap_ok(a->offset == 7 && a->arr.items[1].offset == 11 && root->offset == 1,
           "values know their byte offsets");
    tap_is_str(json_get(json_get(root, "b"), "c") ? json_get(json_get(root, "b"), "c")->str.s
                                                  : NULL,
               "d", "nested lookup");
    const struct json_value *dup = json_get(root, "dup");
    tap_ok(dup && dup->num.i == 2, "a repeated key finds its last value");
    tap_ok(json_get(root, "missing") == NULL && json_get(a, "a") == NULL &&
               json_get(NULL, "a") == NULL,
           "lookup of an absent key, or in a non-object, is NULL");
}

static void test_strings(void)
{
    const char text[] = "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u2603\\ud83d\\ude00\", "
                        "\"h\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\", \"a\\u0000b\", \"\"]";
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = parse(text, strlen(text), &err);
    if (!tap_ok(doc != NULL, "strings with escapes parse (%s)", err ? err->msg : "ok"))
        return;
    const struct json_value *a = json_root(doc);
    tap_is_str(a->arr.items[0].str.s, "\"\\/\b\f\n\r\t", "the two-character escapes");
    tap_is_str(a->arr.items[1].str.s, "\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80",
               "\\u escapes and a surrogate pair become UTF-8");
    tap_is_str(a->arr.items[2].str.s, "h\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80",
               "raw UTF-8 passes through");
    tap_ok(a->arr.items[3].str.len == 3 && memcmp(a->arr.items[3].str.s, "a\0b", 4) == 0,
           "\\u0000 is kept, with the length telling it apart");
    tap_ok(a->arr.items[4].str.len == 0 && a->arr.items[4].str.s[0] == '\0', "empty string");
}

static void test_numbers(void)
{
    const char text[] = "[9223372036854775807, -9223372036854775808, 18446744073709551615, "
                        "18446744073709551616, -0, 1.0, 1e2, 0.5, -1.5E-3, 0]";
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = parse(text, strlen(text), &err);
    if (!tap_ok(doc != NULL, "numbers parse (%s)", err ? err->msg : "ok"))
        return;
    const struct json_value *n = json_root(doc)->arr.items;
    unsigned both = JSON_NUM_INTEGER | JSON_NUM_INT64 | JSON_NUM_UINT64;
    tap_ok(n[0].num_flags == both && n[0].num.i == INT64_MAX && n[0].num.u == INT64_MAX,
           "INT64_MAX fits both integer forms");
    tap_ok(n[1].num_flags == (JSON_NUM_INTEGER | JSON_NUM_INT64) && n[1].num.i == INT64_MIN,
           "INT64_MIN is signed only");
    tap_ok(n[2].num_flags == (JSON_NUM_INTEGER | JSON_NUM_UINT64) && n[2].num.u == UINT64_MAX,
           "UINT64_MAX is unsigned only");
    tap_ok(n[3].num_flags == JSON_NUM_INTEGER && n[3].num.d > 1.8e19,
           "2^64 is an integer that fits neither form (its double is kept)");
    tap_ok(n[4].num_flags == (JSON_NUM_INTEGER | JSON_NUM_INT64) && n[4].num.i == 0,
           "-0 is a signed zero");
    tap_ok(n[5].num_flags == 0 && n[5].num.d == 1.0 && n[6].num_flags == 0 && n[6].num.d == 100,
           "1.0 and 1e2 are not integers (Go refuses them for integer fields)");
    tap_ok(n[7].num.d == 0.5 && n[8].num.d == -1.5e-3 && n[9].num_flags == both,
           "fractions and exponents");
}

static void test_big(void)
{
    /* many values and a long string: the arena grows by chunks and big blocks */
    size_t count = 100000, len = 0;
    char *text = malloc(count * 2 + 300000 + 16);
    text[len++] = '[';
    for (size_t i = 0; i < count; i++)
        len += (size_t)sprintf(text + len, "%zu,", i % 10);
    text[len++] = '"';
    memset(text + len, 'x', 300000);
    len += 300000;
    text[len++] = '"';
    text[len++] = ']';
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = parse(text, len, &err);
    const struct json_value *r = doc ? json_root(doc) : NULL;
    tap_ok(r && r->arr.n == count + 1 &&
               r->arr.items[count - 1].num.i == (int64_t)(count - 1) % 10 &&
               r->arr.items[count].str.len == 300000,
           "100000 numbers and a 300 kB string (%s)", err ? err->msg : "ok");
    free(text);
}

static void test_limits(void)
{
    char deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    cleanup_error struct kerr *err = NULL;
    cleanup_json struct json_doc *doc = parse(deep, 128, &err);
    tap_ok(doc != NULL, "64 levels of nesting are allowed");
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    struct json_doc *d2 = NULL;
    int r = json_parse(deep, 130, NULL, &d2, &err);
    tap_ok(r == -E2BIG && err && strstr(err->msg, "nesting deeper than 64 levels at byte 64"),
           "65 levels are refused: %s", err ? err->msg : "no error");
    error_freep(&err);

    size_t n = 1000000;
    char *open = malloc(n);
    memset(open, '[', n);
    r = json_parse(open, n, NULL, &d2, &err);
    tap_ok(r == -E2BIG && err, "a million '[' end at the depth limit, not the stack");
    error_freep(&err);
    free(open);

    struct json_limits small = {.max_size = 4, .max_depth = 2};
    r = json_parse("[[[]]]", 6, &small, &d2, &err);
    tap_ok(r == -E2BIG && err && strstr(err->msg, "over the limit of 4"), "the size limit: %s",
           err ? err->msg : "no error");
    error_freep(&err);
    small.max_size = 100;
    r = json_parse("[[[]]]", 6, &small, &d2, &err);
    tap_ok(r == -E2BIG && err && strstr(err->msg, "deeper than 2"), "a custom depth limit");
}

static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *error;
} bad[] = {
    {"", 0, "value expected, found the end of the input at byte 0"},
    {"   ", 0, "found the end of the input at byte 3"},
    {"01", 0, "end of input expected after the JSON value, found '1' at byte 1"},
    {"-", 0, "digit expected in number"},
    {"1.", 0, "digit expected after '.' in number"},
    {".5", 0, "value expected, found '.' at byte 0"},
    {"+1", 0, "value expected, found '+'"},
    {"1e", 0, "digit expected in exponent"},
    {"1e999", 0, "number out of range at byte 0"},
    {"-1e999", 0, "number out of range"},
    {"tru", 0, "value expected, found 't'"},
    {"nul", 0, "value expected"},
    {"NaN", 0, "value expected, found 'N'"},
    {"[1,]", 0, "value expected, found ']' at byte 3"},
    {"[1 2]", 0, "',' or ']' expected, found '2' at byte 3"},
    {"{\"a\":1,}", 0, "object key (a string) expected, found '}' at byte 7"},
    {"{a:1}", 0, "object key (a string) expected, found 'a' at byte 1"},
    {"{\"a\" 1}", 0, "':' expected after object key, found '1'"},
    {"{\"a\":1", 0, "',' or '}' expected"},
    {"[", 0, "value expected, found the end of the input at byte 1"},
    {"\"abc", 0, "unterminated string at byte 0"},
    {"\"ab\\", 0, "unterminated string"},
    {"\"\\x\"", 0, "unknown escape in string at byte 1"},
    {"\"\\u12\"", 0, "bad \\u escape"},
    {"\"\\u12g4\"", 0, "bad \\u escape"},
    {"\"\\ud800\"", 0, "unpaired high surrogate"},
    {"\"\\ud800\\u0041\"", 0, "unpaired high surrogate"},
    {"\"\\udc00\"", 0, "unpaired low surrogate"},
    {"\"a\nb\"", 0, "control character in string (must be escaped) at byte 2"},
    {"\"\xc0\xaf\"", 0, "invalid UTF-8 in string at byte 1"},
    {"\"\xed\xa0\x80\"", 0, "invalid UTF-8 in string"},
    {"\"\xf4\x90\x80\x80\"", 0, "invalid UTF-8 in string"},
    {"\"\xe2\x98\"", 0, "invalid UTF-8 in string"},
    {"\xef\xbb\xbf{}", 0, "value expected, found byte 0xef at byte 0"},
    {"{} x", 0, "end of input expected after the JSON value, found 'x' at byte 3"},
    {"[]]", 0, "end of input expected"},
    {"[1]\0", 4, "found byte 0x00 at byte 3"},
    {"'a'", 0, "value expected, found '''"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cleanup_error struct kerr *err = NULL;
        struct json_doc *doc = NULL;
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        int r = json_parse(bad[i].text, len, NULL, &doc, &err);
        tap_ok(r == -EINVAL && doc == NULL && err && err->status == 3 &&
                   strstr(err->msg, bad[i].error),
               "bad input %zu refused: %s", i, err ? err->msg : "(accepted)");
    }
}

int main(void)
{
    test_values();
    test_strings();
    test_numbers();
    test_big();
    test_limits();
    test_bad();
    return tap_done();
}
