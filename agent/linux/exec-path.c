#include "exec-path.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

const char *env_get(char *const *env, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = n; i-- > 0;)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

/* 0 when executable, else the errno execve would give. */
static int check_exec(const char *file)
{
    struct stat st;
    if (stat(file, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return EACCES;
    if (access(file, X_OK) < 0)
        return errno;
    return 0;
}

static int exec_error(const char *cmd, int e, bool searched, struct kerr **err)
{
    if (e == ENOENT || e == ENOTDIR) {
        if (searched)
            return make_status(err, RPC_NOT_FOUND, 0,
                               "exec: \"%s\": executable file not found in $PATH", cmd);
        return make_status(err, RPC_NOT_FOUND, 0, "exec: \"%s\": no such file or directory", cmd);
    }
    if (e == EACCES || e == EPERM)
        return make_status(err, RPC_PERMISSION_DENIED, 0, "exec: \"%s\": permission denied", cmd);
    return make_error(err, e, "exec: \"%s\"", cmd);
}

int exec_resolve(const char *cmd, const char *path, char **ret, struct kerr **err)
{
    if (str_empty(cmd))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "exec: no command given");
    if (strchr(cmd, '/')) {
        int e = check_exec(cmd);
        if (e)
            return exec_error(cmd, e, false, err);
        *ret = xstrdup(cmd);
        return 0;
    }
    if (path == NULL)
        path = EXEC_DEFAULT_PATH;
    int seen = ENOENT;
    cleanup_free char *dirs = xstrdup(path);
    for (char *d = dirs, *end; d; d = end ? end + 1 : NULL) {
        end = strchr(d, ':');
        if (end)
            *end = '\0';
        cleanup_free char *file = xasprintf("%s/%s", *d ? d : ".", cmd);
        int e = check_exec(file);
        if (e == 0) {
            *ret = steal_ptr(file);
            return 0;
        }
        /* A later directory may still hold an executable one, as with execvp. */
        if (e == EACCES)
            seen = EACCES;
    }
    return exec_error(cmd, seen, seen == ENOENT, err);
}
