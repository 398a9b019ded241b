#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "ttrpc.h"

static bool id_chars(const char *id, size_t min)
{
    size_t n = strlen(id);
    if (!isalnum((unsigned char)id[0]) || n < min || n > 255)
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

bool agent_valid_id(const char *id)
{
    return id_chars(id, 2);
}

bool agent_valid_exec_id(const char *id)
{
    return id_chars(id, 1);
}

int agent_validate_spec(const Grpc__Spec *spec, struct kerr **err)
{
    if (!spec)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "no OCI spec in the request");
    if (!spec->process)
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "spec has no process");
    if (spec->process->n_args == 0 || !spec->process->args[0][0])
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "spec process has no args");
    if (!spec->root || !spec->root->path[0])
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "spec has no root path");
    if (spec->root->path[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "root path %s is not absolute",
                           spec->root->path);
    if (spec->process->cwd[0] && spec->process->cwd[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, EINVAL, "cwd %s is not absolute",
                           spec->process->cwd);
    return 0;
}
