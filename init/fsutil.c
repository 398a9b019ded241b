#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

int fs_read_file(const char *path, char **ret_text, struct kerr **err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return make_error(err, errno, "open %s", path);
    size_t cap = 4096, len = 0;
    cleanup_free char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return make_error(err, errno, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret_text = steal_ptr(buf);
    return 0;
}

int fs_write_file(const char *path, const char *text, struct kerr **err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return make_error(err, errno, "open %s", path);
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (n < 0)
        return make_error(err, errno, "write '%s' to %s", text, path);
    if ((size_t)n != len)
        return make_error(err, EIO, "short write to %s", path);
    return 0;
}

int fs_mkdir_p(const char *path, mode_t mode, struct kerr **err)
{
    cleanup_free char *copy = xstrdup(path);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return make_error(err, errno, "mkdir %s", copy);
        *p = saved;
        if (saved == '\0')
            break;
    }
    return 0;
}

bool fs_is_mountpoint(const char *path)
{
    struct stat self, parent;
    if (stat(path, &self) < 0)
        return false;
    cleanup_free char *up = xasprintf("%s/..", path);
    if (stat(up, &parent) < 0)
        return false;
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}
