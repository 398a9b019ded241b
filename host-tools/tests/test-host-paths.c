/* paths_remove_tree against real mounts (root): it removes a tree, follows no symlink, and
 * leaves alone whatever is mounted below it, a bind of the same file system included (same
 * st_dev: only the mount-root attribute tells it), so a volume still mounted under a sandbox's
 * directory loses nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "tests/tap.h"
#include "xalloc.h"

static char base[] = "/tmp/test-host-paths.XXXXXX";

static void put(const char *rel, const char *text)
{
    char *p = xasprintf("%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    free(p);
}

static void dir(const char *rel)
{
    char *p = xasprintf("%s/%s", base, rel);
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
        perror(p);
        exit(1);
    }
    free(p);
}

static bool exists(const char *rel)
{
    char *p = xasprintf("%s/%s", base, rel);
    bool r = access(p, F_OK) == 0;
    free(p);
    return r;
}

static char *at(const char *rel)
{
    return xasprintf("%s/%s", base, rel);
}

int main(void)
{
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    dir("keep");
    put("keep/data", "precious\n");

    /* a plain tree, with a symlink out of it */
    dir("t1");
    dir("t1/a");
    dir("t1/a/b");
    put("t1/a/b/f", "x");
    char *link = at("t1/a/out"), *keep = at("keep");
    if (symlink(keep, link) < 0)
        perror("symlink");
    char *t1 = at("t1");
    tap_ok(paths_remove_tree(t1) == 0 && !exists("t1"), "a tree is removed");
    tap_ok(exists("keep/data"), "a symlink out of it is removed, not followed");

    /* a bind of the same file system below it */
    bool root = tap_ok(geteuid() == 0, "runs as root (the mounts below need it)");
    dir("t2");
    dir("t2/vol");
    put("t2/other", "y");
    char *vol = at("t2/vol");
    bool bound = root && mount(keep, vol, NULL, MS_BIND, NULL) == 0;
    if (root) {
        char *t2 = at("t2");
        struct stat a, b;
        tap_ok(bound && stat(vol, &a) == 0 && stat(keep, &b) == 0 && a.st_dev == b.st_dev,
               "the bind has the same st_dev as the tree");
        int r = paths_remove_tree(t2);
        tap_ok(r == -EBUSY && exists("keep/data") && exists("t2/vol/data") && !exists("t2/other"),
               "a bind of the same file system is left mounted and untouched (%d)", r);
        umount2(vol, MNT_DETACH);
        tap_ok(paths_remove_tree(t2) == 0 && !exists("t2"), "once unmounted, the rest goes");
        free(t2);

        dir("t3");
        dir("t3/tmp");
        char *tmp = at("t3/tmp"), *t3 = at("t3");
        bool mounted = mount("tmpfs", tmp, "tmpfs", 0, "size=1m") == 0;
        put("t3/tmp/inside", "z");
        r = paths_remove_tree(t3);
        tap_ok(mounted && r == -EBUSY && exists("t3/tmp/inside"),
               "a tmpfs below the tree is left untouched (%d)", r);
        umount2(tmp, MNT_DETACH);
        paths_remove_tree(t3);
        free(tmp);
        free(t3);
    }
    paths_remove_tree(base);
    free(vol);
    free(t1);
    free(link);
    free(keep);
    return tap_done();
}
