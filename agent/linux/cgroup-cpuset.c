/* Widening a container's cpuset after vCPUs were hot-plugged (OnlineCPUMem). A cpuset cgroup
 * cannot use CPUs its parent lacks, so, as upstream's fs driver does, every level from the
 * top of the container's path down to the container itself first gets the guest's whole
 * online set, and only then the container gets the cpus its spec asks for. */
#include "cgroup-internal.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

int cgroup_update_cpuset_path(struct cgroup *cg, const char *guest_cpus, const char *container_cpus,
                              struct kerr **err)
{
    if (str_empty(guest_cpus))
        return 0;
    const char *leaf = cgroup_dir(cg, "cpuset");
    if (leaf == NULL)
        return make_error(err, ENOENT, "cgroup %s: the cpuset controller is not mounted", cg->path);
    cleanup_free char *dir = cg->v2 ? xstrdup(cg->root) : xasprintf("%s/cpuset", cg->root);
    cleanup_free char *rest = xstrdup(cg->path);
    char *save = NULL;
    for (char *comp = strtok_r(rest, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        char *next = xasprintf("%s/%s", dir, comp);
        free(dir);
        dir = next;
        cleanup_free char *file = xasprintf("%s/cpuset.cpus", dir);
        int r = write_file(file, guest_cpus, err);
        if (r < 0)
            return error_wrap(err, r, "set cpuset.cpus of %s to %s", dir, guest_cpus);
    }
    if (str_empty(container_cpus))
        return 0;
    cleanup_free char *file = xasprintf("%s/cpuset.cpus", leaf);
    int r = write_file(file, container_cpus, err);
    return r < 0 ? error_wrap(err, r, "set cpuset.cpus of %s to %s", leaf, container_cpus) : 0;
}
