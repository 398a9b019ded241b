#!/usr/bin/env bats
# kata-agent's networking RPCs (UpdateInterface, UpdateRoutes, AddARPNeighbors, ListInterfaces,
# ListRoutes) against a real kernel: the agent runs in a network namespace of its own holding a
# veth pair, and every change is checked with ip(8) in that namespace.
load agent_helper

MAC=02:00:00:00:00:01

setup_file() {
    if agent_netns_setup "kata-agent-net-$$"; then
        ip -n "$NETNS" link add v0 type veth peer name v1
        ip -n "$NETNS" link set v0 address "$MAC"
        ip -n "$NETNS" link set v1 up
    fi
    agent_setup_file
}

teardown_file() { agent_netns_teardown_file; }

setup() { agent_netns_test_setup; }
teardown() { agent_teardown; }

nsip() { ip -n "$NETNS" "$@"; }

@test "ListInterfaces: the links of the agent's namespace, with MAC, MTU and addresses" {
    run actl list-interfaces
    assert_success
    assert_line --regexp '^lo hwaddr=00:00:00:00:00:00 mtu=65536 .*addrs=127.0.0.1/8'
    assert_line --regexp "^v0 hwaddr=$MAC mtu=1500 .*type=veth addrs=\$"
    assert_line --regexp '^v1 .*type=veth'
    # the host's links are not visible: the agent works on its own namespace only
    [ "$(echo "$output" | wc -l)" = 3 ]
}

@test "UpdateInterface by MAC: rename, MTU, NOARP, addresses replaced, link up" {
    nsip addr add 10.9.9.9/24 dev v0
    run actl update-interface --mac "$MAC" --name eth0 --mtu 1400 --noarp --ip 10.1.2.3/24 --ip fd00::5/64
    assert_success
    assert_output --regexp "^eth0 hwaddr=$MAC mtu=1400 flags=0x[0-9a-f]+ type=veth addrs=10.1.2.3/24,fd00::5/64"
    run nsip -o link show eth0
    assert_success
    assert_output --partial 'mtu 1400'
    assert_output --regexp '<[^>]*NOARP[^>]*,UP[,>]'
    run nsip -o addr show dev eth0
    assert_output --partial 'inet 10.1.2.3/24'
    assert_output --partial 'inet6 fd00::5/64'
    refute_output --partial '10.9.9.9'
    run nsip link show v0
    assert_failure
}

@test "UpdateInterface again: addresses are replaced, link-local kept, found by name without MAC" {
    run actl update-interface --name eth0 --ip 10.1.3.4/16
    assert_success
    run nsip -o addr show dev eth0
    assert_output --partial 'inet 10.1.3.4/16'
    refute_output --partial '10.1.2.3'
    refute_output --partial 'fd00::5'
    run actl update-interface --mac "$MAC" --ip 10.1.2.3/24 --ip fd00::5/64
    assert_success
    run nsip -o addr show dev eth0
    assert_output --partial 'inet 10.1.2.3/24'
    refute_output --partial '10.1.3.4'
}

@test "UpdateInterface: an absent MAC fails with the text \"Link not found\"" {
    run actl update-interface --mac 02:00:00:00:00:99 --ip 10.7.0.1/24
    assert_failure 2
    assert_output 'INTERNAL: update interface: Link not found (Address: 02:00:00:00:00:99)'
}

@test "UpdateInterface: invalid MAC, IP or mask is INVALID_ARGUMENT and changes nothing" {
    run actl update-interface --mac 02:00:00:00:00 --ip 10.7.0.1/24
    assert_failure 2
    assert_output 'INVALID_ARGUMENT: invalid hwAddr 02:00:00:00:00'
    run actl update-interface --mac "$MAC" --ip 10.7.0.300/24
    assert_output 'INVALID_ARGUMENT: invalid IP address 10.7.0.300'
    run actl update-interface --mac "$MAC" --ip 10.7.0.1/33
    assert_output 'INVALID_ARGUMENT: invalid mask 33 for 10.7.0.1'
    run actl update-interface
    assert_output --partial 'INVALID_ARGUMENT'
    run nsip -o addr show dev eth0
    assert_output --partial 'inet 10.1.2.3/24'
    refute_output --partial '10.7.0.1'
}

@test "UpdateInterface: a kernel refusal is INTERNAL with the errno text" {
    run actl update-interface --mac "$MAC" --mtu 100000000
    assert_failure 2
    assert_output --regexp '^INTERNAL: .*eth0.*Invalid argument'
}

@test "UpdateRoutes: link route, default gateway and gateway route replace the device's routes" {
    nsip route add 10.50.0.0/16 dev eth0
    run actl update-routes --route 10.1.2.0/24,,eth0,10.1.2.3,253 --route ,10.1.2.1,eth0 \
        --route 192.168.5.0/24,10.1.2.254,eth0
    assert_success
    assert_line 'dest=default gw=10.1.2.1 dev=eth0 src= scope=0 family=v4'
    assert_line 'dest=10.1.2.0/24 gw= dev=eth0 src=10.1.2.3 scope=253 family=v4'
    assert_line 'dest=192.168.5.0/24 gw=10.1.2.254 dev=eth0 src= scope=0 family=v4'
    run nsip route show
    assert_line --regexp '^default via 10.1.2.1 dev eth0'
    assert_line --regexp '^10.1.2.0/24 dev eth0 .*scope link src 10.1.2.3'
    assert_line --regexp '^192.168.5.0/24 via 10.1.2.254 dev eth0'
    refute_output --partial '10.50.0.0'
}

@test "UpdateRoutes: IPv6 gateway route" {
    run actl update-routes --route ,10.1.2.1,eth0 --route 2001:db8::/32,fd00::1,eth0
    assert_success
    assert_line 'dest=2001:db8::/32 gw=fd00::1 dev=eth0 src= scope=0 family=v6'
    run nsip -6 route show
    assert_line --regexp '^2001:db8::/32 via fd00::1 dev eth0'
    # the kernel's own routes (connected subnets, link-local) stay
    assert_line --regexp '^fd00::/64 dev eth0'
    run nsip route show
    refute_output --partial '192.168.5.0'
}

@test "ListRoutes: what the kernel has" {
    run actl list-routes
    assert_success
    assert_line 'dest=default gw=10.1.2.1 dev=eth0 src= scope=0 family=v4'
    assert_line --regexp '^dest=10.1.2.0/24 gw= dev=eth0 .*family=v4$'
    assert_line 'dest=2001:db8::/32 gw=fd00::1 dev=eth0 src= scope=0 family=v6'
    [ "$(echo "$output" | grep -c family=v4)" = "$(nsip -4 route show table main | wc -l)" ]
}

@test "UpdateRoutes: unknown device NOT_FOUND, bad CIDR/gateway INVALID_ARGUMENT, unreachable gateway INTERNAL" {
    run actl update-routes --route 10.9.0.0/16,,nosuch
    assert_failure 2
    assert_output 'NOT_FOUND: route to 10.9.0.0/16: device "nosuch" not found'
    run actl update-routes --route 10.9.0.0/40,,eth0
    assert_output 'INVALID_ARGUMENT: invalid route destination 10.9.0.0/40'
    run actl update-routes --route 10.9.0.0/16,10.1.2.x,eth0
    assert_output 'INVALID_ARGUMENT: invalid route gateway 10.1.2.x'
    run actl update-routes --route 10.9.0.0/16,fd00::1,eth0
    assert_output --partial 'INVALID_ARGUMENT'
    # validation happens before anything changes
    run nsip route show
    assert_line --regexp '^default via 10.1.2.1 dev eth0'
    run actl update-routes --route 10.9.0.0/16,172.16.0.1,eth0
    assert_failure 2
    assert_output 'INTERNAL: add route 10.9.0.0/16 via 172.16.0.1 dev eth0: rtnetlink: Network is unreachable'
}

@test "AddARPNeighbors: permanent by default, explicit state, IPv6" {
    run actl add-arp --ip 10.1.2.9 --mac 02:aa:bb:cc:dd:ee --dev eth0
    assert_success
    run actl add-arp --ip 10.1.2.10 --mac 02:aa:bb:cc:dd:0f --dev eth0 --state 4
    assert_success
    run actl add-arp --ip fd00::9 --mac 02:aa:bb:cc:dd:01 --dev eth0
    assert_success
    run nsip neigh show dev eth0
    assert_line --regexp '^10.1.2.9 lladdr 02:aa:bb:cc:dd:ee PERMANENT'
    assert_line --regexp '^10.1.2.10 lladdr 02:aa:bb:cc:dd:0f STALE'
    assert_line --regexp '^fd00::9 lladdr 02:aa:bb:cc:dd:01 PERMANENT'
}

@test "AddARPNeighbors: bad IP or MAC INVALID_ARGUMENT, unknown device NOT_FOUND" {
    run actl add-arp --ip 10.1.2.x --mac 02:aa:bb:cc:dd:ee --dev eth0
    assert_failure 2
    assert_output 'INVALID_ARGUMENT: invalid neighbor IP address 10.1.2.x'
    run actl add-arp --ip 10.1.2.11 --mac 02:aa:bb --dev eth0
    assert_output 'INVALID_ARGUMENT: invalid neighbor lladdr 02:aa:bb'
    run actl add-arp --mac 02:aa:bb:cc:dd:ee --dev eth0
    assert_output 'INVALID_ARGUMENT: invalid neighbor IP address (none)'
    run actl add-arp --ip 10.1.2.11 --mac 02:aa:bb:cc:dd:ee --dev nosuch
    assert_output 'NOT_FOUND: neighbor 10.1.2.11: device "nosuch" not found'
    run nsip neigh show 10.1.2.11
    assert_output ''
}

@test "the host's network namespace was never touched" {
    run ip -o link show
    refute_output --partial "$MAC"
    run ip route show
    refute_output --partial '10.1.2.1'
}
