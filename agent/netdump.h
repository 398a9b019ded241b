/* The kernel's network state as rtnetlink dumps it (links, addresses, main-table routes):
 * the nl_talk dump callbacks that read RTM_NEWLINK/NEWADDR/NEWROUTE messages into arrays. */
#pragma once
#include <linux/if.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct link {
    int index;
    char name[IFNAMSIZ];
    uint32_t mtu, flags;
    uint8_t mac[32];
    size_t mac_len;
    char kind[32];
};

struct addr {
    int index, family, prefix, scope;
    uint8_t ip[16];
};

struct route {
    int family, dst_len, oif, scope, protocol;
    bool has_gw, has_src;
    uint8_t dst[16], gw[16], src[16];
    uint32_t flags;
};

/* A growable array of fixed-size items. */
struct vec {
    void *v;
    size_t n, size;
};
void *vec_push(struct vec *a);
void vec_free(struct vec *a);
#define cleanup_vec __attribute__((cleanup(vec_free)))
#define VEC(type)                                                                                  \
    {                                                                                              \
        .size = sizeof(type)                                                                       \
    }

/* nl_dump_fn callbacks; data is a struct vec of struct link / addr / route. */
int netdump_link(const struct nlmsghdr *h, void *data, struct kerr **err);
int netdump_addr(const struct nlmsghdr *h, void *data, struct kerr **err);
int netdump_route(const struct nlmsghdr *h, void *data, struct kerr **err);
