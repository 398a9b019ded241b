/* Every AgentService request message, decoded as its handler gets it, then put through the
 * checks the handlers make before any side effect: container and exec ids (upstream's
 * verify_id), the OCI spec's minimum, its conversions to kernel settings (capabilities,
 * mount options and propagation, namespace and rlimit names, the cgroups path, cgroup value
 * conversions, user/group resolution against fixed passwd/group files) and its JSON form
 * (config.json); the addresses of the network requests (MAC, IP, prefix, CIDR). The first byte
 * picks the method, the rest is the payload. */
#include "fuzz.h"

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agent/linux/caps.h"
#include "agent/linux/cgroup.h"
#include "agent/linux/mounts.h"
#include "agent/linux/namespaces.h"
#include "agent/linux/rlimits.h"
#include "agent/linux/user.h"
#include "agent/netaddr.h"
#include "agent/validate.h"
#include "cleanup.h"
#include "ttrpc.h"

/* from agent/spec-json.c (declared in agent/agent.h with the whole agent's types) */
int spec_json_save(const Grpc__Spec *spec, const char *path, struct kerr **err);

static char passwd[PATH_MAX], group[PATH_MAX];

static void write_fixture(char *path, const char *name, const char *text)
{
    snprintf(path, PATH_MAX, "/tmp/fuzz-agent-request.%d.%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void remove_fixtures(void)
{
    unlink(passwd);
    unlink(group);
}

static void check_failed(int r, struct kerr **err, const char *what)
{
    FUZZ_CHECK(r >= 0 || (*err && (*err)->msg), "%s failed (%d) without a message", what, r);
    error_free(*err);
    *err = NULL;
}

static void check_id(const ProtobufCMessage *m, const char *field)
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);
    if (!fd || fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED)
        return;
    const char *id = *(char *const *)((const char *)m + fd->offset);
    if (!id)
        return;
    if (agent_valid_id(id)) {
        FUZZ_CHECK(strlen(id) >= 2 && !strchr(id, '/') && strcmp(id, "..") != 0,
                   "id \"%s\" accepted", id);
    }
}

static void check_resources(const Grpc__LinuxResources *res)
{
    if (!res)
        return;
    char buf[128];
    cleanup_error struct kerr *err = NULL;
    if (res->cpu) {
        uint64_t w = cgroup_shares_to_weight(res->cpu->shares);
        FUZZ_CHECK(res->cpu->shares == 0 || (w >= 1 && w <= 10000), "weight %llu",
                   (unsigned long long)w);
        cgroup_cpu_max(res->cpu->quota, res->cpu->period, buf, sizeof(buf));
        FUZZ_CHECK(memchr(buf, 0, sizeof(buf)), "cpu.max not terminated");
    }
    if (res->memory) {
        int r = cgroup_swap_v2(res->memory->limit, res->memory->swap, buf, sizeof(buf), &err);
        check_failed(r, &err, "cgroup_swap_v2");
    }
}

static void check_process(const Grpc__Process *p)
{
    if (!p)
        return;
    cleanup_error struct kerr *err = NULL;
    if (p->capabilities) {
        struct caps_sets sets;
        check_failed(caps_from_spec(p->capabilities, &sets, &err), &err, "caps_from_spec");
    }
    for (size_t i = 0; i < p->n_rlimits; i++)
        (void)rlimit_from_name(p->rlimits[i]->type);
    if (p->user) {
        struct user_ids ids = {0};
        int r = user_resolve(p->user, passwd, group, &ids, &err);
        check_failed(r, &err, "user_resolve");
        if (r >= 0)
            user_ids_free(&ids);
    }
}

static void check_spec(const Grpc__Spec *spec, const char *cid)
{
    cleanup_error struct kerr *err = NULL;
    check_failed(agent_validate_spec(spec, &err), &err, "validate_spec");
    if (!spec)
        return;
    check_failed(spec_json_save(spec, "/dev/null", &err), &err, "spec_json_save");
    check_process(spec->process);
    for (size_t i = 0; i < spec->n_mounts; i++) {
        struct mount_opts o;
        mount_parse_options(spec->mounts[i]->options, spec->mounts[i]->n_options, &o);
        mount_opts_free(&o);
    }
    const Grpc__Linux *l = spec->linux;
    if (!l)
        return;
    unsigned long prop;
    check_failed(mount_propagation_from_name(l->rootfspropagation, &prop, &err), &err,
                 "propagation");
    for (size_t i = 0; i < l->n_namespaces; i++)
        (void)ns_kind_from_name(l->namespaces[i]->type);
    cleanup_free char *path = NULL;
    int r = cgroup_path_from_spec(l->cgroupspath, cid, &path, &err);
    check_failed(r, &err, "cgroup_path_from_spec");
    if (r >= 0) {
        FUZZ_CHECK(path[0] != '/', "cgroup path %s is absolute", path);
        for (const char *s = path; (s = strstr(s, "..")); s++)
            FUZZ_CHECK(!((s == path || s[-1] == '/') && (s[2] == '/' || !s[2])),
                       "cgroup path %s climbs up", path);
    }
    check_resources(l->resources);
}

static void check_ip(const char *s)
{
    uint8_t ip[16];
    int f = net_parse_ip(s, ip);
    FUZZ_CHECK(f == AF_INET || f == AF_INET6 || f == -EINVAL, "net_parse_ip %d", f);
}

static void check_network(const ProtobufCMessage *m)
{
    uint8_t mac[NET_MAC_LEN], ip[16];
    if (m->descriptor == &grpc__update_interface_request__descriptor) {
        const Types__Interface *i = ((const Grpc__UpdateInterfaceRequest *)m)->interface;
        if (!i)
            return;
        (void)net_parse_mac(i->hwaddr, mac);
        for (size_t k = 0; k < i->n_ipaddresses; k++) {
            int f = net_parse_ip(i->ipaddresses[k]->address, ip);
            if (f > 0) {
                int p = net_parse_prefix(i->ipaddresses[k]->mask, f);
                FUZZ_CHECK(p == -EINVAL || (p >= 0 && p <= net_addr_len(f) * 8), "prefix %d", p);
            }
        }
    } else if (m->descriptor == &grpc__update_routes_request__descriptor) {
        const Grpc__Routes *rs = ((const Grpc__UpdateRoutesRequest *)m)->routes;
        for (size_t k = 0; rs && k < rs->n_routes; k++) {
            int prefix;
            int f = net_parse_cidr(rs->routes[k]->dest, ip, &prefix);
            FUZZ_CHECK(f < 0 || (prefix >= 0 && prefix <= net_addr_len(f) * 8), "cidr prefix %d",
                       prefix);
            check_ip(rs->routes[k]->gateway);
            check_ip(rs->routes[k]->source);
        }
    } else if (m->descriptor == &grpc__add_arpneighbors_request__descriptor) {
        const Grpc__ARPNeighbors *ns = ((const Grpc__AddARPNeighborsRequest *)m)->neighbors;
        for (size_t k = 0; ns && k < ns->n_arpneighbors; k++) {
            if (ns->arpneighbors[k]->toipaddress)
                check_ip(ns->arpneighbors[k]->toipaddress->address);
            (void)net_parse_mac(ns->arpneighbors[k]->lladdr, mac);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!passwd[0]) {
        write_fixture(passwd, "passwd",
                      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
                      "app:x:1000:1000:App:/home/app:/bin/sh\n");
        write_fixture(group, "group", "root:x:0:\nwheel:x:10:app,root\napp:x:1000:\n");
        atexit(remove_fixtures);
    }
    if (size < 1)
        return 0;
    const ProtobufCServiceDescriptor *svc = &grpc__agent_service__descriptor;
    const ProtobufCMethodDescriptor *md = &svc->methods[data[0] % svc->n_methods];
    ProtobufCMessage *m = protobuf_c_message_unpack(md->input, NULL, size - 1, data + 1);
    if (!m)
        return 0;
    check_id(m, "container_id");
    check_id(m, "exec_id");
    if (md->input == &grpc__create_container_request__descriptor) {
        const Grpc__CreateContainerRequest *r = (const Grpc__CreateContainerRequest *)m;
        check_spec(r->oci, r->container_id);
    } else if (md->input == &grpc__exec_process_request__descriptor) {
        check_process(((const Grpc__ExecProcessRequest *)m)->process);
    } else if (md->input == &grpc__update_container_request__descriptor) {
        check_resources(((const Grpc__UpdateContainerRequest *)m)->resources);
    }
    check_network(m);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
