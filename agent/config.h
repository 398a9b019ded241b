/* Agent configuration: defaults, then `agent.*` parameters of the kernel command line, then
 * environment overrides (KATA_AGENT_SERVER_ADDR, KATA_AGENT_LOG_LEVEL), as upstream does. */
#pragma once
#include <stdbool.h>

#include "error.h"

struct agent_config {
    char *server_addr;
    int log_level;           /* enum log_level */
    int hotplug_timeout;     /* seconds */
    int container_pipe_size; /* 0 = kernel default */
    bool debug_console;      /* accepted, not supported: warned about */
    bool devmode;
    /* Parameters we recognise but do not act on, for the announce/warning. */
    char *ignored;
};

void config_init(struct agent_config *c);
void config_free(struct agent_config *c);
/* Parses a kernel command line. Unknown parameters are ignored; a value that does not parse
 * (log level, number) is an error, like upstream. */
int config_parse_cmdline(struct agent_config *c, const char *cmdline, struct kerr **err);
/* Applies the environment overrides. */
int config_apply_env(struct agent_config *c, struct kerr **err);
