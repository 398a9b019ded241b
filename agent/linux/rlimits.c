#include "rlimits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "fsutil.h"
#include "ttrpc.h"

static const struct {
    const char *name;
    int res;
} table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].res;
    return -1;
}

int rlimits_apply(const Grpc__Process *p, struct kerr **err)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const Grpc__POSIXRlimit *l = p->rlimits[i];
        int res = rlimit_from_name(l->type);
        if (res < 0)
            return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown rlimit '%s'",
                               l->type ? l->type : "");
        struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
        if (setrlimit(res, &rl) < 0)
            return make_error(err, errno, "setrlimit %s (soft %llu, hard %llu)", l->type,
                              (unsigned long long)l->soft, (unsigned long long)l->hard);
    }
    return 0;
}

int oom_score_adj_apply(long long value, struct kerr **err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", value);
    return write_file("/proc/self/oom_score_adj", buf, err);
}
