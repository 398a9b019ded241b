/* Paths the host names: the mountinfo unescape (common/fsutil.c) and the in-root resolver
 * (agent/linux/mounts.c mount_open_in_root, openat2 RESOLVE_IN_ROOT) against a fixed
 * container root full of hostile symlinks. Whatever the path, what it opens must lie inside
 * the root. */
#include "fuzz.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/linux/mounts.h"
#include "cleanup.h"
#include "fsutil.h"

static int root_fd = -1;
static char root_path[PATH_MAX];

static void make_root(void)
{
    char tmpl[] = "/tmp/fuzz-path.XXXXXX";
    if (!mkdtemp(tmpl))
        abort();
    if (!realpath(tmpl, root_path))
        abort();
    root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0 || mkdirat(root_fd, "etc", 0755) < 0 || mkdirat(root_fd, "a", 0755) < 0 ||
        mkdirat(root_fd, "a/b", 0755) < 0)
        abort();
    close(openat(root_fd, "etc/passwd", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    static const char *const links[][2] = {
        {"/", "slash"},
        {"..", "up"},
        {"../../../..", "a/b/far"},
        {"/etc", "a/etc"},
        {"/proc/self/root", "proc-root"},
        {"a/b/far/etc", "x"},
        {"loop1", "loop2"},
        {"loop2", "loop1"},
        {"/../..//./", "a/dots"},
        {"../../tmp", "a/tmp"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlinkat(links[i][0], root_fd, links[i][1]) < 0)
            abort();
}

static void remove_root(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root_path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", root_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (root_fd < 0) {
        make_root();
        atexit(remove_root);
    }
    cleanup_free char *path = fuzz_cstr(data, size);
    size_t before = strlen(path);
    unescape_octal(path);
    FUZZ_CHECK(strlen(path) <= before, "unescape grew the string");

    cleanup_error struct kerr *err = NULL;
    int fd = mount_open_in_root(root_fd, path, O_PATH, &err);
    if (fd < 0) {
        FUZZ_CHECK(err && err->msg, "failure without a message");
        return 0;
    }
    char proc[64], where[PATH_MAX];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, where, sizeof(where) - 1);
    close(fd);
    FUZZ_CHECK(n > 0, "readlink %s", proc);
    where[n] = '\0';
    size_t rl = strlen(root_path);
    FUZZ_CHECK(strncmp(where, root_path, rl) == 0 && (where[rl] == '\0' || where[rl] == '/'),
               "%s resolved to %s, outside %s", path, where, root_path);
    return 0;
}
