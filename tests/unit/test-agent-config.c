/* Unit tests of the agent's configuration: kernel command line and environment (TAP). */
#include "tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "log.h"

static int parse(struct agent_config *c, const char *cmdline)
{
    struct kerr *err = NULL;
    config_init(c);
    int r = config_parse_cmdline(c, cmdline, &err);
    error_free(err);
    return r;
}

int main(void)
{
    struct agent_config c;
    tap_plan(12);

    tap_ok(parse(&c, "") == 0 && strcmp(c.server_addr, "vsock://-1:1024") == 0 &&
               c.log_level == LOG_INFO && c.hotplug_timeout == 3,
           "defaults: vsock://-1:1024, info, hotplug_timeout 3");
    config_free(&c);

    tap_ok(parse(&c, "console=hvc0 agent.log=debug agent.server_addr=unix:///run/a.sock quiet") ==
                   0 &&
               c.log_level == LOG_DEBUG && strcmp(c.server_addr, "unix:///run/a.sock") == 0,
           "agent.log and agent.server_addr among other parameters");
    config_free(&c);

    tap_ok(parse(&c, "agent.log=bogus") < 0, "an unknown log level is an error");
    config_free(&c);

    tap_ok(parse(&c, "agent.hotplug_timeout=7 agent.container_pipe_size=65536") == 0 &&
               c.hotplug_timeout == 7 && c.container_pipe_size == 65536,
           "numeric parameters");
    config_free(&c);

    tap_ok(parse(&c, "agent.hotplug_timeout=0") == 0 && c.hotplug_timeout == 3,
           "a zero timeout keeps the default");
    config_free(&c);

    tap_ok(parse(&c, "agent.hotplug_timeout=abc") < 0, "an unparsable number is an error");
    config_free(&c);

    tap_ok(parse(&c, "agent.debug_console agent.devmode=1") == 0 && c.debug_console && c.devmode &&
               c.ignored && strstr(c.ignored, "debug_console"),
           "bare flags and integer booleans; debug_console noted as ignored");
    config_free(&c);

    tap_ok(parse(&c, "agent.devmode=false agent.unknown_thing=1 notagent.log=debug") == 0 &&
               !c.devmode && c.log_level == LOG_INFO,
           "unknown parameters are ignored");
    config_free(&c);

    tap_ok(parse(&c, "agent.log=warning\n") == 0 && c.log_level == LOG_WARN,
           "warning alias, trailing newline");
    config_free(&c);

    struct kerr *err = NULL;
    parse(&c, "agent.server_addr=vsock://-1:1024 agent.log=info");
    setenv("KATA_AGENT_SERVER_ADDR", "unix://@abstract", 1);
    setenv("KATA_AGENT_LOG_LEVEL", "trace", 1);
    tap_ok(config_apply_env(&c, &err) == 0 && strcmp(c.server_addr, "unix://@abstract") == 0 &&
               c.log_level == LOG_TRACE,
           "environment overrides the command line");
    config_free(&c);

    config_init(&c);
    setenv("KATA_AGENT_LOG_LEVEL", "nope", 1);
    tap_ok(config_apply_env(&c, &err) < 0 && err && err->msg,
           "a bad KATA_AGENT_LOG_LEVEL is an error with a message");
    error_free(err);
    config_free(&c);

    tap_ok(parse(&c, "agent.server_addr=") < 0, "an empty server address is an error");
    config_free(&c);
    return tap_done();
}
