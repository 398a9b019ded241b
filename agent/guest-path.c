/* Paths of the guest the host names outside any container root (storage mount points): no
 * ".." and no symlink on the way, each directory created inside the one opened before it
 * without following anything, so that a symlink planted below a shared or image directory
 * cannot send a mount elsewhere. The Kata runtime's mount points (/run/kata-containers/...)
 * have none. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "validate.h"
#include "xalloc.h"

int agent_check_guest_path(const char *what, const char *path, struct kerr **err)
{
    if (path[0] != '/')
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "%s \"%s\" is not absolute", what, path);
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "%s \"%s\" has a \"..\"", what, path);
    return 0;
}

int agent_mkdir_nofollow(const char *what, const char *path, mode_t mode, struct kerr **err)
{
    int r = agent_check_guest_path(what, path, err);
    if (r < 0)
        return r;
    cleanup_close int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return make_status(err, RPC_INTERNAL, errno, "open /: %s", strerror(errno));
    cleanup_free char *copy = xstrdup(path);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (mkdirat(dir, c, mode) < 0 && errno != EEXIST)
            return make_status(err, RPC_INTERNAL, errno, "create %s \"%s\": %s", what, path,
                               strerror(errno));
        int next = openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && (errno == ENOTDIR || errno == ELOOP))
            return make_status(err, RPC_INVALID_ARGUMENT, 0,
                               "%s \"%s\": \"%s\" is a symlink or not a directory", what, path, c);
        if (next < 0)
            return make_status(err, RPC_INTERNAL, errno, "open %s \"%s\": %s", what, path,
                               strerror(errno));
        close(dir);
        dir = next;
    }
    return 0;
}
