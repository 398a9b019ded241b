/* Exit codes for failures to start the command, from the agent's error text (docker's 125,
 * 126, 127). */
#include <errno.h>
#include <string.h>

#include "agent_api.h"
#include "tests/tap.h"

static int code_for(const char *msg)
{
    struct kerr *err = NULL;
    make_status(&err, RPC_NOT_FOUND, 0, "%s", msg);
    int c = agent_exit_code_for(err);
    error_free(err);
    return c;
}

int main(void)
{
    tap_plan(7);
    tap_ok(code_for("exec: \"nope\": executable file not found in $PATH") == 127,
           "not found in PATH -> 127");
    tap_ok(code_for("CreateContainer: exec: \"/no/such\": no such file or directory") == 127,
           "absolute path missing -> 127");
    tap_ok(code_for("exec: \"/etc/passwd\": permission denied") == 126, "permission denied -> 126");
    tap_ok(code_for("exec: \"/bin/x\": exec format error") == 126, "exec format error -> 126");
    tap_ok(code_for("container box not found") == 125, "other not-found errors stay 125");
    tap_ok(code_for("mount /proc: no such file or directory") == 125,
           "a setup ENOENT is not a missing command");
    tap_ok(agent_exit_code_for(NULL) == 125, "no error object -> 125");
    return tap_done();
}
