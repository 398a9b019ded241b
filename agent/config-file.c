/* agent.config_file: upstream's TOML agent configuration (the keys of its AgentConfigBuilder,
 * e.g. `dev_mode = true`, `server_addr = 'vsock://-1:1024'`, `log_level = "debug"`,
 * `hotplug_timeout = { secs = 5, nanos = 0 }`). Only the part of TOML those keys need is read:
 * booleans, decimal integers, basic and literal strings, durations as serde writes them (an
 * inline table or a [key] table of secs and nanos, or [secs, nanos]); other keys and tables are
 * skipped as serde skips unknown fields, arrays included. As upstream, values in the file are
 * taken as given (no "> 0" rules), a wrong type or a bad level/name is an error. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "ttrpc.h"
#include "xalloc.h"

#define NS_PER_SEC 1000000000LL

enum ftype { F_BOOL, F_I32, F_STRING, F_LEVEL, F_DURATION, F_REST_API, F_PROCS };

struct fkey {
    const char *name;
    enum ftype type;
    size_t off;
};

#define F(field) offsetof(struct agent_config, field)
static const struct fkey keys[] = {
    {"debug_console", F_BOOL, F(debug_console)},
    {"dev_mode", F_BOOL, F(devmode)},
    {"log_level", F_LEVEL, F(log_level)},
    {"hotplug_timeout", F_DURATION, F(hotplug_timeout_ns)},
    {"cdh_api_timeout", F_DURATION, F(cdh_api_timeout_ns)},
    {"image_pull_timeout", F_DURATION, F(image_pull_timeout_ns)},
    {"cdi_timeout", F_DURATION, F(cdi_timeout_ns)},
    {"launch_process_timeout", F_DURATION, F(launch_process_timeout_ns)},
    {"visible_cdi_devices", F_BOOL, F(visible_cdi_devices)},
    {"debug_console_vport", F_I32, F(debug_console_vport)},
    {"log_vport", F_I32, F(log_vport)},
    {"container_pipe_size", F_I32, F(container_pipe_size)},
    {"server_addr", F_STRING, F(server_addr)},
    {"passfd_listener_port", F_I32, F(passfd_listener_port)},
    {"unified_cgroup_hierarchy", F_BOOL, F(unified_cgroup_hierarchy)},
    {"tracing", F_BOOL, F(tracing)},
    {"https_proxy", F_STRING, F(https_proxy)},
    {"no_proxy", F_STRING, F(no_proxy)},
    {"guest_components_rest_api", F_REST_API, F(guest_components_rest_api)},
    {"guest_components_procs", F_PROCS, F(guest_components_procs)},
    {"secure_storage_integrity", F_BOOL, F(secure_storage_integrity)},
    {"mem_agent_enable", F_BOOL, F(mem_agent_enable)},
};
#undef F

enum vtype { V_BOOL, V_INT, V_STRING, V_DURATION, V_OTHER };

struct value {
    enum vtype type;
    bool b;
    long long i;
    char *s;
    bool has_secs, has_nanos;
    long long secs, nanos;
};

struct parser {
    const char *p;
    int line;
    const char *path;
    struct kerr **err;
};

static int fail(struct parser *ps, const char *what)
{
    return make_status(ps->err, RPC_INVALID_ARGUMENT, EINVAL, "%s line %d: %s", ps->path, ps->line,
                       what);
}

/* Spaces and tabs; with nl, also newlines and comments. */
static void skip(struct parser *ps, bool nl)
{
    for (;;) {
        if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')
            ps->p++;
        else if (nl && *ps->p == '\n')
            ps->p++, ps->line++;
        else if (nl && *ps->p == '#')
            ps->p += strcspn(ps->p, "\n");
        else
            return;
    }
}

static int parse_string(struct parser *ps, char **ret)
{
    char q = *ps->p++;
    size_t cap = strlen(ps->p) + 1, n = 0;
    cleanup_free char *out = xmalloc(cap);
    for (; *ps->p != q; ps->p++) {
        if (!*ps->p || *ps->p == '\n')
            return fail(ps, "unterminated string");
        char c = *ps->p;
        if (q == '"' && c == '\\') {
            static const char from[] = "\"\\nt", to[] = "\"\\\n\t";
            const char *e = ps->p[1] ? strchr(from, ps->p[1]) : NULL;
            if (!e)
                return fail(ps, "unsupported escape in a string");
            c = to[e - from];
            ps->p++;
        }
        out[n++] = c;
    }
    ps->p++;
    out[n] = '\0';
    *ret = steal_ptr(out);
    return 0;
}

static int parse_value(struct parser *ps, struct value *v);

/* A bare key and its '=': *ret gets the key, the parser stands at the value. */
static int parse_key(struct parser *ps, char **ret)
{
    size_t n = strspn(ps->p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (n == 0)
        return fail(ps, "expected a key");
    *ret = xstrndup(ps->p, n);
    ps->p += n;
    skip(ps, false);
    if (*ps->p++ != '=')
        return fail(ps, "expected '=' after a key");
    skip(ps, false);
    return 0;
}

static int parse_int(struct parser *ps, long long *ret)
{
    char digits[32];
    size_t n = 0;
    if (*ps->p == '+' || *ps->p == '-')
        digits[n++] = *ps->p++;
    for (; (*ps->p >= '0' && *ps->p <= '9') || *ps->p == '_'; ps->p++)
        if (*ps->p != '_' && n < sizeof(digits) - 1)
            digits[n++] = *ps->p;
    digits[n] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(digits, &end, 10);
    if (errno || end == digits || *end || strchr(".eE", *ps->p))
        return fail(ps, "not an integer");
    *ret = x;
    return 0;
}

/* Arrays and inline tables: read (so the parse goes on after them); a table or array of secs
 * and nanos is a duration. */
static int parse_compound(struct parser *ps, struct value *v)
{
    bool table = *ps->p++ == '{';
    char close = table ? '}' : ']';
    v->type = V_OTHER;
    for (int idx = 0;; idx++) {
        skip(ps, !table);
        if (*ps->p == close) {
            ps->p++;
            break;
        }
        cleanup_free char *key = NULL;
        if (table) {
            int r = parse_key(ps, &key);
            if (r < 0)
                return r;
        }
        struct value item = {0};
        int r = parse_value(ps, &item);
        free(item.s);
        if (r < 0)
            return r;
        if (item.type == V_INT) {
            bool secs = table ? strcmp(key, "secs") == 0 : idx == 0;
            bool nanos = table ? strcmp(key, "nanos") == 0 : idx == 1;
            if (secs)
                v->secs = item.i, v->has_secs = true;
            if (nanos)
                v->nanos = item.i, v->has_nanos = true;
        }
        skip(ps, !table);
        if (*ps->p == ',')
            ps->p++;
        else if (*ps->p != close)
            return fail(ps, table ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (v->has_secs && v->has_nanos)
        v->type = V_DURATION;
    return 0;
}

static int parse_value(struct parser *ps, struct value *v)
{
    const char *p = ps->p;
    if (*p == '"' || *p == '\'') {
        v->type = V_STRING;
        return parse_string(ps, &v->s);
    }
    if (*p == '[' || *p == '{')
        return parse_compound(ps, v);
    size_t word = strspn(p, "abcdefghijklmnopqrstuvwxyz");
    if ((word == 4 && strncmp(p, "true", 4) == 0) || (word == 5 && strncmp(p, "false", 5) == 0)) {
        v->type = V_BOOL;
        v->b = word == 4;
        ps->p += word;
        return 0;
    }
    v->type = V_INT;
    return parse_int(ps, &v->i);
}

static int assign(struct parser *ps, struct agent_config *c, const struct fkey *k, struct value *v)
{
    void *field = (char *)c + k->off;
    static const char *const rest_api[] = {"all", "attestation", "resource"};
    static const char *const procs[] = {"none", "attestation-agent", "confidential-data-hub",
                                        "api-server-rest"};
    cleanup_free char *msg = NULL;
    switch (k->type) {
    case F_BOOL:
        if (v->type != V_BOOL)
            break;
        *(bool *)field = v->b;
        return 0;
    case F_I32:
        if (v->type != V_INT)
            break;
        if (v->i < INT_MIN || v->i > INT_MAX)
            return fail(ps, msg = xasprintf("%s: out of range for a 32-bit integer", k->name));
        *(int *)field = (int)v->i;
        return 0;
    case F_DURATION:
        if (v->type != V_DURATION)
            break;
        if (v->secs < 0 || v->nanos < 0 || v->nanos >= NS_PER_SEC)
            return fail(ps, msg = xasprintf("%s: invalid duration", k->name));
        *(int64_t *)field = v->secs > (INT64_MAX - v->nanos) / NS_PER_SEC
                                ? INT64_MAX
                                : v->secs * NS_PER_SEC + v->nanos;
        return 0;
    case F_STRING:
        if (v->type != V_STRING)
            break;
        free(*(char **)field);
        *(char **)field = steal_ptr(v->s);
        return 0;
    case F_LEVEL: {
        int lvl = v->type == V_STRING && strspn(v->s, "abcdefghijklmnopqrstuvwxyz") == strlen(v->s)
                      ? log_parse_level(v->s)
                      : -1;
        if (v->type == V_STRING && lvl < 0)
            return fail(ps, msg = xasprintf("%s: invalid log level '%s'", k->name, v->s));
        if (v->type != V_STRING)
            break;
        *(int *)field = lvl;
        return 0;
    }
    case F_REST_API:
    case F_PROCS: {
        if (v->type != V_STRING)
            break;
        const char *const *names = k->type == F_REST_API ? rest_api : procs;
        size_t n = k->type == F_REST_API ? 3 : 4;
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], v->s) == 0) {
                *(int *)field = (int)i;
                return 0;
            }
        return fail(ps, msg = xasprintf("%s: unknown value '%s'", k->name, v->s));
    }
    }
    return fail(ps, msg = xasprintf("%s: wrong type", k->name));
}

static const struct fkey *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int parse_document(struct parser *ps, struct agent_config *c)
{
    /* The [table] we are in: a duration key gathers its secs and nanos, others are skipped. */
    cleanup_free char *table = NULL;
    struct value tv = {0};
    for (;;) {
        skip(ps, true);
        if (!*ps->p)
            break;
        cleanup_free char *key = NULL;
        if (*ps->p == '[') {
            const struct fkey *k = table ? find_key(table) : NULL;
            if (k && k->type == F_DURATION) {
                tv.type = tv.has_secs && tv.has_nanos ? V_DURATION : V_OTHER;
                int r = assign(ps, c, k, &tv);
                if (r < 0)
                    return r;
            }
            ps->p++;
            size_t n = strcspn(ps->p, "]\n");
            if (ps->p[n] != ']')
                return fail(ps, "unterminated table header");
            free(table);
            table = xstrndup(ps->p, n);
            tv = (struct value){0};
            ps->p += n + 1;
        } else {
            struct value v = {0};
            int r = parse_key(ps, &key);
            if (r == 0)
                r = parse_value(ps, &v);
            if (r == 0 && !table) {
                const struct fkey *k = find_key(key);
                if (k)
                    r = assign(ps, c, k, &v);
            } else if (r == 0 && v.type == V_INT && strcmp(key, "secs") == 0) {
                tv.secs = v.i, tv.has_secs = true;
            } else if (r == 0 && v.type == V_INT && strcmp(key, "nanos") == 0) {
                tv.nanos = v.i, tv.has_nanos = true;
            }
            free(v.s);
            if (r < 0)
                return r;
        }
        skip(ps, false);
        if (*ps->p && *ps->p != '\n' && *ps->p != '#')
            return fail(ps, "unexpected text after a value");
    }
    const struct fkey *k = table ? find_key(table) : NULL;
    if (k && k->type == F_DURATION) {
        tv.type = tv.has_secs && tv.has_nanos ? V_DURATION : V_OTHER;
        return assign(ps, c, k, &tv);
    }
    return 0;
}

int config_load_file(struct agent_config *c, const char *path, struct kerr **err)
{
    cleanup_free char *text = NULL;
    int r = read_file(path, &text, err);
    if (r < 0)
        return r;
    return config_parse_toml(c, text, path, err);
}

int config_parse_toml(struct agent_config *c, const char *text, const char *name, struct kerr **err)
{
    struct parser ps = {.p = text, .line = 1, .path = name, .err = err};
    return parse_document(&ps, c);
}
