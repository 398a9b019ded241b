/* Text forms of link-layer and IP addresses as the runtime sends them (pure, no syscalls). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define NET_MAC_LEN 6
#define NET_MAC_STRLEN 18

/* "aa:bb:cc:dd:ee:ff" (case-insensitive) into mac; 0 or -EINVAL. */
int net_parse_mac(const char *s, uint8_t mac[NET_MAC_LEN]);
/* Formats len bytes as colon-separated lowercase hex into out (3*len bytes). */
void net_format_mac(const uint8_t *mac, size_t len, char *out);
/* An IPv4 or IPv6 address: returns AF_INET / AF_INET6, or -EINVAL. */
int net_parse_ip(const char *s, uint8_t addr[16]);
/* Decimal prefix length valid for family; -EINVAL otherwise. */
int net_parse_prefix(const char *s, int family);
/* "ADDR/PREFIX" or a bare ADDR (full-length prefix): returns the family, or -EINVAL. */
int net_parse_cidr(const char *s, uint8_t addr[16], int *ret_prefix);
static inline int net_addr_len(int family)
{
    return family == 10 /* AF_INET6 */ ? 16 : 4;
}
