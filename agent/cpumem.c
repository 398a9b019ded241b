/* OnlineCPUMem and MemHotplugByProbe: bringing hot-plugged vCPUs and memory into use.
 *
 * The runtime sends OnlineCPUMem{nb_cpus: N, cpu_only: true} right after it hot-added vCPUs
 * (N is the total it wants online, not a delta) and OnlineCPUMem{0, false} after every
 * CreateContainer/UpdateContainer. A hot-added CPU shows up in sysfs a little after QEMU's
 * device_add returns, so upstream retries 100 times, 50 ms apart, before it fails; here the
 * retries run on a loop timer with the call parked, so other calls are answered meanwhile.
 * `wait` is ignored, as upstream ignores it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "linux/cgroup.h"
#include "log.h"
#include "xalloc.h"

#define SYSFS_CPU_DIR "/sys/devices/system/cpu"
#define SYSFS_CPU_ONLINE SYSFS_CPU_DIR "/online"
#define SYSFS_MEMORY_DIR "/sys/devices/system/memory"
#define SYSFS_MEMORY_PROBE SYSFS_MEMORY_DIR "/probe"

#define ONLINE_RETRIES 100
#define ONLINE_RETRY_NS (50 * 1000000LL)

#define REQ(type, call) ((type *)(call)->request)

/* Number of CPUs in a cpulist such as "0-3,6,8-9"; -1 if malformed. */
static int cpulist_count(const char *s)
{
    int n = 0;
    while (*s && !isspace((unsigned char)*s)) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0)
            return -1;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a)
                return -1;
            s = end;
        }
        n += (int)(b - a + 1);
        if (*s == ',')
            s++;
        else if (*s && !isspace((unsigned char)*s))
            return -1;
    }
    return n;
}

static int online_cpu_count(char **ret_list, struct kerr **err)
{
    cleanup_free char *list = NULL;
    int r = read_file(SYSFS_CPU_ONLINE, &list, err);
    if (r < 0)
        return error_wrap(err, r, "onlined cpu count");
    int n = cpulist_count(list);
    if (n < 0)
        return make_error(err, EINVAL, "onlined cpu count: invalid cpu list \"%s\"", list);
    if (ret_list) {
        list[strcspn(list, "\n")] = '\0';
        *ret_list = steal_ptr(list);
    }
    return n;
}

/* True when name contains `prefix` followed by a digit (upstream's unanchored "cpu[0-9]+"). */
static bool matches(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = name; (p = strstr(p, prefix)) != NULL; p++)
        if (isdigit((unsigned char)p[n]))
            return true;
    return false;
}

/* Writes "1" to the `online` file of up to `max` (negative: all) offline entries of dir;
 * returns how many were brought online. Write failures are skipped, as upstream does. */
static int online_entries(const char *dir, const char *prefix, int max, struct kerr **err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return make_error(err, errno, "open %s", dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && (max < 0 || count < max)) {
        if (!matches(e->d_name, prefix))
            continue;
        cleanup_free char *path = xasprintf("%s/%s/online", dir, e->d_name);
        cleanup_free char *cur = NULL;
        if (read_file(path, &cur, NULL) < 0 || !strchr(cur, '0'))
            continue;
        if (write_file(path, "1", NULL) == 0)
            count++;
    }
    return count;
}

struct online_op {
    struct sandbox *sb;
    struct ttrpc_call *call;
    uint32_t nb_cpus;
    bool cpu_only;
    int tries;
    struct loop_timer *timer;
};

static void op_cancel(struct ttrpc_call *call, void *data)
{
    struct online_op *op = data;
    loop_cancel_timer(op->timer);
    free(op);
}

/* Every container whose spec names cpus gets its cpuset path widened to the online set. */
static int update_cpusets(struct sandbox *sb, struct kerr **err)
{
    cleanup_free char *guest = NULL;
    int r = online_cpu_count(&guest, err);
    if (r < 0)
        return r;
    for (struct container *c = sb->containers; c; c = c->next) {
        const Grpc__Spec *s = c->spec;
        if (!c->cg || !s || !s->linux || !s->linux->resources || !s->linux->resources->cpu ||
            str_empty(s->linux->resources->cpu->cpus))
            continue;
        log_info("cpumem", "updating the cpuset of container %s to %s", c->id, guest);
        r = cgroup_update_cpuset_path(c->cg, guest, s->linux->resources->cpu->cpus, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* CPUs are online (or were not asked for): memory, then the cpusets, then the answer. */
static void op_finish(struct online_op *op)
{
    struct ttrpc_call *call = op->call;
    call->on_cancel = NULL;
    cleanup_error struct kerr *err = NULL;
    int r = 0;
    /* A kernel without memory hot-plug has no memory directory: nothing to bring online
     * (upstream fails there; its guest kernel always has one). */
    if (!op->cpu_only && access(SYSFS_MEMORY_DIR, F_OK) == 0) {
        r = online_entries(SYSFS_MEMORY_DIR, "memory", -1, &err);
        if (r < 0)
            error_wrap(&err, r, "online memory");
    }
    if (r >= 0 && op->nb_cpus > 0)
        r = update_cpusets(op->sb, &err);
    free(op);
    if (r < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "%s", err->msg);
        return;
    }
    ttrpc_reply(call, NULL);
}

/* The message reads as upstream's anyhow chain under its "online cpus" context. */
static void op_fail(struct online_op *op, const char *cause)
{
    struct ttrpc_call *call = op->call;
    call->on_cancel = NULL;
    free(op);
    ttrpc_reply_error(call, RPC_INTERNAL, "online cpus\n\nCaused by:\n    %s", cause);
}

static void op_retry(struct loop_timer *t, void *data);

/* One pass of upstream's loop: online what is missing, recount, else wait 50 ms. */
static void op_step(struct online_op *op)
{
    cleanup_error struct kerr *err = NULL;
    int online = online_cpu_count(NULL, &err);
    if (online >= 0 && (uint32_t)online < op->nb_cpus) {
        int r = online_entries(SYSFS_CPU_DIR, "cpu", (int)op->nb_cpus - online, &err);
        online = r < 0 ? r : online_cpu_count(NULL, &err);
    }
    if (online < 0) {
        op_fail(op, err->msg);
        return;
    }
    if ((uint32_t)online >= op->nb_cpus) {
        log_info("cpumem", "%d CPU(s) online after %d retries", online, op->tries);
        op_finish(op);
        return;
    }
    op->tries++;
    op->timer = loop_add_timer(op->sb->loop, ONLINE_RETRY_NS, op_retry, op);
}

static void op_retry(struct loop_timer *t, void *data)
{
    struct online_op *op = data;
    op->timer = NULL;
    if (op->tries >= ONLINE_RETRIES) {
        cleanup_free char *cause = xasprintf("failed to online %" PRIu32 " CPU(s) after %d retries",
                                             op->nb_cpus, ONLINE_RETRIES);
        op_fail(op, cause);
        return;
    }
    op_step(op);
}

void cpumem_online(struct ttrpc_call *call, void *sb)
{
    Grpc__OnlineCPUMemRequest *req = REQ(Grpc__OnlineCPUMemRequest, call);
    struct online_op *op = xcalloc(1, sizeof(*op));
    op->sb = sb;
    op->call = call;
    op->nb_cpus = req->nb_cpus;
    op->cpu_only = req->cpu_only;
    call->on_cancel = op_cancel;
    call->cancel_data = op;
    if (op->nb_cpus == 0) {
        op_finish(op);
        return;
    }
    /* A VMM that onlines the CPUs itself needs nothing more: answered at once. */
    op_step(op);
}

void cpumem_hotplug_by_probe(struct ttrpc_call *call, void *sb)
{
    Grpc__MemHotplugByProbeRequest *req = REQ(Grpc__MemHotplugByProbeRequest, call);
    for (size_t i = 0; i < req->n_memhotplugprobeaddr; i++) {
        char addr[32];
        /* upstream writes Rust's {:#X}: a lower-case 0x, upper-case digits */
        snprintf(addr, sizeof(addr), "0x%" PRIX64, req->memhotplugprobeaddr[i]);
        cleanup_error struct kerr *err = NULL;
        cleanup_close int fd = open(SYSFS_MEMORY_PROBE, O_WRONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : write(fd, addr, strlen(addr));
        if (n != (ssize_t)strlen(addr)) {
            int e = n < 0 ? errno : EIO;
            ttrpc_reply_error(call, RPC_INTERNAL, "%s (os error %d)", strerror(e), e);
            return;
        }
        log_info("cpumem", "memory probed at %s", addr);
    }
    ttrpc_reply(call, NULL);
}
