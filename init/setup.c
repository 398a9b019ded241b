#include "setup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups.h"
#include "cleanup.h"
#include "cmdline.h"
#include "console.h"
#include "fsutil.h"
#include "mounts.h"
#include "net.h"
#include "root.h"
#include "strv.h"

/* Mounts every entry of a stage; a failed optional mount is a warning. */
static int mount_stage(enum mount_stage stage, struct kerr **err)
{
    for (size_t i = 0; i < mounts_early_count; i++) {
        const struct mount_spec *m = &mounts_early[i];
        if (m->stage != stage)
            continue;
        cleanup_error struct kerr *e = NULL;
        bool skipped;
        if (mount_spec_apply(m, &skipped, &e) < 0) {
            if (m->required)
                return make_error(err, e->errnum, "%s", e->msg);
            init_warn("%s", e->msg);
            continue;
        }
        init_debug("%s %s (%s)", skipped ? "already mounted:" : "mounted", m->target, m->fstype);
    }
    return 0;
}

int setup_base(struct kerr **err)
{
    /* First, while "/" holds no other mount: the bind mount then copies only itself. */
    bool moved = false;
    cleanup_error struct kerr *root_err = NULL;
    (void)root_leave_initramfs(&moved, &root_err);
    int r = mount_stage(MOUNT_BASE, err);
    if (r < 0)
        return r;
    r = console_attach_stdio();
    if (r < 0)
        return make_error(err, -r, "open /dev/console");
    if (root_err)
        init_warn("%s: the agent has to leave the initramfs itself", root_err->msg);
    return 0;
}

static void setup_cgroup_v2(void)
{
    cleanup_error struct kerr *e = NULL;
    if (cgroup_v2_mount(&e) < 0) {
        init_warn("%s", e->msg);
        return;
    }
    cleanup_free char *text = NULL;
    if (read_file(CGROUP_ROOT "/cgroup.controllers", &text, &e) < 0) {
        init_warn("%s", e->msg);
        return;
    }
    /* One write per controller: a single refused controller must not block the others. */
    char **names = cmdline_split_words(text);
    for (size_t i = 0; names && names[i]; i++) {
        cleanup_error struct kerr *we = NULL;
        if (cgroup_v2_enable(names[i], &we) < 0)
            init_warn("cgroup controller %s: %s", names[i], we->msg);
        else
            init_debug("cgroup v2 controller %s enabled", names[i]);
    }
    strv_free(names);
}

static void setup_cgroup_v1(void)
{
    cleanup_error struct kerr *e = NULL;
    cleanup_free char *text = NULL;
    if (read_file("/proc/cgroups", &text, &e) < 0) {
        init_warn("%s", e->msg);
        return;
    }
    char **names = cgroup_v1_controllers(text);
    if (cgroup_v1_mount_root(&e) < 0) {
        init_warn("%s", e->msg);
        strv_free(names);
        return;
    }
    for (size_t i = 0; names[i]; i++) {
        cleanup_error struct kerr *ce = NULL;
        if (cgroup_v1_mount_controller(names[i], &ce) < 0)
            init_warn("%s", ce->msg);
        else
            init_debug("cgroup v1 %s mounted", names[i]);
    }
    strv_free(names);
    /* The memory hierarchy is always hierarchical on current kernels; the write is for
     * older ones and may be refused harmlessly. */
    (void)write_file(CGROUP_ROOT "/memory/memory.use_hierarchy", "1", NULL);
    if (cgroup_v1_seal_root(&e) < 0)
        init_warn("%s", e->msg);
}

static void setup_ptmx(void)
{
    /* Openers of /dev/ptmx must get the devpts instance mounted at /dev/pts, not the
     * devtmpfs node (which belongs to the kernel's initial instance). */
    if (unlink("/dev/ptmx") < 0 && errno != ENOENT)
        init_warn("remove /dev/ptmx: %s", strerror(errno));
    if (symlink("pts/ptmx", "/dev/ptmx") < 0)
        init_warn("link /dev/ptmx to pts/ptmx: %s", strerror(errno));
}

int setup_system(struct kerr **err)
{
    return mount_stage(MOUNT_AGENT, err);
}

void setup_for_containers(bool cgroup_v1)
{
    /* This may run while the agent serves: nothing here stops init, not even a mount marked
     * required. */
    cleanup_error struct kerr *e = NULL;
    if (mount_stage(MOUNT_CONTAINERS, &e) < 0) {
        init_warn("%s", e->msg);
        error_freep(&e);
    }
    if (cgroup_v1)
        setup_cgroup_v1();
    else
        setup_cgroup_v2();
    setup_ptmx();

    if (net_loopback_up(&e) < 0) {
        init_warn("%s", e->msg);
        error_freep(&e);
    }
    cleanup_free char *name = NULL;
    if (hostname_apply("/etc/hostname", &name, &e) < 0)
        init_warn("%s", e->msg);
    else
        init_debug("hostname %s", name);
}
