#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"

static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int cap_from_name(const char *name)
{
    if (name == NULL || strncasecmp(name, "CAP_", 4) != 0)
        return -1;
    for (int i = 0; i < N_CAPS; i++)
        if (strcasecmp(name + 4, cap_names[i]) == 0)
            return i;
    return -1;
}

int caps_mask(char *const *names, size_t n, uint64_t *ret, struct kerr **err)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int c = cap_from_name(names[i]);
        if (c < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown capability '%s'", names[i]);
        m |= UINT64_C(1) << c;
    }
    *ret = m;
    return 0;
}

int caps_from_spec(const Grpc__LinuxCapabilities *c, struct caps_sets *ret, struct kerr **err)
{
    struct caps_sets s;
    int r = caps_mask(c->bounding, c->n_bounding, &s.bounding, err);
    if (r == 0)
        r = caps_mask(c->effective, c->n_effective, &s.effective, err);
    if (r == 0)
        r = caps_mask(c->inheritable, c->n_inheritable, &s.inheritable, err);
    if (r == 0)
        r = caps_mask(c->permitted, c->n_permitted, &s.permitted, err);
    if (r == 0)
        r = caps_mask(c->ambient, c->n_ambient, &s.ambient, err);
    if (r == 0)
        *ret = s;
    return r;
}

/* Capabilities the running kernel knows; higher bits of a spec are ignored like crun does. */
static int last_cap(void)
{
    cleanup_free char *s = NULL;
    if (read_file("/proc/sys/kernel/cap_last_cap", &s, NULL) < 0)
        return N_CAPS - 1;
    int v = atoi(s);
    return v > 0 && v < 64 ? v : N_CAPS - 1;
}

int caps_prepare(const struct caps_sets *s, struct kerr **err)
{
    int last = last_cap();
    for (int c = 0; c <= last; c++) {
        if (s->bounding & (UINT64_C(1) << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return make_error(err, errno, "drop capability %d from the bounding set", c);
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return make_error(err, errno, "prctl PR_SET_KEEPCAPS");
    return 0;
}

int caps_finish(const struct caps_sets *s, struct kerr **err)
{
    uint64_t known = (UINT64_C(2) << last_cap()) - 1;
    uint64_t eff = s->effective & known, perm = s->permitted & known;
    uint64_t inh = s->inheritable & known;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
        {.effective = (uint32_t)(eff >> 32),
         .permitted = (uint32_t)(perm >> 32),
         .inheritable = (uint32_t)(inh >> 32)},
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        return make_error(err, errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return make_error(err, errno, "clear ambient capabilities");
    for (int c = 0; c < 64; c++) {
        if (!(s->ambient & known & (UINT64_C(1) << c)))
            continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return make_error(err, errno, "raise ambient capability %s",
                              c < N_CAPS ? cap_names[c] : "?");
    }
    (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    return 0;
}
