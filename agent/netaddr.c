#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int net_parse_mac(const char *s, uint8_t mac[NET_MAC_LEN])
{
    if (!s || strlen(s) != NET_MAC_STRLEN - 1)
        return -EINVAL;
    for (int i = 0; i < NET_MAC_LEN; i++) {
        const char *p = s + 3 * i;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (i < NET_MAC_LEN - 1 && p[2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void net_format_mac(const uint8_t *mac, size_t len, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; i < len; i++)
        sprintf(out + 3 * i, i + 1 < len ? "%02x:" : "%02x", mac[i]);
}

int net_parse_ip(const char *s, uint8_t addr[16])
{
    if (!s)
        return -EINVAL;
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, addr) == 1)
        return AF_INET6;
    return -EINVAL;
}

int net_parse_prefix(const char *s, int family)
{
    if (!s || !isdigit((unsigned char)s[0]) || strlen(s) > 3)
        return -EINVAL;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v > (family == AF_INET6 ? 128 : 32))
        return -EINVAL;
    return (int)v;
}

int net_parse_cidr(const char *s, uint8_t addr[16], int *ret_prefix)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (!s || strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    int family = net_parse_ip(buf, addr);
    if (family < 0)
        return family;
    int prefix = slash ? net_parse_prefix(slash + 1, family) : net_addr_len(family) * 8;
    if (prefix < 0)
        return prefix;
    *ret_prefix = prefix;
    return family;
}
