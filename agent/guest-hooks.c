/* CreateSandbox's guest_hook_path: upstream scans <dir>/{prestart,poststart,poststop} for
 * executable regular files and appends them to every container's hooks; a missing directory
 * only means no hooks of that kind. This agent runs no OCI hooks (README), so the scan is
 * reported in the log, which says what would run, and nothing fails. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

void guest_hooks_scan(const char *dir)
{
    static const char *const kinds[] = {"prestart", "poststart", "poststop"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        cleanup_free char *path = xasprintf("%s/%s", dir, kinds[i]);
        cleanup_dir DIR *d = opendir(path);
        if (!d) {
            log_info("hooks", "no %s hooks: %s: %m", kinds[i], path);
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                continue;
            log_warn("hooks", "found %s hook %s/%s: OCI hooks are not run by this agent", kinds[i],
                     path, e->d_name);
        }
    }
}
