#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "xalloc.h"

bool str_empty(const char *s)
{
    return s == NULL || *s == '\0';
}

void unescape_octal(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

int write_file_at(int dirfd, const char *name, const char *value, struct kerr **err)
{
    cleanup_close int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return make_error(err, errno, "open %s", name);
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    if (n < 0)
        return make_error(err, errno, "write '%s' to %s", value, name);
    if ((size_t)n != len)
        return make_error(err, EIO, "short write of '%s' to %s", value, name);
    return 0;
}

int write_file(const char *path, const char *value, struct kerr **err)
{
    return write_file_at(AT_FDCWD, path, value, err);
}

int read_file_at(int dirfd, const char *name, char **ret, struct kerr **err)
{
    cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return make_error(err, errno, "open %s", name);
    size_t cap = 4096, len = 0;
    cleanup_free char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(err, errno, "read %s", name);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret = steal_ptr(buf);
    return 0;
}

int read_file(const char *path, char **ret, struct kerr **err)
{
    return read_file_at(AT_FDCWD, path, ret, err);
}

int mkdir_p(const char *path, unsigned mode, struct kerr **err)
{
    /* The parents usually exist (a cgroup per hierarchy per container): one mkdir, and the
     * walk from the root only when it says a parent is missing. */
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return make_error(err, errno, "mkdir %s", path);
    cleanup_free char *p = xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return make_error(err, errno, "mkdir %s", p);
        *s = c;
        if (c == '\0')
            break;
    }
    return 0;
}

bool is_mountpoint(const char *path)
{
    struct stat self, parent;
    if (stat(path, &self) < 0)
        return false;
    cleanup_free char *up = xasprintf("%s/..", path);
    if (stat(up, &parent) < 0)
        return false;
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}
