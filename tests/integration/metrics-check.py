#!/usr/bin/python3
"""Checks kata-agent's GetMetrics text (parsed by prometheus_client's parser) against the
families upstream's agent exports and against what /proc says.

usage: metrics-check.py METRICS_FILE AGENT_PID
Prints one line per failed check and exits 1 if any failed."""
import os
import sys

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
pid = sys.argv[2]
fams = {f.name: f for f in text_string_to_metric_families(text)}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def samples(name):
    return fams[name].samples if name in fams else []


def by(name, *labels):
    return {tuple(s.labels[l] for l in labels): s.value for s in samples(name)}


TYPES = {
    "kata_agent_scrape_count": "counter",
    "kata_agent_threads": "gauge",
    "kata_agent_total_time": "gauge",
    "kata_agent_total_vm": "gauge",
    "kata_agent_total_rss": "gauge",
    "kata_agent_proc_status": "gauge",
    "kata_agent_io_stat": "gauge",
    "kata_agent_proc_stat": "gauge",
    "kata_guest_load": "gauge",
    "kata_guest_tasks": "gauge",
    "kata_guest_cpu_time": "gauge",
    "kata_guest_vm_stat": "gauge",
    "kata_guest_netdev_stat": "gauge",
    "kata_guest_diskstat": "gauge",
    "kata_guest_meminfo": "gauge",
    "kata_guest_filesystem_bytes": "gauge",
    "kata_guest_filesystem_inodes": "gauge",
}
for name, typ in TYPES.items():
    check(name in fams, f"family {name} missing")
    if name in fams:
        check(fams[name].type == typ, f"{name}: type {fams[name].type}, want {typ}")
        check(fams[name].documentation != "", f"{name}: no help text")
check(set(fams) == set(TYPES), f"unexpected families: {set(fams) - set(TYPES)}")

# the families are sorted by name, as upstream's registry emits them
order = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")]
check(order == sorted(order), f"families not in name order: {order}")

# ---- the agent process
status = {}
for line in open(f"/proc/{pid}/status"):
    k, _, v = line.partition(":")
    status[k] = v.split()[0] if v.split() else ""
check(by("kata_agent_threads") == {(): float(status["Threads"])}, "threads != Threads")
PROC_STATUS = ["vmpeak", "vmsize", "vmlck", "vmpin", "vmhwm", "vmrss", "rssanon", "rssfile",
               "rssshmem", "vmdata", "vmstk", "vmexe", "vmlib", "vmpte", "vmswap", "hugetlbpages",
               "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
ps = by("kata_agent_proc_status", "item")
check(set(k[0] for k in ps) == set(PROC_STATUS), f"proc_status items {sorted(ps)}")
# the agent's heap moves a little between its reading and ours
check(abs(ps.get(("vmsize",), 0) - float(status["VmSize"])) <= 16384,
      "proc_status vmsize != VmSize (kB)")
check(ps.get(("vmexe",)) == float(status["VmExe"]), "proc_status vmexe != VmExe (kB)")
io = by("kata_agent_io_stat", "item")
check(set(k[0] for k in io) == {"rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes",
                                 "cancelled_write_bytes"}, f"io_stat items {sorted(io)}")
check(io.get(("rchar",), 0) > 0, "io_stat rchar is 0")
pst = by("kata_agent_proc_stat", "item")
check(set(k[0] for k in pst) == {"utime", "stime", "cutime", "cstime"}, f"proc_stat {sorted(pst)}")
vm = by("kata_agent_total_vm")[()]
check(abs(vm - float(status["VmSize"]) * 1024) <= 16 << 20, f"total_vm {vm} != VmSize*1024")
rss = by("kata_agent_total_rss")[()]
check(0 < rss < 4 * 1024**3 and rss % os.sysconf("SC_PAGE_SIZE") == 0, f"total_rss {rss}")
check(by("kata_agent_total_time")[()] >= 0, "total_time < 0")

# ---- the guest (here: the host's kernel, seen from the agent's namespaces)
load = by("kata_guest_load", "item")
check(set(k[0] for k in load) == {"load1", "load5", "load15"}, f"load items {sorted(load)}")
tasks = by("kata_guest_tasks", "item")
check(1 <= tasks.get(("cur",), 0) <= tasks.get(("max",), 0), f"tasks {tasks}")

ncpu = sum(1 for l in open("/proc/stat") if l.startswith("cpu") and l[3] != " ")
cpu = by("kata_guest_cpu_time", "cpu", "item")
CPU_ITEMS = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
             "guest_nice"}
check(set(c for c, _ in cpu) == {"total"} | {str(i) for i in range(ncpu)},
      f"cpu labels {sorted(set(c for c, _ in cpu))}")
check(all(set(i for c2, i in cpu if c2 == c) == CPU_ITEMS for c, _ in cpu), "cpu_time items")
check(cpu[("total", "idle")] >= cpu[("0", "idle")] > 0, "cpu_time total idle < cpu0 idle")
hz = os.sysconf("SC_CLK_TCK")
idle_ticks = int(open("/proc/stat").readline().split()[4])
check(abs(cpu[("total", "idle")] - idle_ticks * 1000 // hz) < 1000 * 60 * ncpu,
      "cpu_time total idle is not in milliseconds")

vmstat_keys = {l.split()[0] for l in open("/proc/vmstat")}
vms = by("kata_guest_vm_stat", "item")
check(set(k[0] for k in vms) == vmstat_keys, "vm_stat items != /proc/vmstat keys")

netdevs = {l.split(":")[0].strip() for l in open(f"/proc/{pid}/net/dev") if ":" in l}
nd = by("kata_guest_netdev_stat", "interface", "item")
check(set(i for i, _ in nd) == netdevs, f"netdev interfaces {set(i for i, _ in nd)} != {netdevs}")
check(all(len([1 for i2, _ in nd if i2 == i]) == 16 for i, _ in nd), "netdev: 16 items each")
check(("lo", "recv_bytes") in nd and ("lo", "sent_compressed") in nd, "netdev lo items")

disks = {l.split()[2] for l in open("/proc/diskstats")}
ds = by("kata_guest_diskstat", "disk", "item")
check(set(d for d, _ in ds) == disks, "diskstat disks != /proc/diskstats")
check(all(len([1 for d2, _ in ds if d2 == d]) == 17 for d, _ in ds), "diskstat: 17 items each")

meminfo = {}
for l in open("/proc/meminfo"):
    k, _, v = l.partition(":")
    f = v.split()
    meminfo[k] = int(f[0]) * (1024 if len(f) > 1 and f[1] == "kB" else 1)
mi = by("kata_guest_meminfo", "item")
check(len(mi) == 58, f"meminfo has {len(mi)} items, want upstream's 58")
check(mi.get(("mem_total",)) == meminfo["MemTotal"], "meminfo mem_total != MemTotal (bytes)")
check(mi.get(("swap_total",)) == meminfo["SwapTotal"], "meminfo swap_total != SwapTotal")
check(mi.get(("hugepages_total",)) == meminfo.get("HugePages_Total", 0), "hugepages_total")
check(mi.get(("vmalloc_total",)) == meminfo["VmallocTotal"], "vmalloc_total")


# filesystems: writable ext4/xfs/btrfs/vfat/overlay mounts of the agent, one per device
def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")


want = {}
seen = set()
for l in open(f"/proc/{pid}/mountinfo"):
    f = l.split()
    d = f.index("-", 6)
    fstype, source, sopts = f[d + 1], f[d + 2], f[d + 3]
    if fstype not in ("ext4", "xfs", "btrfs", "vfat", "overlay") or "ro" in sopts.split(","):
        continue
    if f[2] in seen:
        continue
    seen.add(f[2])
    want[(unescape(source).rsplit("/", 1)[-1], unescape(f[4]))] = f[2]
fb = by("kata_guest_filesystem_bytes", "device", "mount", "item")
fi = by("kata_guest_filesystem_inodes", "device", "mount", "item")
got = {(d, m) for d, m, _ in fb}
check(got == set(want), f"filesystems {sorted(got)} != {sorted(want)}")
for dev, mnt in sorted(got & set(want)):
    items = {i for d, m, i in fb if (d, m) == (dev, mnt)}
    check(items == {"total", "used", "available"}, f"{mnt}: bytes items {items}")
    t, u, a = (fb.get((dev, mnt, k)) for k in ("total", "used", "available"))
    check(t == u + a, f"{mnt}: total != used + available")
    it, iu, ia = (fi.get((dev, mnt, k)) for k in ("total", "used", "available"))
    check(it == iu + ia, f"{mnt}: inodes total != used + available")
for extra in sys.argv[3:]:
    check(any(m == extra for _, m in got), f"mount {extra!r} not reported")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
