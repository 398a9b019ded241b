/* Unit tests of the agent's configuration: kernel command line and environment (TAP), with
 * upstream's rules (AG/config.rs) as the expectation. */
#include "tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "log.h"

#define S 1000000000LL

/* Parses cmdline into a fresh *c; returns the parse result, keeps the message in *msg. */
static int parse_msg(struct agent_config *c, const char *cmdline, char **msg)
{
    struct kerr *err = NULL;
    config_free(c); /* callers chain parses on one zeroed or freed struct */
    config_init(c);
    int r = config_parse_cmdline(c, cmdline, &err);
    if (msg)
        *msg = err && err->msg ? strdup(err->msg) : NULL;
    error_free(err);
    return r;
}

static int parse(struct agent_config *c, const char *cmdline)
{
    return parse_msg(c, cmdline, NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A single bad token: the call fails, the message names the key, the field keeps its default. */
static void bad(const char *cmdline, const char *key)
{
    struct agent_config c = {0}, d;
    char *msg = NULL;
    int r = parse_msg(&c, cmdline, &msg);
    config_init(&d);
    bool same = c.log_level == d.log_level && c.hotplug_timeout_ns == d.hotplug_timeout_ns &&
                c.container_pipe_size == d.container_pipe_size &&
                c.debug_console_vport == d.debug_console_vport &&
                c.guest_components_procs == d.guest_components_procs &&
                strcmp(c.server_addr, d.server_addr) == 0 && !c.https_proxy && !c.no_proxy;
    tap_ok(r < 0 && msg && strstr(msg, key) && same, "'%s' is refused naming %s (%s), default kept",
           cmdline, key, msg ? msg : "no message");
    free(msg);
    config_free(&c);
    config_free(&d);
}

int main(void)
{
    struct agent_config c = {0};
    char *msg = NULL;

    tap_ok(parse(&c, "") == 0 && strcmp(c.server_addr, "vsock://-1:1024") == 0 &&
               c.log_level == LOG_INFO && c.hotplug_timeout_ns == 3 * S &&
               c.cdh_api_timeout_ns == 50 * S && c.image_pull_timeout_ns == 1200 * S &&
               c.cdi_timeout_ns == 100 * S && c.launch_process_timeout_ns == 6 * S &&
               !c.debug_console && !c.devmode && !c.tracing && c.debug_console_vport == 0 &&
               c.log_vport == 0 && c.passfd_listener_port == 0 && c.container_pipe_size == 0 &&
               !c.cgroup_no_v1_all && !c.unified_cgroup_hierarchy && !c.visible_cdi_devices &&
               c.guest_components_rest_api == GC_REST_API_RESOURCE &&
               c.guest_components_procs == GC_PROCS_API_SERVER_REST && c.secure_storage_integrity &&
               !c.mem_agent_enable && !c.unknown,
           "defaults are upstream's");
    config_free(&c);

    /* The runtime's default line (facts §1.4) plus its debug-console and debug additions. */
    tap_ok(parse(&c, "tsc=reliable no_timer_check console=hvc0 console=hvc1 quiet panic=1 "
                     "nr_cpus=4 selinux=0 systemd.unit=kata-containers.target "
                     "scsi_mod.scan=none agent.cdh_api_timeout=50 agent.log=debug "
                     "agent.debug_console agent.debug_console_vport=1026 cgroup_no_v1=all "
                     "systemd.unified_cgroup_hierarchy=1\n") == 0 &&
               c.log_level == LOG_DEBUG && c.debug_console && c.debug_console_vport == 1026 &&
               c.cgroup_no_v1_all && c.unified_cgroup_hierarchy && !c.unknown,
           "the runtime's command line parses cleanly");
    config_free(&c);

    tap_ok(parse(&c, "agent.debug_consolex agent.devmode agent.debug_console=1 agent.log") == 0 &&
               !c.debug_console && c.devmode && c.unknown &&
               strcmp(c.unknown, "agent.debug_consolex agent.debug_console=1 agent.log") == 0,
           "flags match the whole token; near misses are collected as unknown");
    config_free(&c);

    tap_ok(parse(&c, "agent.log=debug agent.log=error agent.hotplug_timeout=7 "
                     "agent.hotplug_timeout=9") == 0 &&
               c.log_level == LOG_ERROR && c.hotplug_timeout_ns == 9 * S,
           "the last occurrence wins");
    config_free(&c);

    tap_ok(parse(&c, "agent.log=fatal") == 0 && c.log_level == LOG_CRITICAL &&
               parse(&c, "agent.log=panic") == 0 && c.log_level == LOG_CRITICAL &&
               parse(&c, "agent.log=warning") == 0 && c.log_level == LOG_WARN &&
               parse(&c, "agent.log=trace") == 0 && c.log_level == LOG_TRACE,
           "log levels: fatal/panic are critical, warning is warn, trace");
    config_free(&c);
    bad("agent.log=bogus", "agent.log");
    bad("agent.log=DEBUG", "agent.log");
    bad("agent.log=debug=1", "agent.log");
    bad("agent.log=", "agent.log");

    tap_ok(parse(&c, "agent.server_addr=unix:///run/a.sock?x=1") == 0 &&
               strcmp(c.server_addr, "unix:///run/a.sock?x=1") == 0,
           "a string value keeps its '='");
    config_free(&c);
    bad("agent.server_addr=", "agent.server_addr");

    tap_ok(parse(&c, "agent.hotplug_timeout=10 agent.cdh_api_timeout=1 "
                     "agent.image_pull_timeout=2 agent.cdi_timeout=3 "
                     "agent.launch_process_timeout=+4") == 0 &&
               c.hotplug_timeout_ns == 10 * S && c.cdh_api_timeout_ns == 1 * S &&
               c.image_pull_timeout_ns == 2 * S && c.cdi_timeout_ns == 3 * S &&
               c.launch_process_timeout_ns == 4 * S,
           "every timeout, in seconds");
    config_free(&c);
    tap_ok(parse(&c, "agent.hotplug_timeout=0 agent.launch_process_timeout=0") == 0 &&
               c.hotplug_timeout_ns == 3 * S && c.launch_process_timeout_ns == 6 * S,
           "a zero timeout keeps the default, without an error");
    config_free(&c);
    tap_ok(parse(&c, "agent.hotplug_timeout=18446744073709551615") == 0 &&
               c.hotplug_timeout_ns == INT64_MAX,
           "a huge timeout saturates");
    config_free(&c);
    bad("agent.hotplug_timeout=-1", "agent.hotplug_timeout");
    bad("agent.hotplug_timeout=abc", "agent.hotplug_timeout");
    bad("agent.hotplug_timeout=3=4", "agent.hotplug_timeout");
    bad("agent.hotplug_timeout=18446744073709551616", "agent.hotplug_timeout");

    tap_ok(parse(&c, "agent.debug_console_vport=1026 agent.log_vport=1025 "
                     "agent.passfd_listener_port=1027") == 0 &&
               c.debug_console_vport == 1026 && c.log_vport == 1025 &&
               c.passfd_listener_port == 1027,
           "ports");
    config_free(&c);
    tap_ok(parse(&c, "agent.debug_console_vport=-5 agent.log_vport=0") == 0 &&
               c.debug_console_vport == 0 && c.log_vport == 0,
           "zero and negative ports are ignored, without an error");
    config_free(&c);
    bad("agent.debug_console_vport=2147483648", "agent.debug_console_vport");
    bad("agent.debug_console_vport=x", "agent.debug_console_vport");

    tap_ok(parse(&c, "agent.container_pipe_size=65536") == 0 && c.container_pipe_size == 65536 &&
               parse(&c, "agent.container_pipe_size=1 agent.container_pipe_size=0") == 0 &&
               c.container_pipe_size == 0,
           "container_pipe_size, 0 allowed");
    config_free(&c);
    bad("agent.container_pipe_size=-1", "agent.container_pipe_size");
    bad("agent.container_pipe_size=1k", "agent.container_pipe_size");

    tap_ok(parse(&c, "agent.trace") == 0 && c.tracing && parse(&c, "agent.trace=true") == 0 &&
               c.tracing && parse(&c, "agent.trace=2") == 0 && c.tracing &&
               parse(&c, "agent.trace=0") == 0 && !c.tracing && parse(&c, "agent.trace=yes") == 0 &&
               !c.tracing && parse(&c, "agent.trace=-1") == 0 && !c.tracing &&
               parse(&c, "agent.trace=true=1") == 0 && !c.tracing &&
               parse(&c, "agent.trace=True") == 0 && !c.tracing,
           "booleans as get_bool_value: true/false, nonzero unsigned, anything else false");
    config_free(&c);

    tap_ok(parse(&c, "agent.secure_storage_integrity=false agent.visible_cdi_devices=1 "
                     "systemd.unified_cgroup_hierarchy=true") == 0 &&
               !c.secure_storage_integrity && c.visible_cdi_devices && c.unified_cgroup_hierarchy,
           "the other booleans");
    config_free(&c);

    tap_ok(parse(&c, "cgroup_no_v1=memory") == 0 && !c.cgroup_no_v1_all &&
               parse(&c, "cgroup_no_v1=all") == 0 && c.cgroup_no_v1_all,
           "cgroup_no_v1 counts only as =all");
    config_free(&c);
    bad("cgroup_no_v1=", "cgroup_no_v1");

    tap_ok(parse(&c, "agent.https_proxy=http://proxy:3128 agent.no_proxy=a,b") == 0 &&
               strcmp(c.https_proxy, "http://proxy:3128") == 0 && strcmp(c.no_proxy, "a,b") == 0,
           "proxy settings");
    config_free(&c);
    bad("agent.https_proxy=10.0.0.1:3128", "agent.https_proxy");
    bad("agent.https_proxy=http://", "agent.https_proxy");
    bad("agent.no_proxy=", "agent.no_proxy");

    tap_ok(parse(&c, "agent.guest_components_rest_api=all agent.guest_components_procs=none") ==
                   0 &&
               c.guest_components_rest_api == GC_REST_API_ALL &&
               c.guest_components_procs == GC_PROCS_NONE,
           "guest components");
    config_free(&c);
    bad("agent.guest_components_procs=all", "agent.guest_components_procs");
    bad("agent.guest_components_rest_api=", "agent.guest_components_rest_api");

    tap_ok(parse(&c, "agent.mem_agent_compact_order=x") == 0 && !c.mem_agent_enable && c.unknown &&
               parse(&c, "agent.mem_agent_enable=1 agent.mem_agent_compact_order=9 "
                         "agent.mem_agent_memcg_disable=true agent.mem_agent_compact_sec_max=-1") ==
                   0 &&
               c.mem_agent_enable && !c.unknown,
           "memory agent options are looked at only after agent.mem_agent_enable");
    config_free(&c);
    bad("agent.mem_agent_enable=1 agent.mem_agent_compact_order=256", "compact_order");
    bad("agent.mem_agent_enable=1 agent.mem_agent_memcg_swap=1", "memcg_swap");

    /* agent.config_file: upstream's TOML, which replaces the whole command line. */
    char dir[] = "/tmp/agent-config.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char good[64], bad_file[64], cmd[256];
    snprintf(good, sizeof(good), "%s/good.toml", dir);
    snprintf(bad_file, sizeof(bad_file), "%s/bad.toml", dir);
    write_text(good, "# a comment\n"
                     "dev_mode = true\n"
                     "server_addr = 'unix:///run/x.sock' # trailing\n"
                     "log_level = \"debug\"\n"
                     "hotplug_timeout = { secs = 7, nanos = 500 }\n"
                     "debug_console_vport = 1026\n"
                     "guest_components_procs = \"none\"\n"
                     "unknown_key = [\n  \"a\",\n  \"b\",\n]\n"
                     "[endpoints]\nallowed = [\"CreateContainerRequest\"]\n"
                     "[launch_process_timeout]\nsecs = 9\nnanos = 0\n");
    write_text(bad_file, "dev_mode = 1\n");
    snprintf(cmd, sizeof(cmd), "agent.log=error agent.config_file=%s agent.container_pipe_size=5",
             good);
    setenv("KATA_AGENT_LOG_LEVEL", "trace", 1);
    struct kerr *ferr = NULL;
    tap_ok(parse(&c, cmd) == 0 && c.config_file && c.devmode &&
               strcmp(c.server_addr, "unix:///run/x.sock") == 0 && c.log_level == LOG_DEBUG &&
               c.hotplug_timeout_ns == 7 * S + 500 && c.launch_process_timeout_ns == 9 * S &&
               c.debug_console_vport == 1026 && c.guest_components_procs == GC_PROCS_NONE &&
               c.container_pipe_size == 0 && config_apply_env(&c, &ferr) == 0 &&
               c.log_level == LOG_DEBUG,
           "agent.config_file: the TOML's values replace the whole command line and the "
           "environment; unknown keys, arrays and tables skipped");
    unsetenv("KATA_AGENT_LOG_LEVEL");
    snprintf(cmd, sizeof(cmd), "agent.config_file=%s agent.log=debug", bad_file);
    tap_ok(parse_msg(&c, cmd, &msg) < 0 && !c.config_file && c.log_level == LOG_DEBUG && msg &&
               strstr(msg, "dev_mode: wrong type") && strstr(msg, "line 1"),
           "a malformed config file is reported (%s) and the command line applies",
           msg ? msg : "-");
    free(msg);
    tap_ok(parse_msg(&c, "agent.config_file=/no/such.toml", &msg) < 0 && msg &&
               strstr(msg, "/no/such.toml"),
           "a missing config file is reported");
    free(msg);
    config_free(&c);
    unlink(good);
    unlink(bad_file);
    rmdir(dir);

    tap_ok(parse_msg(&c, "agent.log=nope agent.hotplug_timeout=5 agent.container_pipe_size=-2",
                     &msg) < 0 &&
               c.hotplug_timeout_ns == 5 * S && msg && strstr(msg, "agent.log") &&
               strstr(msg, "agent.container_pipe_size"),
           "every bad parameter is reported; the good ones still apply");
    free(msg);
    config_free(&c);

    tap_ok(parse(&c, "notagent.log=debug agent foo") == 0 && c.log_level == LOG_INFO && !c.unknown,
           "tokens outside agent.* are not ours");
    config_free(&c);

    struct kerr *err = NULL;
    parse(&c, "agent.server_addr=vsock://-1:1024 agent.log=info");
    setenv("KATA_AGENT_SERVER_ADDR", "unix://@abstract", 1);
    setenv("KATA_AGENT_LOG_LEVEL", "trace", 1);
    setenv("KATA_AGENT_TRACING", "1", 1);
    tap_ok(config_apply_env(&c, &err) == 0 && strcmp(c.server_addr, "unix://@abstract") == 0 &&
               c.log_level == LOG_TRACE && c.tracing,
           "environment overrides the command line");
    config_free(&c);

    config_init(&c);
    setenv("KATA_AGENT_LOG_LEVEL", "nope", 1);
    setenv("KATA_AGENT_TRACING", "maybe", 1);
    tap_ok(config_apply_env(&c, &err) < 0 && err && err->msg &&
               strstr(err->msg, "KATA_AGENT_LOG_LEVEL") && c.log_level == LOG_INFO && !c.tracing,
           "a bad KATA_AGENT_LOG_LEVEL is reported and left out");
    error_free(err);
    config_free(&c);
    return tap_done();
}
