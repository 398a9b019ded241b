#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "initsync.h"
#include "loop.h"
#include "paths.h"
#include "qmp.h"
#include "xalloc.h"

/* Bump when what a template holds changes meaning without its inputs changing. */
#define TEMPLATE_FORMAT 1
#define QMP_TIMEOUT_MS 10000
/* The agent logs this once it serves: the moment to save the VM. */
static const char ready_mark[] = "agent ready boottime_ns=";
/* How long a template VM may take after its agent is ready to report kata-init's setup done;
 * a guest without the handshake is saved when this has passed. */
#define SETUP_WAIT_MS 1000

bool template_usable(const struct vm_config *c)
{
    return c->hypervisor == HV_QEMU && c->accel == ACCEL_TCG && c->vsock_cid == 0 &&
           c->serial_socket && c->boot == BOOT_INITRD &&
           (c->share == SHARE_AUTO ||
            (c->share == SHARE_9P && c->share_dir && strcmp(c->share_dir, TEMPLATE_9P_EXPORT) == 0));
}

static void add_identity(char **text, const char *what, const char *path)
{
    struct stat st;
    char *next;
    if (path && stat(path, &st) == 0)
        next = xasprintf("%s%s %s %llu:%llu %lld %lld.%09ld\n", *text, what, path,
                         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                         (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    else
        next = xasprintf("%s%s %s -\n", *text, what, path ? path : "-");
    free(*text);
    *text = next;
}

char *template_inputs(const struct vm_config *c)
{
    struct vm_config k = *c;
    k.name = NULL;
    k.serial_socket = "SERIAL";
    if (k.debug_console_socket)
        k.debug_console_socket = "DEBUG";
    k.mem_file = "MEM";
    k.mem_share = false;
    k.qmp_socket = "QMP";
    k.incoming = false;
    char **argv = vm_qemu_argv(&k);
    cleanup_free char *line = vm_argv_join(argv);
    vm_argv_free(argv);
    cleanup_free char *vmm = paths_which(c->vmm_path);
    char *text = xasprintf("format %d\nargv %s\n", TEMPLATE_FORMAT, line);
    add_identity(&text, "vmm", vmm ? vmm : c->vmm_path);
    add_identity(&text, "firmware", c->firmware);
    add_identity(&text, "kernel", c->kernel);
    add_identity(&text, "initrd", c->initrd);
    return text;
}

/* FNV-1a: names the directory; the full inputs are compared before use. */
static char *key_of(const char *inputs)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)inputs; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return xasprintf("%016llx", (unsigned long long)h);
}

char *template_key(const struct vm_config *c)
{
    cleanup_free char *inputs = template_inputs(c);
    return key_of(inputs);
}

static void fill(struct template *t, const char *dir)
{
    t->dir = xstrdup(dir);
    t->mem = xasprintf("%s/mem", dir);
    t->state = xasprintf("%s/state", dir);
}

static bool complete(const char *dir, const char *inputs)
{
    cleanup_free char *path = xasprintf("%s/inputs", dir);
    cleanup_free char *have = NULL;
    if (read_file(path, &have, NULL) < 0 || strcmp(have, inputs) != 0)
        return false;
    cleanup_free char *state = xasprintf("%s/state", dir);
    cleanup_free char *mem = xasprintf("%s/mem", dir);
    struct stat st;
    return stat(state, &st) == 0 && st.st_size > 0 && stat(mem, &st) == 0;
}

/* Waits until the VM's console log shows mark: false when the VM exits or deadline passes. */
static bool wait_console(struct vm *vm, const char *log, const char *mark, int64_t deadline)
{
    for (;;) {
        cleanup_free char *text = NULL;
        if (read_file(log, &text, NULL) == 0 && strstr(text, mark) != NULL)
            return true;
        if (!vm_running(vm) || loop_now_ns() > deadline)
            return false;
        usleep(5000);
    }
}

/* Saving and loading both leave guest RAM in its file: only device state travels. */
static const char ignore_shared[] =
    "{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":"
    "[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}";

/* The "status" of the answer to query-migrate or query-status (*ret may be NULL). */
static int query_status(int qmp, const char *query, int timeout_ms, char **ret, struct kerr **err)
{
    cleanup_free char *line = NULL;
    cleanup_free char *command = xasprintf("{\"execute\":\"%s\"}", query);
    int r = qmp_call(qmp, command, timeout_ms, &line, err);
    if (r < 0)
        return r;
    *ret = qmp_string(line, "status");
    return 0;
}

static int create_file(const char *path, const char *text, struct kerr **err)
{
    cleanup_file FILE *f = fopen(path, "wxe");
    if (!f || fputs(text, f) < 0 || fflush(f) != 0)
        return make_error(err, errno ? errno : EIO, "write %s", path);
    return 0;
}

/* Boots the template VM in `dir`, waits for its agent, saves it and stops it. */
static int build(const struct vm_config *c, const char *dir, int boot_timeout_ms, struct kerr **err)
{
    struct vm_config tc = *c;
    cleanup_free char *serial = xasprintf("%s/agent.sock", dir);
    cleanup_free char *mem = xasprintf("%s/mem", dir);
    cleanup_free char *qmp_path = xasprintf("%s/qmp.sock", dir);
    cleanup_free char *log = xasprintf("%s/console.log", dir);
    cleanup_free char *debug = xasprintf("%s/debug-console.sock", dir);
    tc.name = "kata-host-template";
    if (tc.debug_console_socket)
        tc.debug_console_socket = debug;
    tc.serial_socket = serial;
    tc.mem_file = mem;
    tc.mem_share = true;
    tc.qmp_socket = qmp_path;
    tc.incoming = false;
    char **argv = vm_qemu_argv(&tc);
    struct vm vm = {0};
    int r = vm_start(&vm, argv, log, err);
    vm_argv_free(argv);
    if (r < 0) {
        free(vm.console_log_path);
        return r;
    }
    int64_t deadline = loop_now_ns() + (int64_t)boot_timeout_ms * 1000000;
    if (!wait_console(&vm, log, ready_mark, deadline)) {
        r = make_error(err, vm_running(&vm) ? ETIMEDOUT : ECONNRESET,
                       "the template VM %s before its agent was ready",
                       vm_running(&vm) ? "timed out" : "exited");
        vm_stop(&vm);
        free(vm.console_log_path);
        return r;
    }
    /* Saved before kata-init has finished, every clone would do the rest of its setup while
     * the host's first calls wait (common/initsync.h); a guest without the handshake is
     * saved when the wait is over. */
    (void)wait_console(&vm, log, KATA_INIT_SYNC_DONE_MSG,
                       loop_now_ns() + SETUP_WAIT_MS * 1000000LL);
    int qmp = qmp_connect(qmp_path, QMP_TIMEOUT_MS, err);
    if (qmp < 0) {
        vm_stop(&vm);
        free(vm.console_log_path);
        return qmp;
    }
    cleanup_free char *migrate =
        xasprintf("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > %s/state\"}}", dir);
    r = qmp_call(qmp, ignore_shared, QMP_TIMEOUT_MS, NULL, err);
    if (r == 0)
        r = qmp_call(qmp, "{\"execute\":\"stop\"}", QMP_TIMEOUT_MS, NULL, err);
    if (r == 0)
        r = qmp_call(qmp, migrate, QMP_TIMEOUT_MS, NULL, err);
    while (r == 0) {
        cleanup_free char *status = NULL;
        r = query_status(qmp, "query-migrate", QMP_TIMEOUT_MS, &status, err);
        if (r < 0 || (status && strcmp(status, "completed") == 0))
            break;
        if (!status || strcmp(status, "failed") == 0 || loop_now_ns() > deadline) {
            r = make_error(err, EIO, "saving the template VM: migration %s",
                           status ? status : "status unknown");
            break;
        }
        usleep(5000);
    }
    (void)qmp_call(qmp, "{\"execute\":\"quit\"}", QMP_TIMEOUT_MS, NULL, NULL);
    close(qmp);
    (void)vm_wait(&vm, 5000);
    vm_stop(&vm);
    free(vm.console_log_path);
    return r;
}

/* The value of the line "<what> <path> ..." in a template's inputs (malloc'd), or NULL. */
static char *input_path(const char *inputs, const char *what)
{
    size_t n = strlen(what);
    for (const char *l = inputs; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, what, n) == 0 && l[n] == ' ') {
            const char *p = l + n + 1, *end = strchr(p, ' ');
            return end ? xstrndup(p, (size_t)(end - p)) : NULL;
        }
    }
    return NULL;
}

/* Templates of the same kernel and initrd paths whose files have changed since (a rebuilt
 * guest) can never be used again: each holds tens of MB of tmpfs. */
static void prune_stale(const char *base, const char *keep, const char *inputs)
{
    cleanup_free char *kernel = input_path(inputs, "kernel");
    cleanup_free char *initrd = input_path(inputs, "initrd");
    cleanup_dir DIR *d = opendir(base);
    struct dirent *e;
    while (d && kernel && initrd && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, keep) == 0)
            continue;
        cleanup_free char *dir = xasprintf("%s/%s", base, e->d_name);
        cleanup_free char *path = xasprintf("%s/inputs", dir);
        cleanup_free char *other = NULL;
        if (read_file(path, &other, NULL) < 0)
            continue;
        cleanup_free char *ok = input_path(other, "kernel");
        cleanup_free char *oi = input_path(other, "initrd");
        if (ok && oi && strcmp(ok, kernel) == 0 && strcmp(oi, initrd) == 0)
            (void)paths_remove_tree(dir);
    }
}

int template_get(const struct vm_config *c, const char *base, int boot_timeout_ms,
                 struct template *ret, struct kerr **err)
{
    cleanup_free char *inputs = template_inputs(c);
    cleanup_free char *key = key_of(inputs);
    cleanup_free char *dir = xasprintf("%s/%s", base, key);
    int r = mkdir_p(base, 0700, err);
    if (r < 0)
        return r;
    /* One builder at a time; the others find its result. */
    cleanup_free char *lock_path = xasprintf("%s/.lock", base);
    cleanup_close int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) < 0)
        return make_error(err, errno, "lock %s", lock_path);
    /* A configuration whose template could not be built once is not tried on every run
     * (each try costs a boot); the marker goes with the tmpfs at reboot. */
    cleanup_free char *failed = xasprintf("%s/.failed-%s", base, key);
    if (access(failed, F_OK) == 0)
        return make_error(err, EAGAIN, "building it failed before (%s)", failed);
    if (!complete(dir, inputs)) {
        (void)paths_remove_tree(dir);
        cleanup_free char *tmp = xasprintf("%s/.tmp-%s-%d", base, key, (int)getpid());
        (void)paths_remove_tree(tmp);
        if (mkdir(tmp, 0700) < 0)
            return make_error(err, errno, "mkdir %s", tmp);
        r = build(c, tmp, boot_timeout_ms, err);
        cleanup_free char *inputs_path = xasprintf("%s/inputs", tmp);
        if (r == 0)
            r = create_file(inputs_path, inputs, err);
        if (r == 0 && rename(tmp, dir) < 0)
            r = make_error(err, errno, "rename %s", tmp);
        if (r < 0) {
            (void)paths_remove_tree(tmp);
            (void)create_file(failed, err && *err ? (*err)->msg : "build failed", NULL);
            return error_wrap(err, r, "build the VM template");
        }
        prune_stale(base, key, inputs);
    }
    fill(ret, dir);
    return 0;
}

int template_restore(const char *qmp_socket, const struct template *t, int timeout_ms,
                     struct kerr **err)
{
    int qmp = qmp_connect(qmp_socket, timeout_ms, err);
    if (qmp < 0)
        return qmp;
    cleanup_free char *incoming = xasprintf(
        "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat %s\"}}", t->state);
    int r = qmp_call(qmp, ignore_shared, timeout_ms, NULL, err);
    if (r == 0)
        r = qmp_call(qmp, incoming, timeout_ms, NULL, err);
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    while (r == 0) {
        cleanup_free char *status = NULL;
        r = query_status(qmp, "query-status", timeout_ms, &status, err);
        if (r < 0)
            break;
        if (status && strcmp(status, "running") == 0)
            break;
        /* The template was saved stopped, so the clone arrives paused. */
        if (status && strcmp(status, "paused") == 0) {
            r = qmp_call(qmp, "{\"execute\":\"cont\"}", timeout_ms, NULL, err);
            break;
        }
        if (!status || strcmp(status, "inmigrate") != 0 || loop_now_ns() > deadline) {
            r = make_error(err, EIO, "restoring from the template: VM status %s",
                           status ? status : "unknown");
            break;
        }
        usleep(2000);
    }
    close(qmp);
    return r;
}

void template_discard(const struct template *t, const char *why)
{
    if (!t->dir)
        return;
    (void)paths_remove_tree(t->dir);
    /* A template that built but does not restore would be rebuilt and fail on every run. */
    const char *slash = strrchr(t->dir, '/');
    if (!slash)
        return;
    cleanup_free char *marker =
        xasprintf("%.*s/.failed-%s", (int)(slash - t->dir), t->dir, slash + 1);
    (void)create_file(marker, why, NULL);
}

void template_free(struct template *t)
{
    free(t->dir);
    free(t->mem);
    free(t->state);
    *t = (struct template){0};
}
