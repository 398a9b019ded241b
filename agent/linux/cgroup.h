/* Container cgroups, v1 (one hierarchy per controller under <root>/<controller>) and v2
 * (unified, <root>/cgroup.controllers exists), detected at run time. The root is
 * /sys/fs/cgroup unless cgroup_open_root() names another one (tests use a fake tree: every
 * controller file is written like a plain file, so the tree only needs the files to exist).
 *
 * Values in LinuxResources that are 0 mean "not set" (proto3 has no presence), as upstream
 * Kata treats them. Conversions follow crun: shares -> cpu.weight linearly from [2, 262144]
 * to [1, 10000]; quota/period -> cpu.max "QUOTA PERIOD" or "max PERIOD"; v2 swap is
 * memory.swap.max = swap - limit (OCI's swap counts memory + swap); limits of -1 mean "max";
 * blkio weight [10, 1000] -> io.weight [1, 10000] (io.bfq.weight takes it as is). Swap limits
 * are skipped where the kernel has no swap accounting. Not applied: Resources.Devices and
 * Network (upstream's runtime strips them), v2 swappiness/kernel memory/OOM-killer switch
 * (no v2 files); v2 realtime limits are refused. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "agent.pb-c.h"

struct cgroup;

/* Maps an OCI cgroupsPath to a path relative to the cgroup root, without leading '/':
 *   "/kata/abc"              -> "kata/abc"
 *   "system.slice:kata:abc"  -> "system.slice/kata-abc.scope" (systemd "slice:prefix:name";
 *                               "a-b.slice" expands to "a.slice/a-b.slice")
 *   ""                       -> "kata/<container_id>"
 * ".." components and bad systemd forms are INVALID_ARGUMENT. */
int cgroup_path_from_spec(const char *cgroups_path, const char *container_id, char **ret_path,
                          struct kerr **err);

/* Creates (or adopts) the cgroup `path` (from cgroup_path_from_spec) below `root` (NULL =
 * /sys/fs/cgroup), enables the needed v2 controllers in its ancestors and applies `res`
 * (may be NULL). */
int cgroup_create(const char *root, const char *path, const Grpc__LinuxResources *res,
                  struct cgroup **ret, struct kerr **err);
/* Moves pid (and all its threads) into the cgroup, in every v1 hierarchy. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct kerr **err);
/* UpdateContainer: applies the set fields of res. */
int cgroup_update(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err);
/* OnlineCPUMem: writes guest_cpus (the online set) to cpuset.cpus of every level from the top
 * of the cgroup's path down to the cgroup itself, then container_cpus (if set) to the cgroup.
 * An empty guest_cpus changes nothing. */
int cgroup_update_cpuset_path(struct cgroup *cg, const char *guest_cpus, const char *container_cpus,
                              struct kerr **err);
/* Freezes (true) or thaws (false) every process of the cgroup; waits until the state holds. */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct kerr **err);
/* Pids of every process in the cgroup (and its children). *ret_pids is xmalloc'd. */
int cgroup_pids(struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct kerr **err);
/* Sends sig to every process: freeze, kill, thaw (SignalProcess SIGKILL with empty exec id). */
int cgroup_kill_all(struct cgroup *cg, int sig, struct kerr **err);
/* Removes the cgroup directories (the processes must be gone; retries briefly on EBUSY). */
int cgroup_destroy(struct cgroup *cg, struct kerr **err);
void cgroup_free(struct cgroup *cg);

bool cgroup_is_v2(const struct cgroup *cg);
/* Directory of the cgroup in the v2 tree, or in the given v1 controller's hierarchy
 * ("memory", "cpu", ...); NULL if that v1 controller is not mounted. */
const char *cgroup_dir(const struct cgroup *cg, const char *controller);

/* Pure conversions, exposed for the unit tests. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
/* "QUOTA PERIOD" or "max PERIOD" into buf; period 0 means the default 100000. */
void cgroup_cpu_max(int64_t quota, uint64_t period, char *buf, size_t len);
/* memory.swap.max for v2 from OCI limit and swap (memory+swap) into buf: "max" for -1.
 * Returns 1 when there is a value to write, 0 when swap is unset, or an INVALID_ARGUMENT
 * error (swap without a memory limit, swap below the limit). */
int cgroup_swap_v2(int64_t limit, int64_t swap, char *buf, size_t len, struct kerr **err);

/* StatsContainer: the cgroup's counters as upstream reports them (cpu in nanoseconds, memory
 * in bytes, memory.stat as the stats map, hugetlb per page size). Counters a kernel does not
 * provide stay 0. Free with cgroup_stats_free(). */
int cgroup_stats(struct cgroup *cg, Grpc__CgroupStats **ret, struct kerr **err);
void cgroup_stats_free(Grpc__CgroupStats *s);

/* GetOOMEvent: an fd that becomes readable when the kernel may have OOM-killed a process of
 * the cgroup (v2: inotify on memory.events; v1: eventfd on memory.oom_control). After it
 * polls readable, cgroup_oom_check() drains it and tells what happened since the last check.
 * v1 notifies when the cgroup enters OOM, before the kernel picks a victim: that is PENDING,
 * and the caller checks again shortly for the kill. The fd belongs to the cgroup (closed by
 * cgroup_free). */
enum cgroup_oom {
    CGROUP_OOM_NONE,
    CGROUP_OOM_KILLED,  /* a kill (or, with the OOM killer disabled, the cgroup stuck in OOM) */
    CGROUP_OOM_PENDING, /* v1 entered OOM, no kill counted yet */
};
int cgroup_oom_fd(struct cgroup *cg, int *ret_fd, struct kerr **err);
int cgroup_oom_check(struct cgroup *cg, enum cgroup_oom *ret, struct kerr **err);
