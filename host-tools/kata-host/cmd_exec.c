/* kata-host exec NAME [-i] [-t] [--] CMD...: runs a process in a running sandbox through the
 * session socket of the kata-host that owns it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_api.h"
#include "cleanup.h"
#include "commands.h"
#include "options.h"
#include "session.h"
#include "signals.h"
#include "spec.h"
#include "stdio.h"
#include "terminal.h"
#include "xalloc.h"

static char *new_exec_id(void)
{
    unsigned char b[6] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, b, sizeof(b)) < 0) {
        }
        close(fd);
    }
    return xasprintf("exec-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

int cmd_exec(int argc, char **argv)
{
    struct exec_opts o;
    cleanup_error struct kerr *err = NULL;
    if (options_parse_exec(argc, argv, &o, &err) < 0) {
        report_error("exec: %s (see kata-host --help)", err->msg);
        return EXIT_KATA_HOST;
    }
    cleanup_free char *dir = session_run_dir(o.name);
    struct session_state st = {0};
    int fd = -1;
    if (session_read_state(dir, &st, &err) < 0) {
        error_freep(&err);
        make_error(&err, ENOENT, "no running sandbox named '%s'", o.name);
    } else {
        fd = session_connect(o.name, &err);
    }
    if (fd < 0) {
        report_error("exec: %s", err->msg);
        session_state_free(&st);
        options_free_exec(&o);
        return EXIT_KATA_HOST;
    }
    if (signals_start() < 0) {
        close(fd);
        session_state_free(&st);
        options_free_exec(&o);
        report_error("cannot start the signal thread");
        return EXIT_KATA_HOST;
    }
    struct ttrpc_client *client = ttrpc_client_new(fd);
    cleanup_free char *eid = new_exec_id();
    const char *cid = st.container_id && *st.container_id ? st.container_id : o.name;
    unsigned rows = 0, cols = 0;
    if (o.proc.tty && !terminal_size(0, &rows, &cols))
        terminal_size(1, &rows, &cols);
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = eid;
    req.process = spec_process(&o.proc, NULL, rows, cols);
    /* Exec processes inherit the container's capabilities (the agent fills them in). */
    protobuf_c_message_free_unpacked(&req.process->capabilities->base, NULL);
    req.process->capabilities = NULL;
    req.string_user = spec_string_user(&o.proc.user);
    int code;
    int r = client ? agent_exec_process(client, &req, &err)
                   : make_error(&err, EAGAIN, "start the ttRPC client");
    protobuf_c_message_free_unpacked(&req.process->base, NULL);
    if (req.string_user)
        protobuf_c_message_free_unpacked(&req.string_user->base, NULL);
    if (r < 0) {
        code = agent_exit_code_for(err);
        report_error("exec: %s", err->msg);
    } else {
        if (!o.proc.interactive && !o.proc.tty) {
            struct kerr *e = NULL;
            agent_close_stdin(client, cid, eid, &e);
            error_free(e);
        }
        struct stdio_relay relay = {
            .client = client,
            .cid = cid,
            .eid = eid,
            .tty = o.proc.tty,
            .interactive = o.proc.interactive,
            .in_fd = 0,
            .out_fd = 1,
            .err_fd = 2,
            .stop_pipe = {-1, -1},
        };
        int status = 0;
        if (stdio_run_to_exit(&relay, &status, &err) < 0) {
            report_error("exec: %s (the sandbox went away?)", err->msg);
            code = EXIT_KATA_HOST;
        } else {
            code = status;
        }
    }
    if (client)
        ttrpc_client_free(client);
    else
        close(fd);
    signals_stop();
    session_state_free(&st);
    options_free_exec(&o);
    return code;
}
