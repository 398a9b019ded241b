/* agentctl's storage, device and hot-plug pieces: the Storage and Device messages built from
 * command-line specs (shared by create-sandbox and create-container), and the subcommands
 * AddSwap, AddSwapPath, UpdateEphemeralMounts and OnlineCPUMem. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "agentctl.h"
#include "xalloc.h"

static char **split(const char *list, const char *sep, size_t *n)
{
    char **v = NULL;
    *n = 0;
    char *s = xstrdup(list);
    for (char *t = strtok(s, sep); t; t = strtok(NULL, sep)) {
        v = xrealloc(v, (*n + 1) * sizeof(*v));
        v[(*n)++] = t;
    }
    return v;
}

Grpc__Storage **agentctl_storages(char **specs, size_t n)
{
    Grpc__Storage **st = xcalloc(n + 1, sizeof(*st));
    for (size_t i = 0; i < n; i++) {
        /* DRIVER:SOURCE:FSTYPE:MOUNTPOINT[:OPT,OPT[:FSGROUP[/onrootmismatch]]], or with ';'
         * for a source holding ':' (a SCSI address) */
        char *f[6] = {0};
        char *s = xstrdup(specs[i]);
        const char *sep = strchr(s, ';') ? ";" : ":";
        for (int k = 0; k < 6; k++)
            f[k] = strsep(&s, sep);
        st[i] = xmalloc(sizeof(**st));
        grpc__storage__init(st[i]);
        st[i]->driver = f[0] ? f[0] : "";
        st[i]->source = f[1] ? f[1] : "";
        st[i]->fstype = f[2] ? f[2] : "";
        st[i]->mount_point = f[3] ? f[3] : "";
        if (f[4])
            st[i]->options = split(f[4], ",", &st[i]->n_options);
        if (f[5] && f[5][0]) {
            Grpc__FSGroup *g = xmalloc(sizeof(*g));
            grpc__fsgroup__init(g);
            g->group_id = (uint32_t)strtoul(f[5], NULL, 10);
            if (strstr(f[5], "/onrootmismatch"))
                g->group_change_policy = TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch;
            st[i]->fs_group = g;
        }
    }
    return st;
}

/* TYPE;ID;VM_PATH;CONTAINER_PATH;MAJOR;MINOR (';' because SCSI ids hold ':'). The spec entry
 * carries MAJOR:MINOR as the runtime's host numbers. */
static char **device_fields(const char *spec)
{
    char **f = xcalloc(6, sizeof(*f));
    char *s = xstrdup(spec);
    for (int k = 0; k < 6; k++) {
        char *t = strsep(&s, ";");
        f[k] = t ? t : "";
    }
    return f;
}

Grpc__Device **agentctl_devices(char **specs, size_t n)
{
    Grpc__Device **d = xcalloc(n + 1, sizeof(*d));
    for (size_t i = 0; i < n; i++) {
        char **f = device_fields(specs[i]);
        d[i] = xmalloc(sizeof(**d));
        grpc__device__init(d[i]);
        d[i]->type = f[0];
        d[i]->id = f[1];
        d[i]->vm_path = f[2];
        d[i]->container_path = f[3];
    }
    return d;
}

void agentctl_spec_devices(Grpc__Linux *l, char **specs, size_t n)
{
    if (n == 0)
        return;
    l->devices = xcalloc(n, sizeof(*l->devices));
    if (!l->resources) {
        l->resources = xmalloc(sizeof(*l->resources));
        grpc__linux_resources__init(l->resources);
    }
    Grpc__LinuxResources *res = l->resources;
    res->devices = xcalloc(n + 1, sizeof(*res->devices));
    /* deny everything first, as containerd does; the agent allows the guest device */
    Grpc__LinuxDeviceCgroup *deny = xmalloc(sizeof(*deny));
    grpc__linux_device_cgroup__init(deny);
    deny->type = "a";
    deny->major = deny->minor = -1;
    deny->access = "rwm";
    res->devices[res->n_devices++] = deny;
    for (size_t i = 0; i < n; i++) {
        char **f = device_fields(specs[i]);
        Grpc__LinuxDevice *ld = xmalloc(sizeof(*ld));
        grpc__linux_device__init(ld);
        ld->path = f[3];
        ld->type = "b";
        ld->major = atoll(f[4]);
        ld->minor = atoll(f[5]);
        ld->filemode = 0660;
        l->devices[l->n_devices++] = ld;
        /* a rule for the host numbers: the agent must move it to the guest's */
        Grpc__LinuxDeviceCgroup *r = xmalloc(sizeof(*r));
        grpc__linux_device_cgroup__init(r);
        r->allow = 1;
        r->type = "b";
        r->major = ld->major;
        r->minor = ld->minor;
        r->access = "rw";
        res->devices = xrealloc(res->devices, (res->n_devices + 1) * sizeof(*res->devices));
        res->devices[res->n_devices++] = r;
    }
}

/* Runs argv[0] if it is one of the subcommands here and returns the exit code; -1 otherwise. */
int agentctl_hotplug(struct ttrpc_client *client, int64_t tmo, int argc, char **argv)
{
    static const struct option lo[] = {
        {"pci", 1, 0, 'p'},  {"path", 1, 0, 'P'},     {"storage", 1, 0, 's'},
        {"cpus", 1, 0, 'c'}, {"cpu-only", 0, 0, 'o'}, {0, 0, 0, 0},
    };
    const char *cmd = argv[0];
    if (strcmp(cmd, "add-swap") && strcmp(cmd, "add-swap-path") &&
        strcmp(cmd, "update-ephemeral") && strcmp(cmd, "online-cpu-mem"))
        return -1;
    const char *pci = "", *path = "";
    uint32_t cpus = 0;
    bool cpu_only = false;
    char **storages = NULL;
    size_t n_storages = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            pci = optarg;
            break;
        case 'P':
            path = optarg;
            break;
        case 'c':
            cpus = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'o':
            cpu_only = true;
            break;
        case 's':
            storages = xrealloc(storages, (n_storages + 1) * sizeof(*storages));
            storages[n_storages++] = optarg;
            break;
        default:
            fprintf(stderr, "agentctl: %s: bad option\n", cmd);
            return 64;
        }
    }
    ProtobufCMessage *resp = NULL;
    if (strcmp(cmd, "add-swap") == 0) {
        Grpc__AddSwapRequest req = GRPC__ADD_SWAP_REQUEST__INIT;
        size_t n;
        char **slots = split(pci, "/", &n);
        req.pcipath = xcalloc(n + 1, sizeof(*req.pcipath));
        for (size_t i = 0; i < n; i++)
            req.pcipath[i] = (uint32_t)strtoul(slots[i], NULL, 16);
        req.n_pcipath = n;
        resp = agentctl_call(client, "grpc.AgentService", "AddSwap", &req.base, NULL, tmo);
    } else if (strcmp(cmd, "add-swap-path") == 0) {
        Grpc__AddSwapPathRequest req = GRPC__ADD_SWAP_PATH_REQUEST__INIT;
        req.path = (char *)path;
        resp = agentctl_call(client, "grpc.AgentService", "AddSwapPath", &req.base, NULL, tmo);
    } else if (strcmp(cmd, "online-cpu-mem") == 0) {
        Grpc__OnlineCPUMemRequest req = GRPC__ONLINE_CPUMEM_REQUEST__INIT;
        req.nb_cpus = cpus;
        req.cpu_only = cpu_only;
        resp = agentctl_call(client, "grpc.AgentService", "OnlineCPUMem", &req.base, NULL, tmo);
    } else {
        Grpc__UpdateEphemeralMountsRequest req = GRPC__UPDATE_EPHEMERAL_MOUNTS_REQUEST__INIT;
        req.storages = agentctl_storages(storages, n_storages);
        req.n_storages = n_storages;
        resp = agentctl_call(client, "grpc.AgentService", "UpdateEphemeralMounts", &req.base, NULL,
                             tmo);
    }
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}
