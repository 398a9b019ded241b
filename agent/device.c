/* OCI devices of CreateContainer (CreateContainerRequest.devices): the runtime hot-plugged a
 * host device and names it by where it shows up in the guest (PCI path, SCSI address, /dev
 * path). The agent finds the guest node and rewrites the spec's linux.devices entry at
 * container_path, and any device cgroup rule of the host's numbers, to the guest's major and
 * minor, then allows the device, as upstream does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent.h"
#include "cleanup.h"
#include "xalloc.h"

/* Upstream prints the request's Device with Debug; this is the same information. */
static char *device_repr(const Grpc__Device *d)
{
    return xasprintf(
        "Device { id: \"%s\", type_: \"%s\", vm_path: \"%s\", container_path: \"%s\" }", d->id,
        d->type, d->vm_path, d->container_path);
}

static int device_invalid(const Grpc__Device *d, const char *what, struct kerr **err)
{
    cleanup_free char *repr = device_repr(d);
    return make_status(err, RPC_INTERNAL, EINVAL, "invalid %s for device %s", what, repr);
}

/* The guest node of d: 0, -EAGAIN with *need, or an error. */
static int device_node(struct sandbox *sb, const Grpc__Device *d, char *node, size_t len,
                       struct blk_matcher *need, struct kerr **err)
{
    if (!d->type[0])
        return device_invalid(d, "type", err);
    if (!d->id[0] && !d->vm_path[0])
        return device_invalid(d, "ID and VM path", err);
    if (!d->container_path[0])
        return device_invalid(d, "container path", err);
    const char *t = d->type;
    if (strcmp(t, "blk") == 0)
        return hotplug_blk_pci(sb, d->id, node, len, need, err);
    if (strcmp(t, "scsi") == 0)
        return hotplug_scsi(sb, d->id, node, len, need, err);
    if (strcmp(t, "mmioblk") == 0) {
        if (!d->vm_path[0])
            return make_status(err, RPC_INTERNAL, EINVAL,
                               "Invalid path for virtio mmio blk device");
        return hotplug_blk_mmio(sb, d->vm_path, node, len, need, err);
    }
    if (strcmp(t, "nvdimm") == 0) {
        if (!d->vm_path[0])
            return make_status(err, RPC_INTERNAL, EINVAL, "Invalid path for nvdimm device");
        return hotplug_pmem(sb, d->vm_path, node, len, need, err);
    }
    if (strncmp(t, "vfio-", 5) == 0)
        return make_status(err, RPC_UNIMPLEMENTED, ENOTSUP,
                           "%s devices are not supported by this agent", t);
    return make_status(err, RPC_INTERNAL, ENOTSUP, "Failed to find the device handler %s", t);
}

int container_devices_ready(struct sandbox *sb, Grpc__Device **devs, size_t n,
                            struct blk_matcher *need, struct kerr **err)
{
    for (size_t i = 0; i < n; i++) {
        char node[160];
        int r = device_node(sb, devs[i], node, sizeof(node), need, err);
        if (r < 0)
            return r;
    }
    return 0;
}

struct dev_update {
    const char *container_path;
    char type[2];      /* of the guest node: the allow rule's */
    char spec_type[2]; /* of the spec entry: what host rules are matched by */
    int64_t host_major, host_minor;
    int64_t major, minor;
};

static void append_allow_rule(Grpc__Linux *linux, const struct dev_update *u)
{
    if (!linux->resources) {
        linux->resources = xmalloc(sizeof(*linux->resources));
        grpc__linux_resources__init(linux->resources);
    }
    Grpc__LinuxResources *res = linux->resources;
    Grpc__LinuxDeviceCgroup *rule = xmalloc(sizeof(*rule));
    grpc__linux_device_cgroup__init(rule);
    rule->allow = true;
    rule->type = xstrdup(u->type);
    rule->major = u->major;
    rule->minor = u->minor;
    rule->access = xstrdup("rwm");
    /* the unpacked message owns its arrays through free(): a fresh array keeps that true */
    Grpc__LinuxDeviceCgroup **arr = xmalloc((res->n_devices + 1) * sizeof(*arr));
    if (res->n_devices)
        memcpy(arr, res->devices, res->n_devices * sizeof(*arr));
    arr[res->n_devices] = rule;
    free(res->devices);
    res->devices = arr;
    res->n_devices++;
}

int container_devices_apply(struct sandbox *sb, Grpc__Device **devs, size_t n, Grpc__Spec *spec,
                            struct kerr **err)
{
    if (n == 0)
        return 0;
    Grpc__Linux *linux = spec->linux;
    if (!linux)
        return make_status(err, RPC_INTERNAL, EINVAL, "Spec didn't contain linux field");
    cleanup_free struct dev_update *ups = xcalloc(n, sizeof(*ups));
    for (size_t i = 0; i < n; i++) {
        const Grpc__Device *d = devs[i];
        char node[160];
        struct blk_matcher need;
        int r = device_node(sb, d, node, sizeof(node), &need, err);
        if (r == -EAGAIN)
            return make_status(err, RPC_INTERNAL, ENODEV, "the device of %s went away",
                               d->container_path);
        if (r < 0)
            return r;
        struct stat st;
        if (stat(node, &st) < 0)
            return make_status(err, RPC_INTERNAL, errno, "VM device path \"%s\" doesn't exist",
                               node);
        if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
            return make_status(err, RPC_INTERNAL, EINVAL, "Unknown device \"%s\"'s cgroup type",
                               node);
        for (size_t k = 0; k < i; k++)
            if (strcmp(ups[k].container_path, d->container_path) == 0)
                return make_status(err, RPC_INTERNAL, EEXIST, "Conflicting device updates for %s",
                                   d->container_path);
        ups[i] = (struct dev_update){.container_path = d->container_path,
                                     .type = {S_ISBLK(st.st_mode) ? 'b' : 'c', 0},
                                     .major = major(st.st_rdev),
                                     .minor = minor(st.st_rdev)};
    }
    /* linux.devices: the entry at container_path takes the guest numbers */
    for (size_t i = 0; i < n; i++) {
        Grpc__LinuxDevice *found = NULL;
        for (size_t j = 0; j < linux->n_devices && !found; j++)
            if (strcmp(linux->devices[j]->path, ups[i].container_path) == 0)
                found = linux->devices[j];
        if (!found)
            return make_status(err, RPC_INTERNAL, ENOENT, "Missing devices in OCI spec: \"%s\"",
                               ups[i].container_path);
        snprintf(ups[i].spec_type, sizeof(ups[i].spec_type), "%s",
                 found->type[0] ? found->type : "c");
        ups[i].host_major = found->major;
        ups[i].host_minor = found->minor;
        found->major = ups[i].major;
        found->minor = ups[i].minor;
    }
    /* resource rules naming a host device now name the guest one */
    Grpc__LinuxResources *res = linux->resources;
    for (size_t j = 0; res && j < res->n_devices; j++) {
        Grpc__LinuxDeviceCgroup *rule = res->devices[j];
        for (size_t i = 0; i < n; i++)
            if (strcmp(rule->type, ups[i].spec_type) == 0 && rule->major == ups[i].host_major &&
                rule->minor == ups[i].host_minor) {
                rule->major = ups[i].major;
                rule->minor = ups[i].minor;
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        append_allow_rule(linux, &ups[i]);
    return 0;
}
