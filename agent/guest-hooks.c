/* CreateSandbox's guest_hook_path: as upstream, <dir>/{prestart,poststart,poststop} are scanned
 * for executable regular files (symlinks skipped), each becoming a hook with args
 * [<file name>, <kind>] that every container of the sandbox runs after its own hooks of that
 * kind (oci-hooks.c). A missing directory only means no hooks of that kind. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "xalloc.h"

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(Grpc__Hook *const *)a)->path, (*(Grpc__Hook *const *)b)->path);
}

static size_t scan_kind(const char *dir, const char *kind, Grpc__Hook ***ret)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, kind);
    cleanup_dir DIR *d = opendir(path);
    *ret = NULL;
    if (!d) {
        log_info("hooks", "no %s hooks: %s: %m", kind, path);
        return 0;
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            !(st.st_mode & 0111))
            continue;
        Grpc__Hook *h = xcalloc(1, sizeof(*h));
        grpc__hook__init(h);
        h->path = xasprintf("%s/%s", path, e->d_name);
        h->n_args = 2;
        h->args = xcalloc(2, sizeof(char *));
        h->args[0] = xstrdup(e->d_name);
        h->args[1] = xstrdup(kind);
        *ret = xrealloc(*ret, (n + 1) * sizeof(**ret));
        (*ret)[n++] = h;
        log_info("hooks", "found %s hook %s", kind, h->path);
    }
    /* readdir's order is the filesystem's: a stable one for the hooks */
    if (n > 1)
        qsort(*ret, n, sizeof(**ret), name_cmp);
    return n;
}

Grpc__Hooks *guest_hooks_scan(const char *dir)
{
    Grpc__Hooks *h = xcalloc(1, sizeof(*h));
    grpc__hooks__init(h);
    h->n_prestart = scan_kind(dir, "prestart", &h->prestart);
    h->n_poststart = scan_kind(dir, "poststart", &h->poststart);
    h->n_poststop = scan_kind(dir, "poststop", &h->poststop);
    if (h->n_prestart + h->n_poststart + h->n_poststop == 0) {
        free(h);
        return NULL;
    }
    return h;
}

static void free_list(Grpc__Hook **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i]->n_args; j++)
            free(v[i]->args[j]);
        free(v[i]->args);
        free(v[i]->path);
        free(v[i]);
    }
    free(v);
}

void guest_hooks_free(Grpc__Hooks *h)
{
    if (!h)
        return;
    free_list(h->prestart, h->n_prestart);
    free_list(h->poststart, h->n_poststart);
    free_list(h->poststop, h->n_poststop);
    free(h);
}
