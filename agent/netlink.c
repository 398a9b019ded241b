#include "netlink.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ttrpc.h"

void *nl_msg_init(struct nl_msg *msg, uint16_t type, uint16_t flags, size_t hdr_len)
{
    memset(msg, 0, sizeof(*msg));
    msg->h.nlmsg_len = NLMSG_LENGTH(hdr_len);
    msg->h.nlmsg_type = type;
    msg->h.nlmsg_flags = NLM_F_REQUEST | flags;
    return NLMSG_DATA(&msg->h);
}

void nl_msg_put(struct nl_msg *msg, uint16_t type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(msg->h.nlmsg_len);
    if (off + RTA_SPACE(len) > sizeof(msg->buf))
        abort();
    struct rtattr *rta = (struct rtattr *)(msg->buf + off);
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(rta), data, len);
    msg->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

void nl_msg_put_u32(struct nl_msg *msg, uint16_t type, uint32_t v)
{
    nl_msg_put(msg, type, &v, sizeof(v));
}

void nl_msg_put_str(struct nl_msg *msg, uint16_t type, const char *s)
{
    nl_msg_put(msg, type, s, strlen(s) + 1);
}

int nl_open(struct kerr **err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return make_status(err, RPC_INTERNAL, errno, "netlink socket");
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int one = 1;
    /* extended ACKs carry the kernel's reason text; older kernels just ignore the option */
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return make_status(err, RPC_INTERNAL, e, "netlink bind");
    }
    return fd;
}

static int nl_error(const struct nlmsghdr *h, struct kerr **err)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        return make_status(err, RPC_INTERNAL, EPROTO, "netlink: short error message");
    const struct nlmsgerr *e = NLMSG_DATA(h);
    if (e->error == 0)
        return 0;
    /* The kernel sends a negative errno; anything else is not one to negate or print. */
    if (e->error < -4095 || e->error > 0)
        return make_status(err, RPC_INTERNAL, EPROTO, "rtnetlink: bad error code %d", e->error);
    return make_status(err, RPC_INTERNAL, -e->error, "rtnetlink");
}

bool nl_parse_reply(const char *buf, size_t n, uint32_t seq, nl_dump_fn fn, void *data, int *ret,
                    struct kerr **err)
{
    for (size_t off = 0; off + sizeof(struct nlmsghdr) <= n;) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
        if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > n - off)
            break;
        off += NLMSG_ALIGN(h->nlmsg_len);
        if (h->nlmsg_seq != seq)
            continue;
        if (h->nlmsg_type == NLMSG_DONE)
            return true;
        if (h->nlmsg_type == NLMSG_ERROR) {
            *ret = nl_error(h, err);
            return true;
        }
        if (fn && *ret == 0)
            *ret = fn(h, data, err); /* keep reading so the socket ends clean */
    }
    return false;
}

int nl_talk(int fd, struct nl_msg *msg, nl_dump_fn fn, void *data, struct kerr **err)
{
    static uint32_t seq;
    msg->h.nlmsg_seq = ++seq;
    if (!fn)
        msg->h.nlmsg_flags |= NLM_F_ACK;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, msg->buf, msg->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return make_status(err, RPC_INTERNAL, errno, "netlink send");

    size_t cap = 32768;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    int ret = 0;
    for (bool done = false; !done;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = make_status(err, RPC_INTERNAL, errno, "netlink recv");
            break;
        }
        if (nl_parse_reply(buf, (size_t)n, msg->h.nlmsg_seq, fn, data, &ret, err))
            done = true;
        if (n == 0)
            break;
    }
    free(buf);
    return ret;
}

void nl_attrs(struct rtattr **tb, int max, struct rtattr *rta, int len)
{
    memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
        if (rta->rta_type <= max)
            tb[rta->rta_type] = rta;
}
