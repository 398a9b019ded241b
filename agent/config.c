#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "log.h"
#include "ttrpc.h"
#include "xalloc.h"

void config_init(struct agent_config *c)
{
    *c = (struct agent_config){
        .server_addr = xstrdup(KATA_AGENT_DEFAULT_ADDR),
        .log_level = LOG_INFO,
        .hotplug_timeout = 3,
    };
}

void config_free(struct agent_config *c)
{
    free(c->server_addr);
    free(c->ignored);
    c->server_addr = c->ignored = NULL;
}

static int parse_int(const char *key, const char *val, int *ret, struct kerr **err)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < INT_MIN || v > INT_MAX)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "invalid value %s for %s", val, key);
    *ret = (int)v;
    return 0;
}

static int parse_bool(const char *key, const char *val, bool *ret, struct kerr **err)
{
    if (!val || strcmp(val, "true") == 0) {
        *ret = true;
        return 0;
    }
    if (strcmp(val, "false") == 0) {
        *ret = false;
        return 0;
    }
    int v;
    if (parse_int(key, val, &v, err) < 0)
        return -EINVAL;
    *ret = v != 0;
    return 0;
}

static void note_ignored(struct agent_config *c, const char *key)
{
    char *s = c->ignored ? xasprintf("%s,%s", c->ignored, key) : xstrdup(key);
    free(c->ignored);
    c->ignored = s;
}

static int apply_param(struct agent_config *c, const char *key, const char *val, struct kerr **err)
{
    if (strcmp(key, "log") == 0) {
        int lvl = val ? log_parse_level(val) : -1;
        if (lvl < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "invalid log level %s",
                               val ? val : "(none)");
        c->log_level = lvl;
    } else if (strcmp(key, "server_addr") == 0) {
        if (!val || !*val)
            return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "empty agent.server_addr");
        free(c->server_addr);
        c->server_addr = xstrdup(val);
    } else if (strcmp(key, "hotplug_timeout") == 0 || strcmp(key, "container_pipe_size") == 0) {
        int v;
        if (!val || parse_int(key, val, &v, err) < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "invalid value for agent.%s",
                               key);
        /* upstream silently keeps the default for 0 and negative values */
        if (v > 0) {
            if (key[0] == 'h')
                c->hotplug_timeout = v;
            else
                c->container_pipe_size = v;
        }
    } else if (strcmp(key, "debug_console") == 0) {
        if (parse_bool(key, val, &c->debug_console, err) < 0)
            return -EINVAL;
        if (c->debug_console)
            note_ignored(c, "debug_console");
    } else if (strcmp(key, "devmode") == 0) {
        return parse_bool(key, val, &c->devmode, err);
    } else if (strcmp(key, "trace") == 0 || strcmp(key, "log_vport") == 0 ||
               strcmp(key, "debug_console_vport") == 0 ||
               strcmp(key, "passfd_listener_port") == 0 || strcmp(key, "config_file") == 0) {
        note_ignored(c, key);
    }
    return 0;
}

int config_parse_cmdline(struct agent_config *c, const char *cmdline, struct kerr **err)
{
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n')
            end++;
        if (end > p && strncmp(p, "agent.", 6) == 0) {
            char *word = xstrndup(p + 6, (size_t)(end - p - 6));
            char *eq = strchr(word, '=');
            if (eq)
                *eq = '\0';
            int r = apply_param(c, word, eq ? eq + 1 : NULL, err);
            free(word);
            if (r < 0)
                return r;
        }
        p = end;
    }
    return 0;
}

int config_apply_env(struct agent_config *c, struct kerr **err)
{
    const char *v = getenv("KATA_AGENT_SERVER_ADDR");
    if (v && *v) {
        free(c->server_addr);
        c->server_addr = xstrdup(v);
    }
    v = getenv("KATA_AGENT_LOG_LEVEL");
    if (v && *v) {
        int lvl = log_parse_level(v);
        if (lvl < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "invalid KATA_AGENT_LOG_LEVEL %s",
                               v);
        c->log_level = lvl;
    }
    return 0;
}
