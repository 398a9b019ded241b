/* A minimal rtnetlink client: build a request with attributes, send it, read the ACK or the
 * dump. One NETLINK_ROUTE socket per operation; the agent's loop never waits on it for long
 * because the kernel answers rtnetlink synchronously. */
#pragma once
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NL_MSG_MAX 1024

struct nl_msg {
    union {
        struct nlmsghdr h;
        char buf[NL_MSG_MAX];
    };
};

/* Starts msg as type with flags (NLM_F_REQUEST added) and a family header of hdr_len bytes;
 * returns where that header lives. */
void *nl_msg_init(struct nl_msg *msg, uint16_t type, uint16_t flags, size_t hdr_len);
/* Appends an attribute; aborts if the message would overflow (requests are small and fixed). */
void nl_msg_put(struct nl_msg *msg, uint16_t type, const void *data, size_t len);
void nl_msg_put_u32(struct nl_msg *msg, uint16_t type, uint32_t v);
void nl_msg_put_str(struct nl_msg *msg, uint16_t type, const char *s);

int nl_open(struct kerr **err);
/* Called for every message of a dump; a negative return stops the dump with that error. */
typedef int (*nl_dump_fn)(const struct nlmsghdr *h, void *data, struct kerr **err);
/* Sends msg. Without fn it asks for and waits on the ACK; with fn it reads the dump to its end.
 * Kernel errors fail with INTERNAL and the errno text. */
int nl_talk(int fd, struct nl_msg *msg, nl_dump_fn fn, void *data, struct kerr **err);
/* One datagram of the reply to request seq: runs fn on its messages (until one fails: *ret),
 * and returns true at the end of the reply (NLMSG_DONE, or an NLMSG_ERROR/ACK whose status
 * goes to *ret). */
bool nl_parse_reply(const char *buf, size_t n, uint32_t seq, nl_dump_fn fn, void *data, int *ret,
                    struct kerr **err);
/* Indexes the attributes of [rta, rta+len) by type into tb[0..max]; others are ignored. */
void nl_attrs(struct rtattr **tb, int max, struct rtattr *rta, int len);
