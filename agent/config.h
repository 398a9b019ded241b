/* Agent configuration: defaults, then the parameters of the kernel command line, then the
 * environment overrides (KATA_AGENT_SERVER_ADDR, KATA_AGENT_LOG_LEVEL, KATA_AGENT_TRACING),
 * with upstream's keys, defaults and value rules (AG/config.rs). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum guest_components_rest_api {
    GC_REST_API_ALL,
    GC_REST_API_ATTESTATION,
    GC_REST_API_RESOURCE, /* upstream's default */
};

enum guest_components_procs {
    GC_PROCS_NONE,
    GC_PROCS_ATTESTATION_AGENT,
    GC_PROCS_CONFIDENTIAL_DATA_HUB,
    GC_PROCS_API_SERVER_REST, /* upstream's default */
};

struct agent_config {
    char *server_addr;
    int log_level; /* enum log_level */
    bool debug_console;
    bool devmode;
    bool tracing;
    /* Timeouts, from whole seconds > 0 on the command line. */
    int64_t hotplug_timeout_ns;        /* 3 s */
    int64_t cdh_api_timeout_ns;        /* 50 s */
    int64_t image_pull_timeout_ns;     /* 1200 s */
    int64_t cdi_timeout_ns;            /* 100 s */
    int64_t launch_process_timeout_ns; /* 6 s */
    bool visible_cdi_devices;
    /* vsock ports; 0 = not set (the console on /dev/console, logs on stdout, no passfd). */
    int debug_console_vport;
    int log_vport;
    int passfd_listener_port;
    int container_pipe_size; /* bytes; 0 = kernel default */
    bool cgroup_no_v1_all;   /* cgroup_no_v1=all */
    bool unified_cgroup_hierarchy;
    char *https_proxy; /* NULL = unset */
    char *no_proxy;    /* NULL = unset */
    enum guest_components_rest_api guest_components_rest_api;
    enum guest_components_procs guest_components_procs;
    bool secure_storage_integrity; /* true by default */
    bool mem_agent_enable;
    char *config_file; /* agent.config_file, once loaded: its values replaced the command line */

    /* `agent.*` tokens that match no parameter, space separated; NULL if none. */
    char *unknown;
};

void config_init(struct agent_config *c);
void config_free(struct agent_config *c);
/* Parses a kernel command line into c. Every token is looked at: a value that breaks
 * upstream's rules leaves that parameter at its previous value and the call returns -EINVAL
 * with every such problem in *err (the others are applied all the same). */
int config_parse_cmdline(struct agent_config *c, const char *cmdline, struct kerr **err);
/* Applies the environment overrides; a bad value is left out and reported like above. As
 * upstream, a configuration loaded from agent.config_file is not overridden. */
int config_apply_env(struct agent_config *c, struct kerr **err);
/* Prints "param KEY" for every kernel parameter config_parse_cmdline takes and "env NAME" for
 * every variable config_apply_env reads: the tables themselves, for the man page's drift test
 * (kata-agent --list-parameters). */
void config_list_parameters(FILE *out);
/* Reads upstream's TOML agent configuration into c (config-file.c). */
int config_load_file(struct agent_config *c, const char *path, struct kerr **err);
/* The same from the file's text; name is what messages call it. */
int config_parse_toml(struct agent_config *c, const char *text, const char *name,
                      struct kerr **err);
