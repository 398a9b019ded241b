/* Unit tests of the agent's address parsing (MAC, IP, prefix, CIDR), TAP. */
#include "tests/tap.h"
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/netaddr.h"

int main(void)
{
    uint8_t mac[NET_MAC_LEN], ip[16];
    char text[NET_MAC_STRLEN];
    int prefix = -1;
    tap_plan(12);

    tap_ok(net_parse_mac("02:Aa:bB:0c:dd:ff", mac) == 0 && mac[0] == 2 && mac[1] == 0xaa &&
               mac[5] == 0xff,
           "MAC: mixed case");
    net_format_mac(mac, sizeof(mac), text);
    tap_ok(strcmp(text, "02:aa:bb:0c:dd:ff") == 0, "MAC: formats lowercase, colon separated");
    tap_ok(net_parse_mac("02:aa:bb:0c:dd", mac) < 0 &&
               net_parse_mac("02:aa:bb:0c:dd:ff:", mac) < 0 &&
               net_parse_mac("02-aa-bb-0c-dd-ff", mac) < 0 &&
               net_parse_mac("0g:aa:bb:0c:dd:ff", mac) < 0 && net_parse_mac("", mac) < 0 &&
               net_parse_mac(NULL, mac) < 0,
           "MAC: short, long, wrong separator, non-hex, empty, NULL rejected");
    tap_ok(net_parse_ip("10.1.2.3", ip) == AF_INET && ip[0] == 10 && ip[3] == 3, "IP: IPv4");
    tap_ok(net_parse_ip("fd00::5", ip) == AF_INET6 && ip[0] == 0xfd && ip[15] == 5, "IP: IPv6");
    tap_ok(net_parse_ip("10.1.2.300", ip) < 0 && net_parse_ip("", ip) < 0 &&
               net_parse_ip("10.1.2.3/24", ip) < 0 && net_parse_ip(NULL, ip) < 0,
           "IP: out of range, empty, with prefix, NULL rejected");
    tap_ok(net_parse_prefix("0", AF_INET) == 0 && net_parse_prefix("32", AF_INET) == 32 &&
               net_parse_prefix("128", AF_INET6) == 128,
           "prefix: bounds accepted");
    tap_ok(net_parse_prefix("33", AF_INET) < 0 && net_parse_prefix("129", AF_INET6) < 0 &&
               net_parse_prefix("-1", AF_INET) < 0 && net_parse_prefix("24x", AF_INET) < 0 &&
               net_parse_prefix("", AF_INET) < 0 && net_parse_prefix("0024", AF_INET) < 0,
           "prefix: too long, negative, trailing text, empty rejected");
    tap_ok(net_parse_cidr("192.168.5.0/24", ip, &prefix) == AF_INET && prefix == 24 && ip[0] == 192,
           "CIDR: IPv4 with prefix");
    tap_ok(net_parse_cidr("2001:db8::/32", ip, &prefix) == AF_INET6 && prefix == 32 &&
               ip[1] == 0x01,
           "CIDR: IPv6 with prefix");
    tap_ok(net_parse_cidr("10.0.0.1", ip, &prefix) == AF_INET && prefix == 32,
           "CIDR: bare address is a host route");
    tap_ok(net_parse_cidr("10.0.0.0/33", ip, &prefix) < 0 &&
               net_parse_cidr("10.0.0/8", ip, &prefix) < 0 &&
               net_parse_cidr("/8", ip, &prefix) < 0 &&
               net_parse_cidr("1111:2222:3333:4444:5555:6666:7777:8888:9999/64", ip, &prefix) < 0,
           "CIDR: bad prefix, short address, no address, overlong rejected");
    return tap_done();
}
