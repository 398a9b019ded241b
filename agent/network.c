#include "network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "cleanup.h"
#include "netaddr.h"
#include "netdump.h"
#include "netlink.h"
#include "xalloc.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define cleanup_nl __attribute__((cleanup(close_fd)))

static int dump_links(int fd, struct vec *links, struct kerr **err)
{
    struct nl_msg m;
    nl_msg_init(&m, RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg));
    return error_wrap(err, nl_talk(fd, &m, netdump_link, links, err), "list links");
}

static int dump_addrs(int fd, struct vec *addrs, struct kerr **err)
{
    struct nl_msg m;
    nl_msg_init(&m, RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
    return error_wrap(err, nl_talk(fd, &m, netdump_addr, addrs, err), "list addresses");
}

static int dump_routes(int fd, struct vec *routes, struct kerr **err)
{
    struct nl_msg m;
    nl_msg_init(&m, RTM_GETROUTE, NLM_F_DUMP, sizeof(struct rtmsg));
    return error_wrap(err, nl_talk(fd, &m, netdump_route, routes, err), "list routes");
}

static const struct link *link_by_index(const struct vec *links, int index)
{
    const struct link *l = links->v;
    for (size_t i = 0; i < links->n; i++)
        if (l[i].index == index)
            return &l[i];
    return NULL;
}

static const struct link *link_by_name(const struct vec *links, const char *name)
{
    const struct link *l = links->v;
    for (size_t i = 0; i < links->n; i++)
        if (strcmp(l[i].name, name) == 0)
            return &l[i];
    return NULL;
}

/* ------------------------------------------------------------ kernel state, as protobuf */

static char *ip_text(int family, const uint8_t *ip)
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family, ip, buf, sizeof(buf));
    return xstrdup(buf);
}

static Types__Interface *interface_msg(const struct link *l, const struct vec *addrs)
{
    Types__Interface *it = xmalloc(sizeof(*it));
    types__interface__init(it);
    it->device = xstrdup(l->name);
    it->name = xstrdup(l->name);
    it->mtu = l->mtu;
    it->raw_flags = l->flags;
    it->type = xstrdup(l->kind);
    it->hwaddr = xmalloc(l->mac_len * 3 + 1);
    net_format_mac(l->mac, l->mac_len, it->hwaddr);
    const struct addr *a = addrs->v;
    for (size_t i = 0; i < addrs->n; i++) {
        if (a[i].index != l->index)
            continue;
        Types__IPAddress *ip = xmalloc(sizeof(*ip));
        types__ipaddress__init(ip);
        ip->family = a[i].family == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
        ip->address = ip_text(a[i].family, a[i].ip);
        ip->mask = xasprintf("%d", a[i].prefix);
        it->ipaddresses = xrealloc(it->ipaddresses, (it->n_ipaddresses + 1) * sizeof(ip));
        it->ipaddresses[it->n_ipaddresses++] = ip;
    }
    return it;
}

static void interface_msg_free(Types__Interface *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < it->n_ipaddresses; i++) {
        free(it->ipaddresses[i]->address);
        free(it->ipaddresses[i]->mask);
        free(it->ipaddresses[i]);
    }
    free(it->ipaddresses);
    free(it->device);
    free(it->name);
    free(it->type);
    free(it->hwaddr);
    free(it);
}

static Types__Route *route_msg(const struct route *r, const struct vec *links)
{
    Types__Route *m = xmalloc(sizeof(*m));
    types__route__init(m);
    if (r->dst_len) {
        cleanup_free char *ip = ip_text(r->family, r->dst);
        m->dest = xasprintf("%s/%d", ip, r->dst_len);
    } else {
        m->dest = xstrdup("");
    }
    m->gateway = r->has_gw ? ip_text(r->family, r->gw) : xstrdup("");
    m->source = r->has_src ? ip_text(r->family, r->src) : xstrdup("");
    const struct link *l = link_by_index(links, r->oif);
    m->device = xstrdup(l ? l->name : "");
    m->scope = (uint32_t)r->scope;
    m->family = r->family == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
    m->flags = r->flags;
    return m;
}

static void routes_msg_free(Grpc__Routes *rs)
{
    for (size_t i = 0; i < rs->n_routes; i++) {
        Types__Route *m = rs->routes[i];
        free(m->dest);
        free(m->gateway);
        free(m->source);
        free(m->device);
        free(m);
    }
    free(rs->routes);
}

/* Answers call with the main-table unicast routes (what ListRoutes and UpdateRoutes return). */
static void reply_routes(int fd, struct ttrpc_call *call)
{
    cleanup_error struct kerr *err = NULL;
    cleanup_vec struct vec links = VEC(struct link), routes = VEC(struct route);
    if (dump_links(fd, &links, &err) < 0 || dump_routes(fd, &routes, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    Grpc__Routes resp = GRPC__ROUTES__INIT;
    resp.routes = xcalloc(routes.n + 1, sizeof(*resp.routes));
    const struct route *r = routes.v;
    for (size_t i = 0; i < routes.n; i++)
        resp.routes[resp.n_routes++] = route_msg(&r[i], &links);
    ttrpc_reply(call, &resp.base);
    routes_msg_free(&resp);
}

/* ------------------------------------------------------------ changes */

static int link_change(int fd, int index, uint32_t flags, uint32_t change, const char *name,
                       uint32_t mtu, struct kerr **err)
{
    struct nl_msg m;
    struct ifinfomsg *ifi = nl_msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = flags;
    ifi->ifi_change = change;
    if (name)
        nl_msg_put_str(&m, IFLA_IFNAME, name);
    if (mtu)
        nl_msg_put_u32(&m, IFLA_MTU, mtu);
    return nl_talk(fd, &m, NULL, NULL, err);
}

static int addr_change(int fd, uint16_t type, int index, int family, const uint8_t *ip, int prefix,
                       struct kerr **err)
{
    struct nl_msg m;
    uint16_t flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0;
    struct ifaddrmsg *ifa = nl_msg_init(&m, type, flags, sizeof(*ifa));
    ifa->ifa_family = (uint8_t)family;
    ifa->ifa_prefixlen = (uint8_t)prefix;
    ifa->ifa_index = (uint32_t)index;
    size_t alen = (size_t)net_addr_len(family);
    nl_msg_put(&m, IFA_LOCAL, ip, alen);
    nl_msg_put(&m, IFA_ADDRESS, ip, alen);
    int r = nl_talk(fd, &m, NULL, NULL, err);
    if (r < 0) {
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(family, ip, buf, sizeof(buf));
        error_wrap(err, r, "%s address %s/%d", type == RTM_NEWADDR ? "add" : "delete", buf, prefix);
    }
    return r;
}

struct want_addr {
    int family, prefix;
    uint8_t ip[16];
};

static int update_interface(int fd, const Types__Interface *in, Types__Interface **ret,
                            struct kerr **err)
{
    uint8_t mac[NET_MAC_LEN];
    bool by_mac = in->hwaddr && in->hwaddr[0];
    if (by_mac && net_parse_mac(in->hwaddr, mac) < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid hwAddr %s", in->hwaddr);
    if (!by_mac && !(in->name && in->name[0]))
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "interface has neither hwAddr nor name");
    if (in->name && strlen(in->name) >= IFNAMSIZ)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "interface name %s too long", in->name);
    if (in->mtu > UINT32_MAX)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid mtu %llu",
                           (unsigned long long)in->mtu);
    cleanup_vec struct vec want = VEC(struct want_addr);
    for (size_t i = 0; i < in->n_ipaddresses; i++) {
        const Types__IPAddress *a = in->ipaddresses[i];
        struct want_addr *w = vec_push(&want);
        w->family = net_parse_ip(a->address, w->ip);
        if (w->family < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid IP address %s",
                               a->address ? a->address : "");
        w->prefix = a->mask && a->mask[0] ? net_parse_prefix(a->mask, w->family)
                                          : net_addr_len(w->family) * 8;
        if (w->prefix < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid mask %s for %s", a->mask,
                               a->address);
    }

    cleanup_vec struct vec links = VEC(struct link);
    if (dump_links(fd, &links, err) < 0)
        return -1;
    const struct link *l = NULL, *all = links.v;
    for (size_t i = 0; i < links.n && !l; i++)
        if (by_mac ? all[i].mac_len == NET_MAC_LEN && memcmp(all[i].mac, mac, NET_MAC_LEN) == 0
                   : strcmp(all[i].name, in->name) == 0)
            l = &all[i];
    if (!l)
        /* Upstream's text and code: the runtime retries while the message says "Link not
         * found" (a NIC that is still being hot-plugged). */
        return make_status(err, RPC_INTERNAL, 0, "update interface: Link not found (%s: %s)",
                           by_mac ? "Address" : "Name", by_mac ? in->hwaddr : in->name);
    int index = l->index;

    /* a link can only be renamed while down */
    bool rename = in->name && in->name[0] && strcmp(in->name, l->name) != 0;
    if (rename && link_change(fd, index, 0, IFF_UP, NULL, 0, err) < 0)
        return error_wrap(err, -1, "set %s down", l->name);
    uint32_t noarp = in->raw_flags & IFF_NOARP;
    if (link_change(fd, index, noarp, noarp, rename ? in->name : NULL, (uint32_t)in->mtu, err) < 0)
        return error_wrap(err, -1, "set name/mtu/flags of %s", l->name);

    cleanup_vec struct vec addrs = VEC(struct addr);
    if (dump_addrs(fd, &addrs, err) < 0)
        return -1;
    const struct addr *a = addrs.v;
    for (size_t i = 0; i < addrs.n; i++)
        if (a[i].index == index && a[i].scope != RT_SCOPE_LINK && a[i].scope != RT_SCOPE_HOST &&
            addr_change(fd, RTM_DELADDR, index, a[i].family, a[i].ip, a[i].prefix, err) < 0)
            return -1;
    const struct want_addr *w = want.v;
    for (size_t i = 0; i < want.n; i++)
        if (addr_change(fd, RTM_NEWADDR, index, w[i].family, w[i].ip, w[i].prefix, err) < 0)
            return -1;
    if (link_change(fd, index, IFF_UP, IFF_UP, NULL, 0, err) < 0)
        return error_wrap(err, -1, "set link %d up", index);

    vec_free(&links);
    vec_free(&addrs);
    if (dump_links(fd, &links, err) < 0 || dump_addrs(fd, &addrs, err) < 0)
        return -1;
    l = link_by_index(&links, index);
    if (!l)
        return make_status(err, RPC_INTERNAL, 0, "link %d vanished", index);
    *ret = interface_msg(l, &addrs);
    return 0;
}

void network_update_interface(struct ttrpc_call *call, void *sb)
{
    Grpc__UpdateInterfaceRequest *req = (Grpc__UpdateInterfaceRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    if (!req->interface) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "UpdateInterface without an interface");
        return;
    }
    Types__Interface *it = NULL;
    cleanup_nl int fd = nl_open(&err);
    if (fd < 0 || update_interface(fd, req->interface, &it, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    ttrpc_reply(call, &it->base);
    interface_msg_free(it);
}

void network_list_interfaces(struct ttrpc_call *call, void *sb)
{
    cleanup_error struct kerr *err = NULL;
    cleanup_vec struct vec links = VEC(struct link), addrs = VEC(struct addr);
    cleanup_nl int fd = nl_open(&err);
    if (fd < 0 || dump_links(fd, &links, &err) < 0 || dump_addrs(fd, &addrs, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    Grpc__Interfaces resp = GRPC__INTERFACES__INIT;
    resp.interfaces = xcalloc(links.n + 1, sizeof(*resp.interfaces));
    const struct link *l = links.v;
    for (size_t i = 0; i < links.n; i++)
        resp.interfaces[resp.n_interfaces++] = interface_msg(&l[i], &addrs);
    ttrpc_reply(call, &resp.base);
    for (size_t i = 0; i < resp.n_interfaces; i++)
        interface_msg_free(resp.interfaces[i]);
    free(resp.interfaces);
}

void network_list_routes(struct ttrpc_call *call, void *sb)
{
    cleanup_error struct kerr *err = NULL;
    cleanup_nl int fd = nl_open(&err);
    if (fd < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    reply_routes(fd, call);
}

/* ------------------------------------------------------------ routes */

static int parse_route(const Types__Route *in, const struct vec *links, struct route *r,
                       struct kerr **err)
{
    const char *dev = in->device ? in->device : "";
    const struct link *l = link_by_name(links, dev);
    if (!l)
        return make_status(err, RPC_NOT_FOUND, 0, "route to %s: device \"%s\" not found",
                           in->dest[0] ? in->dest : "default", dev);
    r->oif = l->index;
    r->family = -1;
    if (in->dest[0] && strcmp(in->dest, "default") != 0) {
        r->family = net_parse_cidr(in->dest, r->dst, &r->dst_len);
        if (r->family < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid route destination %s",
                               in->dest);
    }
    if (in->gateway[0]) {
        int f = net_parse_ip(in->gateway, r->gw);
        if (f < 0 || (r->family >= 0 && f != r->family))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid route gateway %s",
                               in->gateway);
        r->family = f;
        r->has_gw = true;
    }
    if (in->source[0]) {
        int f = net_parse_ip(in->source, r->src);
        if (f < 0 || (r->family >= 0 && f != r->family))
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid route source %s", in->source);
        r->family = f;
        r->has_src = true;
    }
    if (r->family < 0)
        r->family = in->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
    if (in->scope > 255)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid route scope %u", in->scope);
    r->scope = (int)in->scope;
    return 0;
}

static int route_change(int fd, uint16_t type, const struct route *r, const char *dev,
                        struct kerr **err)
{
    struct nl_msg m;
    uint16_t flags = type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0;
    struct rtmsg *rt = nl_msg_init(&m, type, flags, sizeof(*rt));
    size_t alen = (size_t)net_addr_len(r->family);
    rt->rtm_family = (uint8_t)r->family;
    rt->rtm_dst_len = (uint8_t)r->dst_len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = type == RTM_NEWROUTE ? RTPROT_BOOT : (uint8_t)r->protocol;
    rt->rtm_scope = (uint8_t)r->scope;
    rt->rtm_type = RTN_UNICAST;
    if (r->dst_len)
        nl_msg_put(&m, RTA_DST, r->dst, alen);
    if (r->has_gw)
        nl_msg_put(&m, RTA_GATEWAY, r->gw, alen);
    if (r->has_src)
        nl_msg_put(&m, RTA_PREFSRC, r->src, alen);
    nl_msg_put_u32(&m, RTA_OIF, (uint32_t)r->oif);
    int ret = nl_talk(fd, &m, NULL, NULL, err);
    if (ret < 0) {
        char dst[INET6_ADDRSTRLEN + 4] = "default", gw[INET6_ADDRSTRLEN] = "-";
        if (r->dst_len) {
            inet_ntop(r->family, r->dst, dst, INET6_ADDRSTRLEN);
            sprintf(dst + strlen(dst), "/%d", r->dst_len);
        }
        if (r->has_gw)
            inet_ntop(r->family, r->gw, gw, sizeof(gw));
        error_wrap(err, ret, "%s route %s via %s dev %s", type == RTM_NEWROUTE ? "add" : "delete",
                   dst, gw, dev);
    }
    return ret;
}

/* The kernel already has r as the connected route of an address: replacing it would make it
 * a static route, which the next UpdateRoutes deletes along with the subnet's reachability. */
static bool is_connected(const struct route *r, const struct vec *have)
{
    const struct route *h = have->v;
    size_t alen = (size_t)net_addr_len(r->family);
    for (size_t i = 0; i < have->n; i++)
        if (h[i].protocol == RTPROT_KERNEL && !r->has_gw && !h[i].has_gw &&
            h[i].family == r->family && h[i].oif == r->oif && h[i].dst_len == r->dst_len &&
            memcmp(h[i].dst, r->dst, alen) == 0)
            return true;
    return false;
}

static int update_routes(int fd, const Grpc__Routes *in, struct kerr **err)
{
    cleanup_vec struct vec links = VEC(struct link), want = VEC(struct route);
    if (dump_links(fd, &links, err) < 0)
        return -1;
    for (size_t i = 0; in && i < in->n_routes; i++)
        if (parse_route(in->routes[i], &links, vec_push(&want), err) < 0)
            return -1;

    cleanup_vec struct vec have = VEC(struct route);
    if (dump_routes(fd, &have, err) < 0)
        return -1;
    const struct route *h = have.v, *w = want.v;
    for (size_t i = 0; i < have.n; i++) {
        bool named = false;
        for (size_t k = 0; k < want.n && !named; k++)
            named = w[k].oif == h[i].oif;
        /* kernel routes (connected subnets, IPv6 link-local) follow the addresses */
        if (named && h[i].protocol != RTPROT_KERNEL &&
            route_change(fd, RTM_DELROUTE, &h[i], "", err) < 0 && (*err)->errnum != ESRCH)
            return -1;
        error_freep(err);
    }
    /* routes without a gateway first: they make the gateways of the others reachable */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < want.n; k++)
            if (w[k].has_gw == (pass == 1) && !is_connected(&w[k], &have) &&
                route_change(fd, RTM_NEWROUTE, &w[k], in->routes[k]->device, err) < 0)
                return -1;
    return 0;
}

void network_update_routes(struct ttrpc_call *call, void *sb)
{
    Grpc__UpdateRoutesRequest *req = (Grpc__UpdateRoutesRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    cleanup_nl int fd = nl_open(&err);
    if (fd < 0 || update_routes(fd, req->routes, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    reply_routes(fd, call);
}

/* ------------------------------------------------------------ neighbours */

static int add_neighbor(int fd, const Types__ARPNeighbor *n, const struct vec *links,
                        struct kerr **err)
{
    uint8_t ip[16], mac[NET_MAC_LEN];
    const char *ipt = n->toipaddress ? n->toipaddress->address : NULL;
    int family = net_parse_ip(ipt, ip);
    if (family < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid neighbor IP address %s",
                           ipt ? ipt : "(none)");
    if (net_parse_mac(n->lladdr, mac) < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid neighbor lladdr %s", n->lladdr);
    const struct link *l = link_by_name(links, n->device);
    if (!l)
        return make_status(err, RPC_NOT_FOUND, 0, "neighbor %s: device \"%s\" not found", ipt,
                           n->device);
    if (n->state < 0 || n->state > 0xffff || n->flags < 0 || n->flags > 0xff)
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid neighbor state/flags");
    struct nl_msg m;
    struct ndmsg *nd = nl_msg_init(&m, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*nd));
    nd->ndm_family = (uint8_t)family;
    nd->ndm_ifindex = l->index;
    nd->ndm_state = (uint16_t)(n->state ? n->state : NUD_PERMANENT);
    nd->ndm_flags = (uint8_t)n->flags;
    nd->ndm_type = RTN_UNICAST;
    nl_msg_put(&m, NDA_DST, ip, (size_t)net_addr_len(family));
    nl_msg_put(&m, NDA_LLADDR, mac, sizeof(mac));
    return error_wrap(err, nl_talk(fd, &m, NULL, NULL, err), "add neighbor %s dev %s", ipt,
                      n->device);
}

void network_add_arp_neighbors(struct ttrpc_call *call, void *sb)
{
    Grpc__AddARPNeighborsRequest *req = (Grpc__AddARPNeighborsRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    cleanup_vec struct vec links = VEC(struct link);
    cleanup_nl int fd = nl_open(&err);
    if (fd < 0 || dump_links(fd, &links, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    const Grpc__ARPNeighbors *ns = req->neighbors;
    for (size_t i = 0; ns && i < ns->n_arpneighbors; i++)
        if (add_neighbor(fd, ns->arpneighbors[i], &links, &err) < 0) {
            ttrpc_reply_kerr(call, err);
            return;
        }
    ttrpc_reply(call, NULL);
}
