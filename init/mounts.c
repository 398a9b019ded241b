#include "mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "fsutil.h"
#include "strv.h"
#include "xalloc.h"

#define NOSUID_NODEV (MS_NOSUID | MS_NODEV)

const struct mount_spec mounts_early[] = {
    {"proc", "/proc", "proc", NOSUID_NODEV | MS_NOEXEC, NULL, MOUNT_BASE, true},
    {"sysfs", "/sys", "sysfs", NOSUID_NODEV | MS_NOEXEC, NULL, MOUNT_BASE, true},
    {"dev", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", MOUNT_BASE, true},
    {"tmpfs", "/run", "tmpfs", NOSUID_NODEV, "mode=0755", MOUNT_AGENT, true},
    /* newinstance keeps container devpts mounts independent of this one; ptmxmode lets
     * /dev/ptmx (a link to pts/ptmx) be opened by anyone, as on a normal system. */
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620",
     MOUNT_CONTAINERS, false},
    {"shm", "/dev/shm", "tmpfs", NOSUID_NODEV, "mode=1777", MOUNT_CONTAINERS, false},
    {"tmpfs", "/tmp", "tmpfs", NOSUID_NODEV, "mode=1777", MOUNT_CONTAINERS, false},
};
const size_t mounts_early_count = sizeof(mounts_early) / sizeof(mounts_early[0]);

int mount_spec_apply(const struct mount_spec *m, bool *ret_skipped, struct kerr **err)
{
    *ret_skipped = false;
    int r = mkdir_p(m->target, 0755, err);
    if (r < 0)
        return r;
    if (is_mountpoint(m->target)) {
        *ret_skipped = true;
        return 0;
    }
    if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0)
        return make_error(err, errno, "mount %s (%s) on %s", m->source, m->fstype, m->target);
    return 0;
}

char **mountinfo_targets(const char *text)
{
    size_t n = 0;
    char **targets = xcalloc(1, sizeof(char *));
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t linelen = eol ? (size_t)(eol - line) : strlen(line);
        /* Fields: id parent major:minor root mount-point options ... */
        const char *p = line, *end = line + linelen;
        for (int field = 0; field < 4 && p < end; field++) {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            p = sp ? sp + 1 : end;
        }
        if (p < end) {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            size_t len = sp ? (size_t)(sp - p) : (size_t)(end - p);
            if (len > 0) {
                targets = xrealloc(targets, (n + 2) * sizeof(char *));
                targets[n] = xstrndup(p, len);
                unescape_octal(targets[n++]);
                targets[n] = NULL;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return targets;
}

int mounts_unmount_all(void)
{
    cleanup_free char *text = NULL;
    if (read_file("/proc/self/mountinfo", &text, NULL) < 0)
        return -1;
    char **targets = mountinfo_targets(text);
    size_t n = 0;
    while (targets[n])
        n++;
    int failed = 0;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(targets[i], "/") == 0)
            continue;
        if (umount2(targets[i], 0) == 0)
            continue;
        /* EINVAL/ENOENT: it went away with a parent that was detached before. */
        if (errno == EINVAL || errno == ENOENT)
            continue;
        if (umount2(targets[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            failed++;
    }
    strv_free(targets);
    (void)mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
    return failed;
}
