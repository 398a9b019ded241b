#include "netdump.h"

#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "netlink.h"
#include "xalloc.h"

void *vec_push(struct vec *a)
{
    a->v = xrealloc(a->v, (a->n + 1) * a->size);
    void *item = (char *)a->v + a->n++ * a->size;
    memset(item, 0, a->size);
    return item;
}

void vec_free(struct vec *a)
{
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

/* An attribute's payload when present and at least `need` bytes long. Dumps come from the
 * kernel, but a short attribute or message must never make us read past the datagram. */
static const void *attr_data(struct rtattr *const *tb, int type, size_t need)
{
    const struct rtattr *a = tb[type];
    return a && RTA_PAYLOAD(a) >= need ? RTA_DATA(a) : NULL;
}

int netdump_link(const struct nlmsghdr *h, void *data, struct kerr **err)
{
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return 0;
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
    nl_attrs(tb, IFLA_MAX, IFLA_RTA(ifi), (int)IFLA_PAYLOAD(h));
    struct link *l = vec_push(data);
    l->index = ifi->ifi_index;
    l->flags = ifi->ifi_flags;
    if (tb[IFLA_IFNAME])
        snprintf(l->name, sizeof(l->name), "%.*s",
                 (int)strnlen(RTA_DATA(tb[IFLA_IFNAME]), RTA_PAYLOAD(tb[IFLA_IFNAME])),
                 (char *)RTA_DATA(tb[IFLA_IFNAME]));
    const void *mtu = attr_data(tb, IFLA_MTU, sizeof(l->mtu));
    if (mtu)
        memcpy(&l->mtu, mtu, sizeof(l->mtu));
    if (tb[IFLA_ADDRESS]) {
        l->mac_len = RTA_PAYLOAD(tb[IFLA_ADDRESS]);
        if (l->mac_len > sizeof(l->mac))
            l->mac_len = sizeof(l->mac);
        memcpy(l->mac, RTA_DATA(tb[IFLA_ADDRESS]), l->mac_len);
    }
    if (tb[IFLA_LINKINFO]) {
        nl_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]),
                 (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]));
        if (li[IFLA_INFO_KIND])
            snprintf(l->kind, sizeof(l->kind), "%.*s", (int)RTA_PAYLOAD(li[IFLA_INFO_KIND]),
                     (char *)RTA_DATA(li[IFLA_INFO_KIND]));
    }
    return 0;
}

int netdump_addr(const struct nlmsghdr *h, void *data, struct kerr **err)
{
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return 0;
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    struct rtattr *tb[IFA_MAX + 1];
    nl_attrs(tb, IFA_MAX, IFA_RTA(ifa), (int)IFA_PAYLOAD(h));
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return 0;
    size_t alen = (size_t)net_addr_len(ifa->ifa_family);
    const void *ip = attr_data(tb, tb[IFA_LOCAL] ? IFA_LOCAL : IFA_ADDRESS, alen);
    if (!ip)
        return 0;
    struct addr *x = vec_push(data);
    x->index = (int)ifa->ifa_index;
    x->family = ifa->ifa_family;
    x->prefix = ifa->ifa_prefixlen;
    x->scope = ifa->ifa_scope;
    memcpy(x->ip, ip, alen);
    return 0;
}

int netdump_route(const struct nlmsghdr *h, void *data, struct kerr **err)
{
    if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return 0;
    struct rtmsg *rt = NLMSG_DATA(h);
    struct rtattr *tb[RTA_MAX + 1];
    nl_attrs(tb, RTA_MAX, RTM_RTA(rt), (int)RTM_PAYLOAD(h));
    uint32_t table = rt->rtm_table;
    const void *v = attr_data(tb, RTA_TABLE, sizeof(table));
    if (v)
        memcpy(&table, v, sizeof(table));
    if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST ||
        (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6))
        return 0;
    struct route *r = vec_push(data);
    size_t alen = (size_t)net_addr_len(rt->rtm_family);
    r->family = rt->rtm_family;
    r->dst_len = rt->rtm_dst_len;
    r->scope = rt->rtm_scope;
    r->protocol = rt->rtm_protocol;
    r->flags = rt->rtm_flags;
    if ((v = attr_data(tb, RTA_DST, alen)))
        memcpy(r->dst, v, alen);
    if ((r->has_gw = (v = attr_data(tb, RTA_GATEWAY, alen)) != NULL))
        memcpy(r->gw, v, alen);
    if ((r->has_src = (v = attr_data(tb, RTA_PREFSRC, alen)) != NULL))
        memcpy(r->src, v, alen);
    if ((v = attr_data(tb, RTA_OIF, sizeof(r->oif))))
        memcpy(&r->oif, v, sizeof(r->oif));
    return 0;
}
