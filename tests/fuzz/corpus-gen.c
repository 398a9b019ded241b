/* Writes the generated seeds of tests/fuzz/corpus/<target>/ (make fuzz-corpus): real requests
 * encoded with the project's own encoders, netlink replies laid out as the kernel sends them,
 * and typical command lines, configuration files, paths and uevents. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"
#include "xalloc.h"

static const char *outdir;

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void put_text(const char *target, const char *name, const char *text)
{
    put(target, name, text, strlen(text));
}

struct buf {
    uint8_t *p;
    size_t len;
};

static void add(struct buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    b->p = xrealloc(b->p, b->len + len);
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

static struct buf pack(const ProtobufCMessage *m)
{
    struct buf b = {xmalloc(protobuf_c_message_get_packed_size(m) + 1), 0};
    b.len = protobuf_c_message_pack(m, b.p);
    return b;
}

/* ---------------------------------------------------------------- requests */

static struct buf envelope(const char *service, const char *method, const struct buf *payload)
{
    Ttrpc__Request r = TTRPC__REQUEST__INIT;
    r.service = (char *)service;
    r.method = (char *)method;
    r.payload.data = payload->p;
    r.payload.len = payload->len;
    r.timeout_nano = 5000000000LL;
    return pack(&r.base);
}

static void add_frame(struct buf *b, uint32_t stream, uint8_t type, const struct buf *body)
{
    uint8_t h[TTRPC_HEADER_LEN];
    struct ttrpc_header hd = {.length = (uint32_t)body->len, .stream_id = stream, .type = type};
    ttrpc_header_encode(&hd, h);
    add(b, h, sizeof(h));
    add(b, body->p, body->len);
}

/* One seed for each of agent-request (method byte + payload), ttrpc-envelope and ttrpc-frame
 * (read-size byte + one frame). */
static void request(const char *name, const char *method, const ProtobufCMessage *m)
{
    const ProtobufCServiceDescriptor *svc = &grpc__agent_service__descriptor;
    unsigned i = 0;
    while (i < svc->n_methods && strcmp(svc->methods[i].name, method) != 0)
        i++;
    if (i == svc->n_methods || svc->methods[i].input != m->descriptor) {
        fprintf(stderr, "no method %s taking %s\n", method, m->descriptor->name);
        exit(1);
    }
    struct buf payload = pack(m);
    struct buf sel = {0};
    uint8_t idx = (uint8_t)i;
    add(&sel, &idx, 1);
    add(&sel, payload.p, payload.len);
    put("agent-request", name, sel.p, sel.len);

    struct buf env = envelope("grpc.AgentService", method, &payload);
    put("ttrpc-envelope", name, env.p, env.len);

    struct buf frame = {0};
    uint8_t step = (uint8_t)(7 + i % 50);
    add(&frame, &step, 1);
    add_frame(&frame, 1, TTRPC_REQUEST, &env);
    put("ttrpc-frame", name, frame.p, frame.len);
    free(payload.p);
    free(sel.p);
    free(env.p);
    free(frame.p);
}

static void requests(void)
{
    char *args[] = {"/bin/sh", "-c", "echo hello; sleep 1"};
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "HOSTNAME=web", "TERM=xterm"};
    char *caps[] = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE", "CAP_KILL"};
    Grpc__LinuxCapabilities cp = GRPC__LINUX_CAPABILITIES__INIT;
    cp.n_bounding = cp.n_effective = cp.n_permitted = 4;
    cp.bounding = cp.effective = cp.permitted = caps;
    Grpc__POSIXRlimit nofile = GRPC__POSIXRLIMIT__INIT;
    nofile.type = "RLIMIT_NOFILE";
    nofile.hard = nofile.soft = 1024;
    Grpc__POSIXRlimit *rl[] = {&nofile};
    uint32_t gids[] = {10};
    Grpc__User user = GRPC__USER__INIT;
    user.uid = 1000;
    user.gid = 1000;
    user.n_additionalgids = 1;
    user.additionalgids = gids;
    user.username = "app:wheel";
    Grpc__Process proc = GRPC__PROCESS__INIT;
    proc.args = args;
    proc.n_args = 3;
    proc.env = env;
    proc.n_env = 3;
    proc.cwd = "/";
    proc.user = &user;
    proc.capabilities = &cp;
    proc.rlimits = rl;
    proc.n_rlimits = 1;
    proc.nonewprivileges = 1;
    proc.oomscoreadj = 100;

    Grpc__Root root = GRPC__ROOT__INIT;
    root.path = "/run/kata-containers/shared/containers/web-1/rootfs";
    char *dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    char *bind_opts[] = {"rbind", "rprivate", "ro", "nosuid", "nodev"};
    Grpc__Mount m_proc = GRPC__MOUNT__INIT, m_dev = GRPC__MOUNT__INIT, m_bind = GRPC__MOUNT__INIT;
    m_proc.destination = "/proc", m_proc.source = "proc", m_proc.type = "proc";
    m_dev.destination = "/dev", m_dev.source = "tmpfs", m_dev.type = "tmpfs";
    m_dev.options = dev_opts, m_dev.n_options = 4;
    m_bind.destination = "/etc/hostname", m_bind.type = "bind";
    m_bind.source = "/run/kata-containers/shared/containers/web-1-hostname";
    m_bind.options = bind_opts, m_bind.n_options = 5;
    Grpc__Mount *mounts[] = {&m_proc, &m_dev, &m_bind};

    Grpc__LinuxNamespace ns[5];
    Grpc__LinuxNamespace *nsp[5];
    const char *kinds[] = {"pid", "ipc", "uts", "mount", "network"};
    for (int i = 0; i < 5; i++) {
        ns[i] = (Grpc__LinuxNamespace)GRPC__LINUX_NAMESPACE__INIT;
        ns[i].type = (char *)kinds[i];
        nsp[i] = &ns[i];
    }
    Grpc__LinuxCPU cpu = GRPC__LINUX_CPU__INIT;
    cpu.shares = 1024, cpu.quota = 50000, cpu.period = 100000, cpu.cpus = "0-1";
    Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
    mem.limit = 256 << 20, mem.swap = 512 << 20;
    Grpc__LinuxPids pids = GRPC__LINUX_PIDS__INIT;
    pids.limit = 100;
    Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
    res.cpu = &cpu, res.memory = &mem, res.pids = &pids;
    Grpc__Linux lin = GRPC__LINUX__INIT;
    lin.namespaces = nsp, lin.n_namespaces = 5;
    lin.resources = &res;
    lin.cgroupspath = "/kubepods/besteffort/pod1/web-1";
    lin.rootfspropagation = "rslave";
    char *masked[] = {"/proc/kcore", "/sys/firmware"};
    lin.maskedpaths = masked, lin.n_maskedpaths = 2;
    Grpc__Spec spec = GRPC__SPEC__INIT;
    spec.version = "1.0.2";
    spec.process = &proc;
    spec.root = &root;
    spec.hostname = "web";
    spec.mounts = mounts, spec.n_mounts = 3;
    spec.linux = &lin;

    Grpc__CreateContainerRequest cc = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    cc.container_id = "web-1", cc.exec_id = "web-1", cc.oci = &spec;
    request("create-container", "CreateContainer", &cc.base);
    lin.cgroupspath = "system.slice:kata:web-1";
    cc.container_id = "../../etc";
    request("create-container-systemd-hostile-id", "CreateContainer", &cc.base);

    Grpc__ExecProcessRequest ex = GRPC__EXEC_PROCESS_REQUEST__INIT;
    ex.container_id = "web-1", ex.exec_id = "exec-2", ex.process = &proc;
    request("exec-process", "ExecProcess", &ex.base);

    Grpc__UpdateContainerRequest up = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
    up.container_id = "web-1", up.resources = &res;
    request("update-container", "UpdateContainer", &up.base);

    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = "web-1", sig.exec_id = "exec-2", sig.signal = 9;
    request("signal-process", "SignalProcess", &sig.base);

    Grpc__CopyFileRequest cf = GRPC__COPY_FILE_REQUEST__INIT;
    cf.path = "/run/kata-containers/shared/containers/web-1-hostname";
    cf.file_size = 4, cf.file_mode = 0644, cf.dir_mode = 0755;
    cf.data.data = (uint8_t *)"web\n", cf.data.len = 4;
    request("copy-file", "CopyFile", &cf.base);

    Types__IPAddress ip4 = TYPES__IPADDRESS__INIT, ip6 = TYPES__IPADDRESS__INIT;
    ip4.address = "10.0.0.2", ip4.mask = "24";
    ip6.family = TYPES__IPFAMILY__v6, ip6.address = "fe80::42:acff:fe11:2", ip6.mask = "64";
    Types__IPAddress *ips[] = {&ip4, &ip6};
    Types__Interface itf = TYPES__INTERFACE__INIT;
    itf.device = "eth0", itf.name = "eth0", itf.mtu = 1500, itf.hwaddr = "02:42:ac:11:00:02";
    itf.ipaddresses = ips, itf.n_ipaddresses = 2;
    Grpc__UpdateInterfaceRequest ui = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
    ui.interface = &itf;
    request("update-interface", "UpdateInterface", &ui.base);

    Types__Route r1 = TYPES__ROUTE__INIT, r2 = TYPES__ROUTE__INIT;
    r1.gateway = "10.0.0.1", r1.device = "eth0";
    r2.dest = "10.0.0.0/24", r2.device = "eth0", r2.source = "10.0.0.2", r2.scope = 253;
    Types__Route *rts[] = {&r1, &r2};
    Grpc__Routes routes = GRPC__ROUTES__INIT;
    routes.routes = rts, routes.n_routes = 2;
    Grpc__UpdateRoutesRequest ur = GRPC__UPDATE_ROUTES_REQUEST__INIT;
    ur.routes = &routes;
    request("update-routes", "UpdateRoutes", &ur.base);

    Types__ARPNeighbor nb = TYPES__ARPNEIGHBOR__INIT;
    nb.toipaddress = &ip4, nb.device = "eth0", nb.lladdr = "02:42:ac:11:00:03", nb.state = 0x80;
    Types__ARPNeighbor *nbs[] = {&nb};
    Grpc__ARPNeighbors arps = GRPC__ARPNEIGHBORS__INIT;
    arps.arpneighbors = nbs, arps.n_arpneighbors = 1;
    Grpc__AddARPNeighborsRequest an = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
    an.neighbors = &arps;
    request("add-arp-neighbors", "AddARPNeighbors", &an.base);

    /* Streams the frame target serves with the test Health service: several requests in one
     * read, a parked call answered by a later one, a handler closing the connection, a DATA
     * frame, a reused stream id and an oversized length. */
    Grpc__CheckRequest ck = GRPC__CHECK_REQUEST__INIT;
    struct buf stream = {0};
    uint8_t step = 0;
    add(&stream, &step, 1);
    const char *cmds[] = {"park:a", "", "error:5:not here", "release", "stats"};
    for (unsigned i = 0; i < 5; i++) {
        ck.service = (char *)cmds[i];
        struct buf p = pack(&ck.base);
        struct buf e = envelope("grpc.Health", i == 1 ? "Check" : "Version", &p);
        add_frame(&stream, 1 + 2 * i, TTRPC_REQUEST, &e);
        free(p.p);
        free(e.p);
    }
    put("ttrpc-frame", "health-park-release", stream.p, stream.len);
    struct buf empty = {(uint8_t *)"", 0};
    add_frame(&stream, 11, TTRPC_DATA, &empty);
    add_frame(&stream, 5, TTRPC_REQUEST, &empty);
    ck.service = "close";
    struct buf p = pack(&ck.base);
    struct buf e = envelope("grpc.Health", "Version", &p);
    add_frame(&stream, 13, TTRPC_REQUEST, &e);
    put("ttrpc-frame", "health-data-reuse-close", stream.p, stream.len);
    free(stream.p);
    stream = (struct buf){0};
    step = 3;
    add(&stream, &step, 1);
    uint8_t h[TTRPC_HEADER_LEN];
    struct ttrpc_header big = {.length = TTRPC_MAX_DATA + 1, .stream_id = 1, .type = 1};
    ttrpc_header_encode(&big, h);
    add(&stream, h, sizeof(h));
    add(&stream, e.p, e.len);
    put("ttrpc-frame", "oversized", stream.p, stream.len);
    put("ttrpc-envelope", "health-version", e.p, e.len);
    free(stream.p);
    free(p.p);
    free(e.p);
}

/* ---------------------------------------------------------------- netlink */

static void nl_attr(struct buf *b, uint16_t type, const void *data, size_t len)
{
    struct rtattr a = {.rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type};
    add(b, &a, sizeof(a));
    add(b, data, len);
    static const uint8_t pad[4];
    add(b, pad, RTA_ALIGN(len) - len);
}

/* A message of type with the family header and attributes, sequence 1 (the target's). */
static void nl_message(struct buf *out, uint16_t type, const void *hdr, size_t hlen,
                       const struct buf *attrs)
{
    struct nlmsghdr h = {.nlmsg_len = (uint32_t)(NLMSG_LENGTH(hlen) + attrs->len),
                         .nlmsg_type = type,
                         .nlmsg_flags = NLM_F_MULTI,
                         .nlmsg_seq = 1};
    add(out, &h, sizeof(h));
    add(out, hdr, hlen);
    add(out, attrs->p, attrs->len);
}

static void nl_done(struct buf *out)
{
    struct nlmsghdr h = {.nlmsg_len = NLMSG_LENGTH(4), .nlmsg_type = NLMSG_DONE, .nlmsg_seq = 1};
    int zero = 0;
    add(out, &h, sizeof(h));
    add(out, &zero, 4);
}

static void put_nl(const char *name, uint8_t kind, struct buf *msgs)
{
    struct buf b = {0};
    add(&b, &kind, 1);
    add(&b, msgs->p, msgs->len);
    put("netlink-reply", name, b.p, b.len);
    free(b.p);
    free(msgs->p);
    *msgs = (struct buf){0};
}

static void netlink(void)
{
    struct buf out = {0}, at = {0}, info = {0};
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = 0x49};
    uint32_t mtu = 65536;
    uint8_t mac[6] = {0};
    nl_attr(&at, IFLA_IFNAME, "lo", 3);
    nl_attr(&at, IFLA_MTU, &mtu, 4);
    nl_attr(&at, IFLA_ADDRESS, mac, 6);
    nl_message(&out, RTM_NEWLINK, &ifi, sizeof(ifi), &at);
    free(at.p);
    at = (struct buf){0};
    ifi.ifi_index = 2;
    mtu = 1500;
    uint8_t mac2[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
    nl_attr(&at, IFLA_IFNAME, "eth0", 5);
    nl_attr(&at, IFLA_MTU, &mtu, 4);
    nl_attr(&at, IFLA_ADDRESS, mac2, 6);
    nl_attr(&info, IFLA_INFO_KIND, "veth", 5);
    nl_attr(&at, IFLA_LINKINFO, info.p, info.len);
    nl_message(&out, RTM_NEWLINK, &ifi, sizeof(ifi), &at);
    nl_done(&out);
    put_nl("links", 0, &out);
    free(at.p);
    free(info.p);

    at = (struct buf){0};
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 2};
    uint8_t ip4[4] = {10, 0, 0, 2};
    nl_attr(&at, IFA_LOCAL, ip4, 4);
    nl_attr(&at, IFA_ADDRESS, ip4, 4);
    nl_message(&out, RTM_NEWADDR, &ifa, sizeof(ifa), &at);
    free(at.p);
    at = (struct buf){0};
    ifa.ifa_family = AF_INET6, ifa.ifa_prefixlen = 64;
    uint8_t ip6[16] = {0xfe, 0x80, [15] = 2};
    nl_attr(&at, IFA_ADDRESS, ip6, 16);
    nl_message(&out, RTM_NEWADDR, &ifa, sizeof(ifa), &at);
    nl_done(&out);
    put_nl("addresses", 1, &out);
    free(at.p);

    at = (struct buf){0};
    struct rtmsg rt = {.rtm_family = AF_INET,
                       .rtm_dst_len = 0,
                       .rtm_table = RT_TABLE_MAIN,
                       .rtm_protocol = RTPROT_BOOT,
                       .rtm_type = RTN_UNICAST};
    uint8_t gw[4] = {10, 0, 0, 1};
    uint32_t oif = 2, table = RT_TABLE_MAIN;
    nl_attr(&at, RTA_TABLE, &table, 4);
    nl_attr(&at, RTA_GATEWAY, gw, 4);
    nl_attr(&at, RTA_OIF, &oif, 4);
    nl_message(&out, RTM_NEWROUTE, &rt, sizeof(rt), &at);
    free(at.p);
    at = (struct buf){0};
    rt.rtm_dst_len = 24, rt.rtm_scope = RT_SCOPE_LINK, rt.rtm_protocol = RTPROT_KERNEL;
    uint8_t dst[4] = {10, 0, 0, 0};
    nl_attr(&at, RTA_TABLE, &table, 4);
    nl_attr(&at, RTA_DST, dst, 4);
    nl_attr(&at, RTA_PREFSRC, ip4, 4);
    nl_attr(&at, RTA_OIF, &oif, 4);
    nl_message(&out, RTM_NEWROUTE, &rt, sizeof(rt), &at);
    nl_done(&out);
    put_nl("routes", 2, &out);
    free(at.p);

    struct nlmsgerr ack = {.error = 0};
    struct buf none = {0};
    nl_message(&out, NLMSG_ERROR, &ack, sizeof(ack), &none);
    put_nl("ack", 3, &out);
    ack.error = -EEXIST;
    nl_message(&out, NLMSG_ERROR, &ack, sizeof(ack), &none);
    put_nl("error-eexist", 3, &out);
}

/* ---------------------------------------------------------------- text */

static void put_uevent(const char *name, uint8_t kind, const char *const f[5])
{
    struct buf b = {0};
    add(&b, &kind, 1);
    for (int i = 0; i < 5; i++)
        add(&b, f[i], strlen(f[i]) + (i < 4));
    put("uevent", name, b.p, b.len);
    free(b.p);
}

static void texts(void)
{
    static const char *const cmdlines[][2] = {
        {"kata-default",
         "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 "
         "i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 "
         "pci=lastbus=0 root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro "
         "rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 "
         "nr_cpus=2 selinux=0 systemd.unit=kata-containers.target "
         "systemd.mask=systemd-networkd.service agent.log=debug agent.debug_console "
         "agent.debug_console_vport=1026 agent.log_vport=1025"},
        {"init-params",
         "console=ttyS0 kata.init_debug kata.agent=\"/usr/bin/kata-agent --flag x\" "
         "systemd.unified_cgroup_hierarchy=0 cgroup_no_v1=all kata.init_defer_setup=no -- "
         "init args"},
        {"agent-values",
         "agent.hotplug_timeout=10 agent.launch_process_timeout=3 agent.container_pipe_size=65536 "
         "agent.https_proxy=http://proxy:3128 agent.no_proxy=localhost,10.0.0.0/8 agent.trace=true "
         "agent.server_addr=vsock://-1:1024 agent.guest_components_procs=api-server-rest "
         "agent.guest_components_rest_api=all agent.passfd_listener_port=1027 agent.unknown=1"},
        {"agent-bad-values",
         "agent.log=loud agent.hotplug_timeout=0 agent.debug_console_vport=-1 "
         "agent.container_pipe_size=abc agent.config_file=/nonexistent \"agent.devmode\""},
    };
    for (size_t i = 0; i < sizeof(cmdlines) / sizeof(cmdlines[0]); i++) {
        put_text("init-cmdline", cmdlines[i][0], cmdlines[i][1]);
        put_text("agent-cmdline", cmdlines[i][0], cmdlines[i][1]);
    }
    put_text("agent-toml", "upstream-example",
             "# agent configuration\n"
             "dev_mode = true\n"
             "debug_console = false\n"
             "log_level = \"debug\"\n"
             "server_addr = 'vsock://-1:1024'\n"
             "hotplug_timeout = { secs = 5, nanos = 0 }\n"
             "launch_process_timeout = [6, 0]\n"
             "container_pipe_size = 0\n"
             "unified_cgroup_hierarchy = false\n"
             "https_proxy = \"\"\n"
             "guest_components_procs = \"none\"\n"
             "[endpoints]\n"
             "allowed = [\"CreateContainerRequest\", \"StartContainerRequest\"]\n"
             "[cdh_api_timeout]\n"
             "secs = 50\n"
             "nanos = 0\n");
    put_text("agent-toml", "bad-types",
             "log_level = 3\ndev_mode = \"yes\"\nhotplug_timeout = { secs = 5 }\n[unterminated\n");
    put_text("agent-toml", "strings",
             "no_proxy = \"a\\tb\\u0041\\\"c\"\nserver_addr = '''x'''\nlog_vport = -2147483649\n");

    /* Values at and past the integer limits. */
    put_text("agent-cmdline", "huge-values",
             "agent.hotplug_timeout=9223372036854775807 agent.cdi_timeout=99999999999 "
             "agent.launch_process_timeout=-9223372036854775808 "
             "agent.container_pipe_size=4294967296 agent.log_vport=2147483648 "
             "agent.mem_agent_memcg_period_secs=18446744073709551616 "
             "agent.mem_agent_compact_sec_max=-9223372036854775809 "
             "agent.mem_agent_memcg_swappiness_max=256");
    put_text("agent-toml", "huge-values",
             "hotplug_timeout = { secs = 9223372036854775807, nanos = 999999999 }\n"
             "launch_process_timeout = [-9223372036854775808, -1]\n"
             "cdi_timeout = { secs = 18446744073709551615, nanos = 0 }\n"
             "log_vport = 2147483648\n");
    put_text("path", "plain", "/etc/passwd");
    put_text("path", "dots", "/a/b/../../../../etc/./passwd");
    put_text("path", "symlinks", "a/b/far/etc/passwd");
    put_text("path", "escaped", "/a/b\\040c/\\134\\012x/slash/up/proc-root");

    static const char *const pci[5] = {
        "/devices/pci0000:00/0000:00:02.0/0000:01:03.0",
        "/devices/pci0000:00/0000:00:02.0/0000:01:03.0/virtio4/block/vdb", "block", "vdb", "02/03"};
    put_uevent("pci", 0, pci);
    static const char *const mmio[5] = {
        "vda", "/devices/platform/a000.virtio_mmio/virtio0/block/vda", "block", "vda", "01.1"};
    put_uevent("mmio", 1, mmio);
    static const char *const scsi[5] = {
        "0:0:1:2", "/devices/pci0000:00/0000:00:05.0/virtio2/host0/target0:0:1/0:0:1:2/block/sdc",
        "block", "sdc", "04/00"};
    put_uevent("scsi", 2, scsi);
    static const char *const pmem[5] = {
        "pmem1",
        "/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region1/namespace1.0/block/pmem1",
        "block", "pmem1", "1f.7/00/00"};
    put_uevent("pmem", 3, pmem);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
        perror(outdir);
        return 1;
    }
    requests();
    netlink();
    texts();
    return 0;
}
