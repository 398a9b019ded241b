/* CopyFile: how the runtime puts files into the guest when nothing is shared (shared_fs=none):
 * regular files in chunks of at most 1 MiB at increasing offsets, directories and symlinks in
 * one request each, all below /run/kata-containers/shared/containers/.
 *
 * Upstream resolves every path inside that directory with libpathrs' Root, so nothing the host
 * names (through "..", absolute symlinks or symlinks pointing out of the share) is written
 * outside it. The same guarantee here comes from openat2(RESOLVE_IN_ROOT): a path is resolved
 * as if the share were "/" — ".." stops at it and symlinks are followed inside it — and the
 * last component is only ever touched through its (resolved) parent directory's fd with
 * O_NOFOLLOW / *at calls, so a symlink as the last component is never followed either. A
 * symlink that CopyFile *creates* may point anywhere (its target is the host's data), as
 * upstream's.
 *
 * Errors are INTERNAL with the step that failed: upstream treats them as not retriable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define REQ(type, call) ((type *)(call)->request)

/* Path components (between slashes, "" and "." dropped, as Rust's Path::components). */
struct comps {
    char **v;
    size_t n;
    char *buf;
};

static void comps_free(struct comps *c)
{
    free(c->v);
    free(c->buf);
}

static void comps_split(const char *path, struct comps *c)
{
    c->buf = xstrdup(path);
    c->v = xcalloc(strlen(path) / 2 + 2, sizeof(*c->v));
    c->n = 0;
    for (char *s = c->buf, *w; (w = strsep(&s, "/"));)
        if (w[0] && strcmp(w, ".") != 0)
            c->v[c->n++] = w;
}

/* "a/b/c" from the first n components ("." when n is 0). */
static char *comps_join(const struct comps *c, size_t n)
{
    size_t len = 2;
    for (size_t i = 0; i < n; i++)
        len += strlen(c->v[i]) + 1;
    char *s = xcalloc(1, len);
    if (n == 0)
        strcpy(s, ".");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(s, "/");
        strcat(s, c->v[i]);
    }
    return s;
}

/* Opens rel (relative) resolved with root as "/". */
static int open_in_root(int root, const char *rel, int flags, struct kerr **err)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        return make_error(err, ENOSYS,
                          "openat2 is not available in this kernel: cannot resolve %s safely", rel);
    if (fd < 0)
        return make_error(err, errno, "open %s in the shared directory", rel);
    return (int)fd;
}

/* mkdir -p of the first n components inside root (each created with mode, existing ones and
 * symlinks resolving inside root kept); returns an fd of the last directory. */
static int mkdir_all(int root, const struct comps *c, size_t n, mode_t mode, const char *what,
                     struct kerr **err)
{
    cleanup_close int cur = open_in_root(root, ".", O_RDONLY | O_DIRECTORY, err);
    if (cur < 0)
        return cur;
    for (size_t i = 0; i < n; i++) {
        if (mkdirat(cur, c->v[i], mode) < 0 && errno != EEXIST)
            return make_error(err, errno, "%s: mkdir %s", what, c->v[i]);
        cleanup_free char *rel = comps_join(c, i + 1);
        int next = open_in_root(root, rel, O_RDONLY | O_DIRECTORY, err);
        if (next < 0)
            return error_wrap(err, next, "%s", what);
        close(cur);
        cur = next;
    }
    return steal_fd(&cur);
}

/* rm -rf of name in dirfd, never following a symlink. */
static int remove_all_at(int dir, const char *name)
{
    if (unlinkat(dir, name, 0) == 0)
        return 0;
    if (errno != EISDIR)
        return -errno;
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int r = remove_all_at(dirfd(d), e->d_name);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    return unlinkat(dir, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Upstream's temporary name: the extension replaced by "tmp" (Rust's set_extension), so
 * "a.conf" -> "a.tmp", "a" -> "a.tmp", ".bashrc" -> ".bashrc.tmp". */
static char *tmp_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t keep = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    return xasprintf("%.*s.tmp", (int)keep, name);
}

static int write_chunk(int parent, const char *name, const Grpc__CopyFileRequest *req,
                       struct kerr **err)
{
    cleanup_free char *tmp = tmp_name(name);
    mode_t mode = req->file_mode & 07777;
    int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (req->offset == 0 ? O_TRUNC : 0);
    cleanup_close int fd = openat(parent, tmp, flags, mode);
    if (fd < 0)
        return make_error(err, errno, "create_file %s", tmp);
    for (size_t done = 0; done < req->data.len;) {
        ssize_t n = pwrite(fd, req->data.data + done, req->data.len - done,
                           (off_t)(req->offset + (int64_t)done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(err, errno, "write_all_at %s", tmp);
        done += (size_t)n;
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return make_error(err, errno, "fstat %s", tmp);
    if (st.st_size != req->file_size)
        return 0; /* more chunks to come */
    /* Owner first, then the mode: chown clears setuid/setgid of a regular file, and the umask
     * narrowed the mode at creation. (Upstream sets the mode first, so its chown drops a
     * setuid/setgid bit the host asked for.) */
    if (fchown(fd, (uid_t)(uint32_t)req->uid, (gid_t)(uint32_t)req->gid) < 0)
        return make_error(err, errno, "fchown %s", tmp);
    if (fchmod(fd, mode) < 0)
        return make_error(err, errno, "set_permissions %s", tmp);
    if (renameat(parent, tmp, parent, name) < 0)
        return make_error(err, errno, "renameat %s to %s", tmp, name);
    return 0;
}

static int make_dir(int parent, const char *name, const Grpc__CopyFileRequest *req,
                    struct kerr **err)
{
    /* an existing directory is kept (with its content); anything else is replaced */
    if (unlinkat(parent, name, 0) < 0 && errno != ENOENT && errno != EISDIR)
        return make_error(err, errno, "remove %s", name);
    if (mkdirat(parent, name, req->file_mode & 0777) < 0 && errno != EEXIST)
        return make_error(err, errno, "mkdir_all dir %s", name);
    cleanup_close int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return make_error(err, errno, "reopen dir %s", name);
    if (fchown(fd, (uid_t)(uint32_t)req->uid, (gid_t)(uint32_t)req->gid) < 0)
        return make_error(err, errno, "fchown dir %s", name);
    /* mkdir ignores setuid/setgid/sticky */
    if (fchmod(fd, req->file_mode & 07777) < 0)
        return make_error(err, errno, "set_permissions %s", name);
    return 0;
}

static int make_symlink(int parent, const char *name, const Grpc__CopyFileRequest *req,
                        struct kerr **err)
{
    if (memchr(req->data.data, '\0', req->data.len))
        return make_error(err, 0, "create symlink %s: the target contains a NUL byte", name);
    cleanup_free char *target = xstrndup((const char *)req->data.data, req->data.len);
    if (symlinkat(target, parent, name) < 0)
        return make_error(err, errno, "create symlink %s", name);
    if (fchownat(parent, name, (uid_t)(uint32_t)req->uid, (gid_t)(uint32_t)req->gid,
                 AT_SYMLINK_NOFOLLOW) < 0)
        return make_error(err, errno, "fchownat %s", name);
    return 0;
}

static int copy_file(const Grpc__CopyFileRequest *req, struct kerr **err)
{
    struct comps path = {0}, share = {0};
    comps_split(req->path, &path);
    comps_split(AGENT_SHARE_DIR, &share);
    bool under = req->path[0] == '/' && path.n >= share.n;
    for (size_t i = 0; under && i < share.n; i++)
        under = strcmp(path.v[i], share.v[i]) == 0;
    comps_free(&share);
    if (!under) {
        comps_free(&path);
        return make_error(err, 0, "removing \"%s\" prefix from %s", AGENT_SHARE_DIR, req->path);
    }
    /* what is left, relative to the share */
    struct comps rel = {.v = path.v + share.n, .n = path.n - share.n};
    const char *name = rel.n ? rel.v[rel.n - 1] : NULL;
    int r = 0;
    if (!name || strcmp(name, "..") == 0)
        r = make_error(err, 0, "%s: does not name an entry in the shared directory", req->path);
    if (r == 0)
        r = mkdir_p(AGENT_SHARE_DIR, 0755, err);
    cleanup_close int root = -1, parent = -1;
    if (r == 0) {
        root = open(AGENT_SHARE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            r = make_error(err, errno, "open %s", AGENT_SHARE_DIR);
    }
    if (r == 0) {
        parent = mkdir_all(root, &rel, rel.n - 1, req->dir_mode & 0777, "mkdir_all parent", err);
        r = parent < 0 ? parent : 0;
    }
    /* only the immediate parent, as upstream (even when that is the share itself) */
    if (r == 0 && fchown(parent, (uid_t)(uint32_t)req->uid, (gid_t)(uint32_t)req->gid) < 0)
        r = make_error(err, errno, "fchown parent");
    if (r == 0) {
        /* upstream tests the type bits as flags: "contains S_IFDIR" also holds for block
         * devices and sockets, which therefore become directories there and here */
        if ((req->file_mode & S_IFDIR) == S_IFDIR) {
            r = make_dir(parent, name, req, err);
        } else {
            if (req->offset == 0) {
                int e = remove_all_at(parent, name);
                if (e < 0 && e != -ENOENT)
                    r = make_error(err, -e, "remove %s", name);
            }
            if (r == 0 && (req->file_mode & S_IFLNK) == S_IFLNK)
                r = make_symlink(parent, name, req, err);
            else if (r == 0)
                r = write_chunk(parent, name, req, err);
        }
    }
    comps_free(&path);
    return r;
}

void copyfile_handle(struct ttrpc_call *call, void *sb)
{
    cleanup_error struct kerr *err = NULL;
    if (copy_file(REQ(Grpc__CopyFileRequest, call), &err) < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "%s", err->msg);
        return;
    }
    ttrpc_reply(call, NULL);
}
