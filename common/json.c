/* Strict RFC 8259 parser (see json.h). Recursive descent, bounded by the depth limit. The
 * children of the arrays and objects being parsed wait on one scratch stack and are copied
 * into the document's arena, in one block per container, when it closes; strings are decoded
 * straight into the arena (a decoded string is never longer than its source). */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

#define STATUS_INVALID_ARGUMENT 3
#define CHUNK_SIZE (64u << 10)
#define MAX_NUMBER_LEN 512

struct chunk {
    struct chunk *next;
    size_t size, used;
    alignas(max_align_t) char data[];
};

struct json_doc {
    struct chunk *chunks; /* the first is the one being filled */
    struct json_value root;
};

struct parser {
    const char *start, *p, *end;
    unsigned depth, max_depth;
    struct json_doc *doc;
    struct json_member *stack; /* children of the open containers */
    size_t top, cap;
    struct kerr **err;
};

static size_t align_up(size_t n)
{
    return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

static void *arena_alloc(struct json_doc *d, size_t n)
{
    n = align_up(n ? n : 1);
    struct chunk *c = d->chunks;
    if (c && c->size - c->used >= n) {
        void *r = c->data + c->used;
        c->used += n;
        return r;
    }
    /* Big blocks get a chunk of their own behind the current one, which keeps its free room. */
    size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
    struct chunk *fresh = xmalloc(sizeof(*fresh) + size);
    fresh->size = size;
    fresh->used = n;
    if (c && size == n) {
        fresh->next = c->next;
        c->next = fresh;
    } else {
        fresh->next = c;
        d->chunks = fresh;
    }
    return fresh->data;
}

/* Gives back the unused tail of the block just allocated at p (reserved `had`, used `keep`). */
static void arena_trim(struct json_doc *d, void *p, size_t had, size_t keep)
{
    struct chunk *c = d->chunks;
    size_t h = align_up(had ? had : 1), k = align_up(keep ? keep : 1);
    if (c && (char *)p + h == c->data + c->used)
        c->used -= h - k;
}

void json_free(struct json_doc *doc)
{
    if (!doc)
        return;
    for (struct chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc);
}

const struct json_value *json_root(const struct json_doc *doc)
{
    return &doc->root;
}

const char *json_type_name(enum json_type t)
{
    switch (t) {
    case JSON_NULL:
        return "null";
    case JSON_FALSE:
    case JSON_TRUE:
        return "boolean";
    case JSON_NUMBER:
        return "number";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "array";
    default:
        return "object";
    }
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = obj->obj.n; i-- > 0;) {
        const struct json_member *m = &obj->obj.members[i];
        if (m->key_len == len && memcmp(m->key, key, len) == 0)
            return &m->value;
    }
    return NULL;
}

static int fail_at(struct parser *ps, const char *at, const char *what)
{
    make_status(ps->err, STATUS_INVALID_ARGUMENT, 0, "JSON: %s at byte %zu", what,
                (size_t)(at - ps->start));
    return -EINVAL;
}

static int fail_char(struct parser *ps, const char *what)
{
    unsigned char c = ps->p < ps->end ? (unsigned char)*ps->p : 0;
    char msg[96];
    if (ps->p >= ps->end)
        snprintf(msg, sizeof(msg), "%s, found the end of the input", what);
    else if (c >= 0x20 && c < 0x7f)
        snprintf(msg, sizeof(msg), "%s, found '%c'", what, c);
    else
        snprintf(msg, sizeof(msg), "%s, found byte 0x%02x", what, c);
    return fail_at(ps, ps->p, msg);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One \uXXXX escape (a surrogate pair takes two) at *pp, which points at the backslash. */
static int unicode_escape(struct parser *ps, const char **pp, const char *end, unsigned *cp)
{
    const char *p = *pp;
    if (hex4(p + 2, end, cp) < 0)
        return fail_at(ps, p, "bad \\u escape (four hex digits expected)");
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return fail_at(ps, p, "unpaired low surrogate in \\u escape");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        unsigned lo;
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, end, &lo) < 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(ps, p, "unpaired high surrogate in \\u escape");
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    *pp = p + 6;
    return 0;
}

static int parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    const char *open = ps->p, *q = ps->p + 1;
    while (q < ps->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= ps->end)
        return fail_at(ps, open, "unterminated string");
    size_t raw = (size_t)(q - open - 1);
    char *buf = arena_alloc(ps->doc, raw + 1), *o = buf;
    for (const char *p = open + 1; p < q;) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return fail_at(ps, p, "control character in string (must be escaped)");
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)p, (size_t)(q - p));
            if (n == 0)
                return fail_at(ps, p, "invalid UTF-8 in string");
            memcpy(o, p, n);
            o += n;
            p += n;
            continue;
        }
        if (c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *e = p[1] ? strchr(from, p[1]) : NULL;
        if (e) {
            *o++ = to[e - from];
            p += 2;
        } else if (p[1] == 'u') {
            unsigned cp;
            int r = unicode_escape(ps, &p, q, &cp);
            if (r < 0)
                return r;
            o += put_utf8(o, cp);
        } else {
            return fail_at(ps, p, "unknown escape in string");
        }
    }
    *o = '\0';
    *out = buf;
    *out_len = (size_t)(o - buf);
    arena_trim(ps->doc, buf, raw + 1, *out_len + 1);
    ps->p = q + 1;
    return 0;
}

static int parse_number(struct parser *ps, struct json_value *v)
{
    const char *s = ps->p, *p = s, *end = ps->end;
    bool integer = true;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9') {
        ps->p = p;
        return fail_char(ps, "digit expected in number");
    }
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        integer = false;
        if (++p >= end || *p < '0' || *p > '9') {
            ps->p = p;
            return fail_char(ps, "digit expected after '.' in number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integer = false;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            ps->p = p;
            return fail_char(ps, "digit expected in exponent");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t len = (size_t)(p - s);
    if (len > MAX_NUMBER_LEN)
        return fail_at(ps, s, "number literal too long");
    char buf[MAX_NUMBER_LEN + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    v->type = JSON_NUMBER;
    v->num_flags = 0;
    errno = 0;
    v->num.d = strtod(buf, NULL);
    if (isinf(v->num.d))
        return fail_at(ps, s, "number out of range");
    if (integer) {
        v->num_flags |= JSON_NUM_INTEGER;
        errno = 0;
        v->num.i = strtoll(buf, NULL, 10);
        if (errno == 0)
            v->num_flags |= JSON_NUM_INT64;
        errno = 0;
        v->num.u = buf[0] == '-' ? 0 : strtoull(buf, NULL, 10);
        if (errno == 0 && buf[0] != '-')
            v->num_flags |= JSON_NUM_UINT64;
    }
    ps->p = p;
    return 0;
}

static void push(struct parser *ps, const struct json_member *m)
{
    if (ps->top == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 64;
        ps->stack = xrealloc(ps->stack, ps->cap * sizeof(*ps->stack));
    }
    ps->stack[ps->top++] = *m;
}

static int parse_value(struct parser *ps, struct json_value *v);

/* Parses the members (or items) of the container opened at ps->p, up to `close`. */
static int parse_container(struct parser *ps, struct json_value *v, bool object)
{
    const char close = object ? '}' : ']';
    if (++ps->depth > ps->max_depth) {
        make_status(ps->err, STATUS_INVALID_ARGUMENT, 0,
                    "JSON: nesting deeper than %u levels at byte %zu", ps->max_depth,
                    (size_t)(ps->p - ps->start));
        return -E2BIG;
    }
    size_t base = ps->top;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
    } else {
        for (;;) {
            struct json_member m = {0};
            skip_ws(ps);
            if (object) {
                if (ps->p >= ps->end || *ps->p != '"')
                    return fail_char(ps, "object key (a string) expected");
                int r = parse_string(ps, &m.key, &m.key_len);
                if (r < 0)
                    return r;
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':')
                    return fail_char(ps, "':' expected after object key");
                ps->p++;
            }
            int r = parse_value(ps, &m.value);
            if (r < 0)
                return r;
            push(ps, &m);
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                break;
            }
            return fail_char(ps, object ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
    size_t n = ps->top - base;
    if (object) {
        struct json_member *members = arena_alloc(ps->doc, n * sizeof(*members));
        if (n)
            memcpy(members, ps->stack + base, n * sizeof(*members));
        v->type = JSON_OBJECT;
        v->obj.members = members;
        v->obj.n = n;
    } else {
        struct json_value *items = arena_alloc(ps->doc, n * sizeof(*items));
        for (size_t i = 0; i < n; i++)
            items[i] = ps->stack[base + i].value;
        v->type = JSON_ARRAY;
        v->arr.items = items;
        v->arr.n = n;
    }
    ps->top = base;
    ps->depth--;
    return 0;
}

static bool literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static int parse_value(struct parser *ps, struct json_value *v)
{
    skip_ws(ps);
    v->offset = (size_t)(ps->p - ps->start);
    if (ps->p >= ps->end)
        return fail_char(ps, "value expected");
    switch (*ps->p) {
    case '{':
        return parse_container(ps, v, true);
    case '[':
        return parse_container(ps, v, false);
    case '"':
        v->type = JSON_STRING;
        return parse_string(ps, &v->str.s, &v->str.len);
    case 't':
    case 'f':
    case 'n':
        if (literal(ps, "true"))
            v->type = JSON_TRUE;
        else if (literal(ps, "false"))
            v->type = JSON_FALSE;
        else if (literal(ps, "null"))
            v->type = JSON_NULL;
        else
            return fail_char(ps, "value expected");
        return 0;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, v);
        return fail_char(ps, "value expected");
    }
}

int json_parse(const char *text, size_t len, const struct json_limits *limits,
               struct json_doc **ret, struct kerr **err)
{
    size_t max_size = limits ? limits->max_size : JSON_DEFAULT_MAX_SIZE;
    unsigned max_depth = limits ? limits->max_depth : JSON_DEFAULT_MAX_DEPTH;
    if (len > max_size) {
        make_status(err, STATUS_INVALID_ARGUMENT, 0, "JSON: %zu bytes, over the limit of %zu", len,
                    max_size);
        return -E2BIG;
    }
    struct parser ps = {
        .start = text, .p = text, .end = text + len, .max_depth = max_depth, .err = err};
    ps.doc = xcalloc(1, sizeof(*ps.doc));
    int r = parse_value(&ps, &ps.doc->root);
    if (r == 0) {
        skip_ws(&ps);
        if (ps.p < ps.end)
            r = fail_char(&ps, "end of input expected after the JSON value");
    }
    free(ps.stack);
    if (r < 0) {
        json_free(ps.doc);
        return r;
    }
    *ret = ps.doc;
    return 0;
}
