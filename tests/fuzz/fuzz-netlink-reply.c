/* The rtnetlink reply reader (agent/netlink.c nl_parse_reply) with the dump parsers of the
 * agent's network RPCs (agent/netdump.c) on arbitrary datagrams. The first byte picks the
 * dump (links, addresses, routes, or a plain ACK wait), the rest is the datagram; sequence
 * number 1 is the request's. */
#include "fuzz.h"

#include <sys/socket.h>

#include "agent/netdump.h"
#include "agent/netlink.h"
#include "cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const struct {
        nl_dump_fn fn;
        size_t item;
    } dumps[] = {
        {netdump_link, sizeof(struct link)},
        {netdump_addr, sizeof(struct addr)},
        {netdump_route, sizeof(struct route)},
        {NULL, 1},
    };
    unsigned k = data[0] % (sizeof(dumps) / sizeof(dumps[0]));
    /* A datagram lands in an aligned buffer of exactly its size, as recv() leaves it. */
    size_t n = size - 1;
    cleanup_free char *buf = malloc(n ? n : 1);
    memcpy(buf, data + 1, n);
    struct vec v = {.size = dumps[k].item};
    cleanup_error struct kerr *err = NULL;
    int ret = 0;
    nl_parse_reply(buf, n, 1, dumps[k].fn, &v, &ret, &err);
    FUZZ_CHECK(ret <= 0, "positive status %d", ret);
    FUZZ_CHECK(ret == 0 || (err && err->msg), "failure without a message");
    for (size_t i = 0; k == 0 && i < v.n; i++) {
        const struct link *l = (const struct link *)v.v + i;
        FUZZ_CHECK(memchr(l->name, 0, sizeof(l->name)), "link name not terminated");
        FUZZ_CHECK(memchr(l->kind, 0, sizeof(l->kind)), "link kind not terminated");
        FUZZ_CHECK(l->mac_len <= sizeof(l->mac), "mac length %zu", l->mac_len);
    }
    vec_free(&v);
    return 0;
}
