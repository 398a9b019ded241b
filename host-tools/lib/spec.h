/* The default OCI spec kata-host sends with CreateContainer, modelled on what `runc spec`
 * writes, plus the process built from the command line. Everything is heap-allocated so the
 * result frees with protobuf_c_message_free_unpacked(msg, NULL). */
#pragma once
#include "agent.pb-c.h"
#include "options.h"

struct spec_input {
    const struct process_opts *proc;
    const char *hostname;
    const char *root_path; /* Root.Path as the agent sees it */
    bool read_only;
    const char *cgroups_path;    /* "/kata/<name>" */
    int64_t memory_limit;        /* bytes, 0 = none */
    int64_t cpu_quota;           /* µs per RUN_CPU_PERIOD, 0 = none */
    unsigned tty_rows, tty_cols; /* initial terminal size, 0 = unknown */
};

Grpc__Spec *spec_default(const struct spec_input *in);
/* The Process alone (for ExecProcess too). */
Grpc__Process *spec_process(const struct process_opts *proc, const char *hostname,
                            unsigned tty_rows, unsigned tty_cols);
/* StringUser for a textual --user (NULL when the user is numeric or unset). */
Grpc__StringUser *spec_string_user(const struct user_spec *u);

/* Allocation helpers shared with the request builders. */
void *spec_new_message(const ProtobufCMessageDescriptor *desc);
char **spec_strv(const char *const *items, size_t n);
