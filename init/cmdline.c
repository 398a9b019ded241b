#include "cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "protocol/channel.h"
#include "strv.h"
#include "xalloc.h"

#define AGENT_PARAM "kata.agent"
#define DEBUG_PARAM "kata.init_debug"
#define CGROUP_PARAM "systemd.unified_cgroup_hierarchy"
#define DEFER_PARAM "kata.init_defer_setup"
#define NO_V1_PARAM "cgroup_no_v1"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The kernel drops one quote before and one after a value ("key=\"a b\"" gives "a b"), and
 * the surrounding pair when the whole parameter is quoted; inner quotes stay. */
static char *unquote(const char *start, size_t len)
{
    if (len > 0 && start[0] == '"') {
        start++;
        len--;
        if (len > 0 && start[len - 1] == '"')
            len--;
    }
    return xstrndup(start, len);
}

int cmdline_next(const char **cursor, char **ret_key, char **ret_value)
{
    const char *p = *cursor;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0') {
            *cursor = p;
            return 0;
        }
        const char *start = p;
        bool quoted = false;
        while (*p && (quoted || !is_blank(*p))) {
            if (*p == '"')
                quoted = !quoted;
            p++;
        }
        size_t len = (size_t)(p - start);
        if (len == 2 && memcmp(start, "--", 2) == 0) {
            *cursor = start + len;
            return 0;
        }
        /* A parameter quoted as a whole: "key=a b". */
        const char *tok = start;
        size_t toklen = len;
        if (tok[0] == '"') {
            tok++;
            toklen--;
            if (toklen > 0 && tok[toklen - 1] == '"')
                toklen--;
        }
        if (toklen == 0)
            continue;
        const char *eq = memchr(tok, '=', toklen);
        *cursor = p;
        if (eq == NULL) {
            *ret_key = xstrndup(tok, toklen);
            *ret_value = NULL;
        } else {
            *ret_key = xstrndup(tok, (size_t)(eq - tok));
            *ret_value = unquote(eq + 1, toklen - (size_t)(eq + 1 - tok));
        }
        return 1;
    }
}

/* values[i] gets the value of the last keys[i] on the line ("" for a bare flag) or stays
 * NULL; one pass however many keys (init reads its parameters before the agent starts, where
 * every millisecond of TCG time counts). */
static void cmdline_collect(const char *text, const char *const keys[], char *values[], size_t n)
{
    const char *cursor = text;
    char *k, *v;
    while (cmdline_next(&cursor, &k, &v) > 0) {
        size_t i = 0;
        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        if (i < n) {
            free(values[i]);
            values[i] = v ? v : xstrdup("");
        } else {
            free(v);
        }
        free(k);
    }
}

char *cmdline_get(const char *text, const char *key)
{
    char *found = NULL;
    cmdline_collect(text, &key, &found, 1);
    return found;
}

int cmdline_parse_bool(const char *value, bool *ret)
{
    static const char *const truths[] = {"", "1", "true", "yes", "on", "y"};
    static const char *const lies[] = {"0", "false", "no", "off", "n"};
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++)
        if (strcasecmp(value, truths[i]) == 0)
            return *ret = true, 0;
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++)
        if (strcasecmp(value, lies[i]) == 0)
            return *ret = false, 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0')
        return -EINVAL;
    *ret = n != 0;
    return 0;
}

char **cmdline_split_words(const char *value)
{
    size_t n = 0;
    char **words = xcalloc(1, sizeof(char *));
    const char *p = value;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p && !is_blank(*p))
            p++;
        words = xrealloc(words, (n + 2) * sizeof(char *));
        words[n++] = xstrndup(start, (size_t)(p - start));
        words[n] = NULL;
    }
    if (n == 0) {
        free(words);
        return NULL;
    }
    return words;
}

enum { P_DEBUG, P_CGROUP, P_NO_V1, P_DEFER, P_AGENT, P_COUNT };
static const char *const keys[P_COUNT + 1] = {DEBUG_PARAM, CGROUP_PARAM, NO_V1_PARAM,
                                              DEFER_PARAM, AGENT_PARAM,  NULL};
const char *const *const init_config_keys = keys;

static void params_free(char *(*values)[P_COUNT])
{
    for (size_t i = 0; i < P_COUNT; i++)
        free((*values)[i]);
}

int init_config_parse(const char *text, struct init_config *ret, struct kerr **err)
{
    __attribute__((cleanup(params_free))) char *params[P_COUNT] = {0};
    cmdline_collect(text, keys, params, P_COUNT);
    bool debug = false, v1 = false;
    const char *debug_value = params[P_DEBUG];
    if (debug_value && cmdline_parse_bool(debug_value, &debug) < 0)
        return make_error(err, EINVAL, "%s=%s: not a boolean", DEBUG_PARAM, debug_value);

    /* Only an explicit "no" selects v1; a unified (v2) hierarchy is the default. As in
     * upstream's agent, cgroup_no_v1=all (which Kata's runtime passes along with
     * unified_cgroup_hierarchy=1) means v2 whatever the other says: the kernel would refuse
     * every v1 controller anyway. */
    const char *unified = params[P_CGROUP];
    bool unified_on = true;
    if (unified && cmdline_parse_bool(unified, &unified_on) < 0)
        return make_error(err, EINVAL, "%s=%s: not a boolean", CGROUP_PARAM, unified);
    bool no_v1 = params[P_NO_V1] && strcmp(params[P_NO_V1], "all") == 0;
    v1 = !unified_on && !no_v1;

    const char *defer_value = params[P_DEFER];
    bool defer = false;
    if (defer_value && cmdline_parse_bool(defer_value, &defer) < 0)
        return make_error(err, EINVAL, "%s=%s: not a boolean", DEFER_PARAM, defer_value);

    const char *agent = params[P_AGENT];
    char **argv = NULL;
    if (agent) {
        argv = cmdline_split_words(agent);
        if (argv == NULL)
            return make_error(err, EINVAL, "%s= is empty", AGENT_PARAM);
        if (argv[0][0] != '/') {
            strv_free(argv);
            return make_error(err, EINVAL, "%s=%s: the agent path must be absolute", AGENT_PARAM,
                              agent);
        }
    } else {
        argv = xcalloc(2, sizeof(char *));
        argv[0] = xstrdup(KATA_GUEST_AGENT_PATH);
    }
    ret->agent_argv = argv;
    ret->cgroup_v1 = v1;
    ret->debug = debug;
    ret->defer_setup = defer_value ? defer : agent == NULL;
    return 0;
}

void init_config_clear(struct init_config *c)
{
    strv_free(c->agent_argv);
    c->agent_argv = NULL;
}
