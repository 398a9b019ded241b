#include "cgroups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "cmdline.h"
#include "fsutil.h"
#include "strv.h"
#include "xalloc.h"

#define CGROUP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME)

char **cgroup_v1_controllers(const char *text)
{
    size_t n = 0;
    char **names = xcalloc(1, sizeof(char *));
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        cleanup_free char *copy = eol ? xstrndup(line, (size_t)(eol - line)) : xstrdup(line);
        line = eol ? eol + 1 : NULL;
        if (copy[0] == '#')
            continue;
        /* subsys_name hierarchy num_cgroups enabled */
        char **fields = cmdline_split_words(copy);
        if (strv_length(fields) == 4 && strcmp(fields[3], "0") != 0) {
            names = xrealloc(names, (n + 2) * sizeof(char *));
            names[n++] = xstrdup(fields[0]);
            names[n] = NULL;
        }
        strv_free(fields);
    }
    return names;
}

int cgroup_v2_mount(struct kerr **err)
{
    if (is_mountpoint(CGROUP_ROOT))
        return 0;
    if (mount("cgroup2", CGROUP_ROOT, "cgroup2", CGROUP_FLAGS, "nsdelegate") < 0)
        return make_error(err, errno, "mount cgroup2 on %s", CGROUP_ROOT);
    return 0;
}

int cgroup_v2_enable(const char *controller, struct kerr **err)
{
    cleanup_free char *op = xasprintf("+%s", controller);
    return write_file(CGROUP_ROOT "/cgroup.subtree_control", op, err);
}

int cgroup_v1_mount_root(struct kerr **err)
{
    if (is_mountpoint(CGROUP_ROOT))
        return 0;
    if (mount("tmpfs", CGROUP_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
        return make_error(err, errno, "mount tmpfs on %s", CGROUP_ROOT);
    return 0;
}

int cgroup_v1_mount_controller(const char *controller, struct kerr **err)
{
    cleanup_free char *target = xasprintf(CGROUP_ROOT "/%s", controller);
    int r = mkdir_p(target, 0755, err);
    if (r < 0)
        return r;
    if (is_mountpoint(target))
        return 0;
    if (mount("cgroup", target, "cgroup", CGROUP_FLAGS, controller) < 0)
        return make_error(err, errno, "mount cgroup %s on %s", controller, target);
    return 0;
}

int cgroup_v1_seal_root(struct kerr **err)
{
    if (mount(NULL, CGROUP_ROOT, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0755") < 0)
        return make_error(err, errno, "remount %s read-only", CGROUP_ROOT);
    return 0;
}
