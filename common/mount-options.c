#include "mount-options.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

struct opt {
    const char *name;
    bool clear;
    unsigned long flag;
};

static const struct opt flag_opts[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
};

static const struct opt prop_opts[] = {
    {"private", false, MS_PRIVATE},       {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},         {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},           {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int mount_propagation_from_name(const char *name, unsigned long *ret, struct kerr **err)
{
    if (str_empty(name)) {
        *ret = MS_REC | MS_SLAVE;
        return 0;
    }
    for (size_t i = 0; i < N(prop_opts); i++)
        if (strcmp(name, prop_opts[i].name) == 0) {
            *ret = prop_opts[i].flag;
            return 0;
        }
    return make_status(err, RPC_INVALID_ARGUMENT, 0, "invalid rootfs propagation '%s'", name);
}

bool mount_flag_option(const char *name, unsigned long *flags)
{
    for (size_t j = 0; j < N(flag_opts); j++)
        if (strcmp(name, flag_opts[j].name) == 0) {
            if (flag_opts[j].clear)
                *flags &= ~flag_opts[j].flag;
            else
                *flags |= flag_opts[j].flag;
            return true;
        }
    return false;
}

void mount_parse_options(char *const *opts, size_t n, struct mount_opts *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (size_t i = 0; i < n; i++) {
        const char *o = opts[i];
        bool known = mount_flag_option(o, &ret->flags);
        for (size_t j = 0; j < N(prop_opts) && !known; j++)
            if (strcmp(o, prop_opts[j].name) == 0) {
                known = true;
                ret->propagation = prop_opts[j].flag;
            }
        if (known)
            continue;
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
            ret->bind = true;
            ret->recursive |= o[0] == 'r';
            continue;
        }
        /* Runtime-only options that must not reach the kernel. */
        if (strcmp(o, "tmpcopyup") == 0 || strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0)
            continue;
        char *data = ret->data ? xasprintf("%s,%s", ret->data, o) : xstrdup(o);
        free(ret->data);
        ret->data = data;
    }
}

void mount_opts_free(struct mount_opts *o)
{
    free(o->data);
    o->data = NULL;
}
