/* Guest-wide RPCs that touch no container: GetGuestDetails, ReseedRandomDev,
 * SetGuestDateTime, RemoveStaleVirtiofsShareMounts. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

/* linux/random.h clashes with musl's sys/ioctl.h; the number is the kernel's ABI. */
#ifndef RNDRESEEDCRNG
#define RNDRESEEDCRNG _IO('R', 0x07)
#endif

#define SYSFS_MEMORY_BLOCK_SIZE "/sys/devices/system/memory/block_size_bytes"
#define SYSFS_MEMORY_PROBE "/sys/devices/system/memory/probe"

#define REQ(type, call) ((type *)(call)->request)

/* The whole (trimmed) text as hex digits, as upstream parses block_size_bytes. */
static int parse_hex(const char *s, uint64_t *ret)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!isxdigit((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

void guest_get_details(struct ttrpc_call *call, void *sb)
{
    Grpc__GuestDetailsRequest *req = REQ(Grpc__GuestDetailsRequest, call);
    Grpc__GuestDetailsResponse resp = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails details = GRPC__AGENT_DETAILS__INIT;
    details.version = AGENT_VERSION;
    details.init_daemon = getpid() == 1;
    details.supports_seccomp = true; /* linux.seccomp is applied (agent/linux/seccomp.c) */
    while (storage_drivers[details.n_storage_handlers])
        details.n_storage_handlers++;
    details.storage_handlers = storage_drivers;
    resp.agent_details = &details;
    if (req->mem_block_size) {
        cleanup_free char *v = NULL;
        cleanup_error struct kerr *err = NULL;
        /* no file (a kernel without memory hot-plug) reads as 0; a bad one is an error */
        if (read_file(SYSFS_MEMORY_BLOCK_SIZE, &v, &err) < 0 && err->errnum != ENOENT) {
            ttrpc_reply_error(call, RPC_INTERNAL, "%s", err->msg);
            return;
        }
        if (v && parse_hex(v, &resp.mem_block_size_bytes) < 0) {
            ttrpc_reply_error(call, RPC_INTERNAL, "Invalid block size");
            return;
        }
    }
    if (req->mem_hotplug_probe) {
        struct stat st;
        if (stat(SYSFS_MEMORY_PROBE, &st) == 0) {
            resp.support_mem_hotplug_probe = true;
        } else if (errno != ENOENT) {
            ttrpc_reply_error(call, RPC_INTERNAL, "stat %s: %s", SYSFS_MEMORY_PROBE,
                              strerror(errno));
            return;
        }
    }
    ttrpc_reply(call, &resp.base);
}

void guest_reseed_random(struct ttrpc_call *call, void *sb)
{
    Grpc__ReseedRandomDevRequest *req = REQ(Grpc__ReseedRandomDevRequest, call);
    cleanup_close int fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "open /dev/random: %s", strerror(errno));
        return;
    }
    /* Mixed into the pool (not credited), then the CRNG is reseeded from it, as upstream. */
    if (req->data.len && write(fd, req->data.data, req->data.len) != (ssize_t)req->data.len) {
        ttrpc_reply_error(call, RPC_INTERNAL, "write /dev/random: %s", strerror(errno));
        return;
    }
    if (ioctl(fd, RNDRESEEDCRNG, 0) < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "reseed the CRNG: %s", strerror(errno));
        return;
    }
    ttrpc_reply(call, NULL);
}

/* The host's clock for a guest whose own is stale: a VM restored from a template (or resumed
 * after a pause) still counts from the moment it was saved. */
void guest_set_date_time(struct ttrpc_call *call, void *sb)
{
    Grpc__SetGuestDateTimeRequest *req = REQ(Grpc__SetGuestDateTimeRequest, call);
    if (req->sec < 0 || req->usec < 0 || req->usec >= 1000000) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "invalid time %lld s %lld us",
                          (long long)req->sec, (long long)req->usec);
        return;
    }
    struct timeval tv = {.tv_sec = (time_t)req->sec, .tv_usec = (suseconds_t)req->usec};
    if (settimeofday(&tv, NULL) < 0) {
        ttrpc_reply_error(call, errno == EPERM ? RPC_PERMISSION_DENIED : RPC_INTERNAL,
                          "set the guest clock: %s", strerror(errno));
        return;
    }
    log_info("agent", "guest clock set to %lld.%06lld", (long long)req->sec, (long long)req->usec);
    ttrpc_reply(call, NULL);
}

/* Unescapes mountinfo's octal escapes (\040 for a space) in place. */
/* A stat() of each mount point below the shared directory lets virtiofsd notice files that
 * are gone on the host and drop their cached fds (kata-containers issue 6455). */
void guest_remove_stale_virtiofs_mounts(struct ttrpc_call *call, void *sb)
{
    cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        ttrpc_reply_error(call, RPC_INTERNAL, "open /proc/self/mountinfo: %s", strerror(errno));
        return;
    }
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char mp[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        unescape_octal(mp);
        if (strncmp(mp, AGENT_SHARE_DIR, strlen(AGENT_SHARE_DIR)) != 0)
            continue;
        struct stat st;
        if (stat(mp, &st) < 0)
            log_info("guest", "stat %s: %m", mp);
    }
    ttrpc_reply(call, NULL);
}
