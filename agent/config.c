#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel.h"
#include "cleanup.h"
#include "log.h"
#include "ttrpc.h"
#include "xalloc.h"

#define NS_PER_SEC 1000000000LL

void config_init(struct agent_config *c)
{
    *c = (struct agent_config){
        .server_addr = xstrdup(KATA_AGENT_DEFAULT_ADDR),
        .log_level = LOG_INFO,
        .hotplug_timeout_ns = 3 * NS_PER_SEC,
        .cdh_api_timeout_ns = 50 * NS_PER_SEC,
        .image_pull_timeout_ns = 1200 * NS_PER_SEC,
        .cdi_timeout_ns = 100 * NS_PER_SEC,
        .launch_process_timeout_ns = 6 * NS_PER_SEC,
        .guest_components_rest_api = GC_REST_API_RESOURCE,
        .guest_components_procs = GC_PROCS_API_SERVER_REST,
        .secure_storage_integrity = true,
    };
}

void config_free(struct agent_config *c)
{
    free(c->server_addr);
    free(c->https_proxy);
    free(c->no_proxy);
    free(c->config_file);
    free(c->unknown);
    c->server_addr = c->https_proxy = c->no_proxy = c->config_file = c->unknown = NULL;
}

/* ------------------------------------------------------------ value rules */

/* Decimal as Rust's integer parsing takes it: an optional sign ('-' only when signed), digits,
 * nothing else. */
static bool parse_decimal(const char *s, bool is_signed, long long min, unsigned long long max,
                          long long *ret_signed, unsigned long long *ret_unsigned)
{
    bool neg = false;
    if (*s == '+' || (*s == '-' && is_signed)) {
        neg = *s == '-';
        s++;
    }
    if (!*s)
        return false;
    unsigned long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1 || -(long double)v < (long double)min)
            return false;
        *ret_signed = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
        return true;
    }
    if (v > max)
        return false;
    if (ret_unsigned)
        *ret_unsigned = v;
    if (ret_signed)
        *ret_signed = (long long)v;
    return true;
}

static bool parse_i32(const char *s, int *ret)
{
    long long v;
    if (!parse_decimal(s, true, INT_MIN, INT_MAX, &v, NULL))
        return false;
    *ret = (int)v;
    return true;
}

static bool parse_u64(const char *s, unsigned long long *ret)
{
    return parse_decimal(s, false, 0, UINT64_MAX, NULL, ret);
}

/* Upstream's level names (logrus' plus trace), matched case-sensitively; -1 if unknown. */
static int level_of(const char *v)
{
    if (strspn(v, "abcdefghijklmnopqrstuvwxyz") != strlen(v))
        return -1;
    return log_parse_level(v);
}

/* Upstream's get_bool_value: exactly one '=', then true/false, else an unsigned integer
 * (nonzero = true); anything malformed is false, never an error. */
static bool bool_value(const char *value)
{
    if (strchr(value, '='))
        return false;
    if (strcmp(value, "true") == 0)
        return true;
    if (strcmp(value, "false") == 0)
        return false;
    unsigned long long v;
    return parse_u64(value, &v) && v != 0;
}

/* What Rust's url parser insists on: a scheme, and a host for the schemes that have one. */
static bool url_valid(const char *v)
{
    const char *p = v;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':')
        return false;
    size_t scheme_len = (size_t)(p - v);
    static const char *const special[] = {"http", "https", "ws", "wss", "ftp"};
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        if (scheme_len == strlen(special[i]) && strncasecmp(v, special[i], scheme_len) == 0) {
            const char *host = p + 1;
            while (*host == '/')
                host++;
            const char *at = strpbrk(host, "@/?#");
            if (at && *at == '@')
                host = at + 1;
            return *host && *host != '/' && *host != ':' && *host != '?' && *host != '#';
        }
    }
    return true;
}

/* ------------------------------------------------------------ the parameters */

enum kind {
    K_FLAG,      /* bare token sets a bool */
    K_BOOL,      /* key=bool (get_bool_value) */
    K_LOG,       /* key=level */
    K_STRING,    /* key=value, value non-empty, may contain '=' */
    K_URL,       /* K_STRING that must be a URL */
    K_TIMEOUT,   /* key=seconds (u64), 0 keeps the previous value */
    K_PORT,      /* key=i32, <= 0 keeps the previous value */
    K_PIPE_SIZE, /* key=i32 >= 0 */
    K_NO_V1,     /* key=string, only "all" counts */
    K_REST_API,  /* key=all|attestation|resource */
    K_PROCS,     /* key=none|attestation-agent|confidential-data-hub|api-server-rest */
    K_CONFIG_FILE,
    /* Sub-options of agent.mem_agent_enable: checked by type, only once it is enabled. */
    K_MEM_BOOL,
    K_MEM_U8,
    K_MEM_U64,
    K_MEM_I64,
};

struct param {
    const char *key;
    enum kind kind;
    size_t off;
};

#define F(field) offsetof(struct agent_config, field)
static const struct param params[] = {
    {"agent.config_file", K_CONFIG_FILE, F(config_file)},
    {"agent.debug_console", K_FLAG, F(debug_console)},
    {"agent.devmode", K_FLAG, F(devmode)},
    {"agent.trace", K_FLAG, F(tracing)},
    {"agent.trace", K_BOOL, F(tracing)},
    {"agent.log", K_LOG, F(log_level)},
    {"agent.server_addr", K_STRING, F(server_addr)},
    {"agent.hotplug_timeout", K_TIMEOUT, F(hotplug_timeout_ns)},
    {"agent.cdh_api_timeout", K_TIMEOUT, F(cdh_api_timeout_ns)},
    {"agent.image_pull_timeout", K_TIMEOUT, F(image_pull_timeout_ns)},
    {"agent.cdi_timeout", K_TIMEOUT, F(cdi_timeout_ns)},
    {"agent.launch_process_timeout", K_TIMEOUT, F(launch_process_timeout_ns)},
    {"agent.visible_cdi_devices", K_BOOL, F(visible_cdi_devices)},
    {"agent.debug_console_vport", K_PORT, F(debug_console_vport)},
    {"agent.log_vport", K_PORT, F(log_vport)},
    {"agent.passfd_listener_port", K_PORT, F(passfd_listener_port)},
    {"agent.container_pipe_size", K_PIPE_SIZE, F(container_pipe_size)},
    {"cgroup_no_v1", K_NO_V1, F(cgroup_no_v1_all)},
    {"systemd.unified_cgroup_hierarchy", K_BOOL, F(unified_cgroup_hierarchy)},
    {"agent.https_proxy", K_URL, F(https_proxy)},
    {"agent.no_proxy", K_STRING, F(no_proxy)},
    {"agent.guest_components_rest_api", K_REST_API, F(guest_components_rest_api)},
    {"agent.guest_components_procs", K_PROCS, F(guest_components_procs)},
    {"agent.secure_storage_integrity", K_BOOL, F(secure_storage_integrity)},
    {"agent.mem_agent_enable", K_BOOL, F(mem_agent_enable)},
    {"agent.mem_agent_memcg_disable", K_MEM_BOOL, 0},
    {"agent.mem_agent_memcg_swap", K_MEM_BOOL, 0},
    {"agent.mem_agent_memcg_swappiness_max", K_MEM_U8, 0},
    {"agent.mem_agent_memcg_period_secs", K_MEM_U64, 0},
    {"agent.mem_agent_memcg_period_psi_percent_limit", K_MEM_U8, 0},
    {"agent.mem_agent_memcg_eviction_psi_percent_limit", K_MEM_U8, 0},
    {"agent.mem_agent_memcg_eviction_run_aging_count_min", K_MEM_U64, 0},
    {"agent.mem_agent_compact_disable", K_MEM_BOOL, 0},
    {"agent.mem_agent_compact_period_secs", K_MEM_U64, 0},
    {"agent.mem_agent_compact_period_psi_percent_limit", K_MEM_U8, 0},
    {"agent.mem_agent_compact_psi_percent_limit", K_MEM_U8, 0},
    {"agent.mem_agent_compact_sec_max", K_MEM_I64, 0},
    {"agent.mem_agent_compact_order", K_MEM_U8, 0},
    {"agent.mem_agent_compact_threshold", K_MEM_U64, 0},
    {"agent.mem_agent_compact_force_times", K_MEM_U64, 0},
};
#undef F

static const char *const rest_api_names[] = {
    [GC_REST_API_ALL] = "all",
    [GC_REST_API_ATTESTATION] = "attestation",
    [GC_REST_API_RESOURCE] = "resource",
};
static const char *const procs_names[] = {
    [GC_PROCS_NONE] = "none",
    [GC_PROCS_ATTESTATION_AGENT] = "attestation-agent",
    [GC_PROCS_CONFIDENTIAL_DATA_HUB] = "confidential-data-hub",
    [GC_PROCS_API_SERVER_REST] = "api-server-rest",
};

static int name_index(const char *const *names, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], v) == 0)
            return (int)i;
    return -1;
}

/* A list of words or messages joined by a separator, grown in place: a command line of a
 * few thousand bad or unknown tokens must not be copied once per token. */
struct joined {
    char *text;
    size_t len, cap;
};

static void joined_add(struct joined *j, const char *sep, const char *piece)
{
    size_t seplen = j->len ? strlen(sep) : 0, n = strlen(piece);
    if (j->len + seplen + n + 1 > j->cap) {
        j->cap = (j->len + seplen + n + 1) * 2;
        j->text = xrealloc(j->text, j->cap);
    }
    memcpy(j->text + j->len, sep, seplen);
    memcpy(j->text + j->len + seplen, piece, n + 1);
    j->len += seplen + n;
}

/* Problems found so far, "; " separated. */
struct problems {
    struct joined text;
};

static void __attribute__((format(printf, 2, 3))) problem(struct problems *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    joined_add(&p->text, "; ", msg);
}

static int problems_done(struct problems *p, struct kerr **err)
{
    if (!p->text.text)
        return 0;
    cleanup_free char *text = steal_ptr(p->text.text);
    return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "%s", text);
}

static void set_string(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

/* Applies token (which matched pr) to c; a value that breaks the rules is a problem and
 * leaves the field alone. */
static void apply(struct agent_config *c, const struct param *pr, const char *token,
                  struct problems *p)
{
    void *field = (char *)c + pr->off;
    if (pr->kind == K_FLAG) {
        *(bool *)field = true;
        return;
    }
    const char *v = token + strlen(pr->key) + 1;
    /* Most rules split on '=' and want exactly two fields. */
    bool one_eq = strchr(v, '=') == NULL;

    switch (pr->kind) {
    case K_FLAG:
        break;
    case K_BOOL:
        *(bool *)field = bool_value(v);
        break;
    case K_LOG: {
        int lvl = one_eq ? level_of(v) : -1;
        if (lvl < 0)
            problem(p, "%s: invalid log level '%s'", pr->key, v);
        else
            *(int *)field = lvl;
        break;
    }
    case K_CONFIG_FILE:
        break; /* config_parse_cmdline's */
    case K_STRING:
    case K_URL:
        if (!*v)
            problem(p, "%s: missing value", pr->key);
        else if (pr->kind == K_URL && !url_valid(v))
            problem(p, "%s: '%s' is not a URL", pr->key, v);
        else
            set_string(field, v);
        break;
    case K_TIMEOUT: {
        unsigned long long s;
        if (!one_eq || !parse_u64(v, &s))
            problem(p, "%s: '%s' is not a number of seconds", pr->key, v);
        else if (s > 0)
            *(int64_t *)field = s > (unsigned long long)(INT64_MAX / NS_PER_SEC)
                                    ? INT64_MAX
                                    : (int64_t)s * NS_PER_SEC;
        break;
    }
    case K_PORT:
    case K_PIPE_SIZE: {
        int n;
        if (!one_eq || !parse_i32(v, &n))
            problem(p, "%s: '%s' is not a 32-bit integer", pr->key, v);
        else if (pr->kind == K_PIPE_SIZE && n < 0)
            problem(p, "%s: a pipe size cannot be negative (%d)", pr->key, n);
        else if (pr->kind == K_PIPE_SIZE || n > 0)
            *(int *)field = n;
        break;
    }
    case K_NO_V1:
        if (!*v)
            problem(p, "%s: missing value", pr->key);
        else if (strcmp(v, "all") == 0)
            *(bool *)field = true;
        break;
    case K_REST_API:
    case K_PROCS: {
        bool api = pr->kind == K_REST_API;
        int i = api ? name_index(rest_api_names, 3, v) : name_index(procs_names, 4, v);
        if (i < 0)
            problem(p, "%s: '%s' is not one of %s", pr->key, v,
                    api ? "all, attestation, resource"
                        : "none, attestation-agent, confidential-data-hub, api-server-rest");
        else
            *(int *)field = i;
        break;
    }
    case K_MEM_BOOL:
    case K_MEM_U8:
    case K_MEM_U64:
    case K_MEM_I64: {
        long long sv;
        unsigned long long uv;
        bool ok =
            one_eq &&
            (pr->kind == K_MEM_BOOL  ? strcmp(v, "true") == 0 || strcmp(v, "false") == 0
             : pr->kind == K_MEM_U8  ? parse_decimal(v, false, 0, UINT8_MAX, NULL, &uv)
             : pr->kind == K_MEM_U64 ? parse_u64(v, &uv)
                                     : parse_decimal(v, true, LLONG_MIN, LLONG_MAX, &sv, NULL));
        if (!ok)
            problem(p, "%s: invalid value '%s'", pr->key, v);
        break;
    }
    }
}

static const struct param *match(const struct agent_config *c, const char *token)
{
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const struct param *pr = &params[i];
        size_t n = strlen(pr->key);
        if (pr->kind == K_FLAG ? strcmp(token, pr->key) == 0
                               : strncmp(token, pr->key, n) == 0 && token[n] == '=') {
            /* upstream looks at the memory agent's options only after agent.mem_agent_enable */
            if (pr->kind >= K_MEM_BOOL && !c->mem_agent_enable)
                return NULL;
            return pr;
        }
    }
    return NULL;
}

/* Upstream refuses to start when the file is missing or malformed; here that is a problem
 * like any other, and the command line goes on to apply. True once the file replaced c. */
static bool load_file(struct agent_config *c, const char *path, struct problems *p)
{
    struct agent_config f;
    cleanup_error struct kerr *err = NULL;
    config_init(&f);
    if (!*path || config_load_file(&f, path, &err) < 0) {
        problem(p, "agent.config_file: %s; the command line applies",
                err ? err->msg : "missing value");
        config_free(&f);
        return false;
    }
    f.config_file = xstrdup(path);
    config_free(c);
    *c = f;
    return true;
}

int config_parse_cmdline(struct agent_config *c, const char *cmdline, struct kerr **err)
{
    struct problems p = {0};
    /* Unknown agent.* tokens, for one log line; a config file replaces what came before it. */
    struct joined unknown = {0};
    if (c->unknown)
        joined_add(&unknown, "", c->unknown);
    const char *ws = " \t\n\r\f\v";
    /* Tokens are cut in place in one copy of the line rather than allocated one by one. */
    cleanup_free char *line = xstrdup(cmdline);
    for (char *s = line + strspn(line, ws); *s; s += strspn(s, ws)) {
        char *token = s;
        s += strcspn(s, ws);
        if (*s)
            *s++ = '\0';
        const struct param *pr = match(c, token);
        if (pr && pr->kind == K_CONFIG_FILE) {
            if (load_file(c, token + strlen(pr->key) + 1, &p)) {
                free(steal_ptr(unknown.text));
                unknown = (struct joined){0};
                break; /* upstream: the file replaces the whole command line */
            }
        } else if (pr)
            apply(c, pr, token, &p);
        else if (strncmp(token, "agent.", 6) == 0)
            joined_add(&unknown, " ", token);
    }
    free(c->unknown);
    c->unknown = steal_ptr(unknown.text);
    return problems_done(&p, err);
}

/* The environment config_apply_env reads, by index. */
enum { ENV_SERVER_ADDR, ENV_LOG_LEVEL, ENV_TRACING, ENV_COUNT };
static const char *const env_names[ENV_COUNT] = {
    [ENV_SERVER_ADDR] = "KATA_AGENT_SERVER_ADDR",
    [ENV_LOG_LEVEL] = "KATA_AGENT_LOG_LEVEL",
    [ENV_TRACING] = "KATA_AGENT_TRACING",
};

int config_apply_env(struct agent_config *c, struct kerr **err)
{
    struct problems p = {0};
    if (c->config_file)
        return 0;
    /* upstream takes any value, even empty; an empty address only fails later, so skip it */
    const char *v = getenv(env_names[ENV_SERVER_ADDR]);
    if (v && *v)
        set_string(&c->server_addr, v);
    v = getenv(env_names[ENV_LOG_LEVEL]);
    if (v) {
        int lvl = level_of(v);
        if (lvl < 0)
            problem(&p, "%s: invalid log level '%s'", env_names[ENV_LOG_LEVEL], v);
        else
            c->log_level = lvl;
    }
    v = getenv(env_names[ENV_TRACING]);
    if (v)
        c->tracing = bool_value(v);
    return problems_done(&p, err);
}

void config_list_parameters(FILE *out)
{
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        /* a key taken in two forms (agent.trace) has two adjacent entries */
        if (i == 0 || strcmp(params[i].key, params[i - 1].key) != 0)
            fprintf(out, "param %s\n", params[i].key);
    for (size_t i = 0; i < ENV_COUNT; i++)
        fprintf(out, "env %s\n", env_names[i]);
}
