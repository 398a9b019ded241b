/* agentctl's networking subcommands (UpdateInterface, UpdateRoutes, AddARPNeighbors,
 * ListInterfaces, ListRoutes). Output: one line per interface or route. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.pb-c.h"
#include "agentctl.h"
#include "ttrpc.h"
#include "xalloc.h"

static ProtobufCMessage *net_call(struct ttrpc_client *client, int64_t tmo, const char *method,
                                  const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc)
{
    return agentctl_call(client, "grpc.AgentService", method, req, resp_desc, tmo);
}

static void print_interface(const Types__Interface *it)
{
    printf("%s hwaddr=%s mtu=%llu flags=0x%x type=%s addrs=", it->name, it->hwaddr,
           (unsigned long long)it->mtu, it->raw_flags, it->type);
    for (size_t i = 0; i < it->n_ipaddresses; i++)
        printf("%s%s/%s", i ? "," : "", it->ipaddresses[i]->address, it->ipaddresses[i]->mask);
    printf("\n");
}

static void print_routes(const Grpc__Routes *rs)
{
    for (size_t i = 0; i < rs->n_routes; i++) {
        const Types__Route *r = rs->routes[i];
        printf("dest=%s gw=%s dev=%s src=%s scope=%u family=%s\n", r->dest[0] ? r->dest : "default",
               r->gateway, r->device, r->source, r->scope,
               r->family == TYPES__IPFAMILY__v6 ? "v6" : "v4");
    }
}

/* "ADDR[/PREFIX]" into a types.IPAddress. */
static Types__IPAddress *ip_address(char *cidr)
{
    Types__IPAddress *ip = xmalloc(sizeof(*ip));
    types__ipaddress__init(ip);
    char *slash = strchr(cidr, '/');
    if (slash)
        *slash++ = '\0';
    ip->address = cidr;
    ip->mask = slash ? slash : "";
    ip->family = strchr(cidr, ':') ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    return ip;
}

/* Runs argv[0] if it is a networking subcommand and returns the exit code; -1 otherwise. */
int agentctl_net(struct ttrpc_client *client, int64_t tmo, int argc, char **argv)
{
    static const struct option lo[] = {
        {"mac", 1, 0, 'm'}, {"name", 1, 0, 'n'},  {"mtu", 1, 0, 'u'},
        {"ip", 1, 0, 'i'},  {"noarp", 0, 0, 'N'}, {"route", 1, 0, 'r'},
        {"dev", 1, 0, 'd'}, {"state", 1, 0, 's'}, {0, 0, 0, 0},
    };
    const char *cmd = argv[0];
    if (strcmp(cmd, "update-interface") && strcmp(cmd, "update-routes") && strcmp(cmd, "add-arp") &&
        strcmp(cmd, "list-interfaces") && strcmp(cmd, "list-routes"))
        return -1;

    Types__Interface it = TYPES__INTERFACE__INIT;
    Types__Route **routes = NULL;
    size_t n_routes = 0;
    char *ip = NULL, *dev = "";
    long state = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (c) {
        case 'm':
            it.hwaddr = optarg;
            break;
        case 'n':
            it.name = optarg;
            break;
        case 'u':
            it.mtu = strtoull(optarg, NULL, 10);
            break;
        case 'i':
            ip = optarg;
            it.ipaddresses = xrealloc(it.ipaddresses, (it.n_ipaddresses + 1) * sizeof(void *));
            it.ipaddresses[it.n_ipaddresses++] = ip_address(xstrdup(optarg));
            break;
        case 'N':
            it.raw_flags |= 0x80; /* IFF_NOARP */
            break;
        case 'r': { /* DEST,GW,DEV[,SRC[,SCOPE]] */
            Types__Route *r = xmalloc(sizeof(*r));
            types__route__init(r);
            char *s = xstrdup(optarg), *f[5] = {0};
            for (int k = 0; k < 5; k++)
                f[k] = strsep(&s, ",");
            r->dest = f[0] ? f[0] : "";
            r->gateway = f[1] ? f[1] : "";
            r->device = f[2] ? f[2] : "";
            r->source = f[3] ? f[3] : "";
            r->scope = f[4] ? (uint32_t)atoi(f[4]) : 0;
            routes = xrealloc(routes, (n_routes + 1) * sizeof(*routes));
            routes[n_routes++] = r;
            break;
        }
        case 'd':
            dev = optarg;
            break;
        case 's':
            state = atol(optarg);
            break;
        default:
            fprintf(stderr, "agentctl: %s: bad option\n", cmd);
            return 64;
        }
    }

    if (strcmp(cmd, "update-interface") == 0) {
        Grpc__UpdateInterfaceRequest req = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
        req.interface = &it;
        Types__Interface *r = (Types__Interface *)net_call(
            client, tmo, "UpdateInterface", &req.base, &types__interface__descriptor);
        print_interface(r);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "update-routes") == 0 || strcmp(cmd, "list-routes") == 0) {
        Grpc__UpdateRoutesRequest ureq = GRPC__UPDATE_ROUTES_REQUEST__INIT;
        Grpc__ListRoutesRequest lreq = GRPC__LIST_ROUTES_REQUEST__INIT;
        Grpc__Routes in = GRPC__ROUTES__INIT;
        in.routes = routes;
        in.n_routes = n_routes;
        ureq.routes = &in;
        bool update = cmd[0] == 'u';
        Grpc__Routes *r =
            (Grpc__Routes *)net_call(client, tmo, update ? "UpdateRoutes" : "ListRoutes",
                                     update ? &ureq.base : &lreq.base, &grpc__routes__descriptor);
        print_routes(r);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "add-arp") == 0) {
        Types__ARPNeighbor n = TYPES__ARPNEIGHBOR__INIT;
        n.toipaddress = ip ? ip_address(xstrdup(ip)) : NULL;
        n.lladdr = it.hwaddr;
        n.device = dev;
        n.state = (int32_t)state;
        Types__ARPNeighbor *list[1] = {&n};
        Grpc__ARPNeighbors ns = GRPC__ARPNEIGHBORS__INIT;
        ns.arpneighbors = list;
        ns.n_arpneighbors = 1;
        Grpc__AddARPNeighborsRequest req = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
        req.neighbors = &ns;
        ProtobufCMessage *r = net_call(client, tmo, "AddARPNeighbors", &req.base, NULL);
        if (r)
            protobuf_c_message_free_unpacked(r, NULL);
    } else {
        Grpc__ListInterfacesRequest req = GRPC__LIST_INTERFACES_REQUEST__INIT;
        Grpc__Interfaces *r = (Grpc__Interfaces *)net_call(client, tmo, "ListInterfaces", &req.base,
                                                           &grpc__interfaces__descriptor);
        for (size_t i = 0; i < r->n_interfaces; i++)
            print_interface(r->interfaces[i]);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return 0;
}
