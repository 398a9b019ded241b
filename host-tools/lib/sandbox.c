#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "agent_api.h"
#include "channel.h"
#include "cleanup.h"
#include "dial.h"
#include "fsutil.h"
#include "loop.h"
#include "paths.h"
#include "pool.h"
#include "pool_share.h"
#include "spec.h"
#include "template.h"
#include "tsc.h"
#include "xalloc.h"

#define VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"
#define SHARED_MOUNT_POINT "/run/kata-containers/shared/containers/"
/* A KVM boot reaches the agent in well under a second; longer means KVM hangs here. */
#define KVM_TRIAL_TIMEOUT_MS 5000

static atomic_int chan_fd_for_exit = -1;

static int boot_timeout_ms(void)
{
    const char *e = getenv("KATA_HOST_BOOT_TIMEOUT");
    int s = e ? atoi(e) : 0;
    return (s > 0 ? s : 30) * 1000;
}

static char *random_name(void)
{
    unsigned char b[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, b, sizeof(b)) != sizeof(b)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            memcpy(b, &ts.tv_nsec, sizeof(b));
        }
        close(fd);
    }
    return xasprintf("kata-%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

/* An aarch64 guest runs under emulation on any other host: KVM only on an arm64 one. */
#if defined(__aarch64__)
#define AARCH64_ACCEL accel_choose(o->accel, ACCEL_VERDICT_PATH)
#else
#define AARCH64_ACCEL ACCEL_TCG
#endif

/* What the aarch64 guest does not have (yet): a disk image, cloud-hypervisor, templates. */
static int aarch64_check(const struct run_opts *o, struct kerr **err)
{
    if (o->hypervisor == HV_CLH)
        return make_error(err, EINVAL, "--arch aarch64 runs under QEMU only");
    if (o->boot != BOOT_INITRD)
        return make_error(err, EINVAL, "--arch aarch64 boots the initrd only (no disk image)");
#if !defined(__aarch64__)
    if (o->accel == ACCEL_KVM)
        return make_error(err, EINVAL, "--arch aarch64 on this host needs --accel tcg");
#endif
    return 0;
}

int sandbox_prepare(struct sandbox *sb, const struct run_opts *o, struct kerr **err)
{
    memset(sb, 0, sizeof(*sb));
    sb->opts = o;
    sb->chan_fd = -1;
    sb->virtiofsd_pid = -1;
    sb->start_ns = loop_now_ns();
    sb->name = o->name ? xstrdup(o->name) : random_name();
    sb->container_id = xstrdup(sb->name);
    sb->run_dir = o->run_dir ? xstrdup(o->run_dir) : session_run_dir(sb->name);
    sb->share = SHARE_AUTO;
    if (o->rootfs) {
        struct stat st;
        if (stat(o->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
            return make_error(err, errno ? errno : ENOTDIR, "--rootfs %s", o->rootfs);
    }
    if (o->agent_addr)
        return 0;

    enum hypervisor hv = o->hypervisor;
    bool arm = o->arch == GUEST_AARCH64;
    if (arm) {
        int r = aarch64_check(o, err);
        if (r < 0)
            return r;
        hv = HV_QEMU;
    }
    cleanup_free char *clh = paths_which("cloud-hypervisor");
    if (hv == HV_AUTO)
        hv = clh && accel_kvm_probe() ? HV_CLH : HV_QEMU;
    if (hv == HV_CLH) {
        sb->vmm_path = clh ? xstrdup(clh) : xstrdup("cloud-hypervisor");
        sb->accel = ACCEL_KVM; /* cloud-hypervisor has no emulation */
    } else {
        const char *qemu = arm ? "qemu-system-aarch64" : "qemu-system-x86_64";
        char *q = paths_which(qemu);
        sb->vmm_path = q ? q : xstrdup(qemu);
        sb->accel = arm ? AARCH64_ACCEL : accel_choose(o->accel, ACCEL_VERDICT_PATH);
        /* qboot hands over to the kernel in a few ms where SeaBIOS takes ~0.1-0.25 s under
         * TCG; without it QEMU's own firmware still boots the same guest. virt needs no
         * firmware: QEMU enters the arm64 Image directly. */
        if (!o->firmware) {
            if (!arm)
                sb->firmware = paths_qemu_data(sb->vmm_path, "qboot.rom");
        } else if (strcmp(o->firmware, "default") != 0) {
            sb->firmware = xstrdup(o->firmware);
        }
        if (sb->firmware && !o->dry_run && access(sb->firmware, R_OK) < 0)
            return make_error(err, errno, "--firmware %s", sb->firmware);
    }
    if (o->boot != BOOT_INITRD && hv != HV_QEMU)
        return make_error(err, EINVAL,
                          "--boot image needs QEMU (the image is an NVDIMM or a "
                          "virtio-blk disk as Kata's QEMU runtime attaches it)");
    const char *kernel_file = arm ? "aarch64/vmlinuz.container" : "vmlinux.container";
    sb->kernel = o->kernel ? xstrdup(o->kernel) : paths_find_artifact(kernel_file);
    if (!sb->kernel)
        return make_error(err, ENOENT,
                          "guest kernel %s not found next to kata-host (build it with `make %s` "
                          "or pass --kernel)",
                          kernel_file, arm ? "guest-aarch64" : "kernel");
    if (o->boot == BOOT_INITRD) {
        const char *initrd_file =
            arm ? "aarch64/kata-containers-initrd.img" : "kata-containers-initrd.img";
        sb->initrd = o->initrd ? xstrdup(o->initrd) : paths_find_artifact(initrd_file);
        if (!sb->initrd)
            return make_error(err, ENOENT,
                              "guest initrd %s not found next to kata-host (build it with "
                              "`make %s` or pass --initrd)",
                              initrd_file, arm ? "guest-aarch64" : "initrd");
    } else {
        sb->image = o->image ? xstrdup(o->image) : paths_find_artifact("kata-containers.img");
        if (!sb->image)
            return make_error(err, ENOENT,
                              "guest image kata-containers.img not found next to kata-host "
                              "(build it with `make image` or pass --image)");
    }
    if (!o->dry_run) {
        if (access(sb->kernel, R_OK) < 0)
            return make_error(err, errno, "--kernel %s", sb->kernel);
        if (sb->initrd && access(sb->initrd, R_OK) < 0)
            return make_error(err, errno, "--initrd %s", sb->initrd);
    }
    /* The NVDIMM's size is the file's, as the runtime gives it. */
    struct stat st;
    if (sb->image && stat(sb->image, &st) == 0)
        sb->vmc.image_bytes = (uint64_t)st.st_size;
    else if (sb->image && !o->dry_run)
        return make_error(err, errno, "--image %s", sb->image);
    if (o->rootfs || o->share_always) {
        sb->share = o->share;
        /* A program sharing directories with a VM that could start from a template (the
         * shim under TCG) prefers 9p, the one share a template can carry. */
        if (sb->share == SHARE_AUTO && o->share_always && hv == HV_QEMU && sb->accel == ACCEL_TCG &&
            !dial_have_vhost_vsock() && o->boot == BOOT_INITRD && !o->no_template)
            sb->share = SHARE_9P;
        if (sb->share == SHARE_AUTO)
            sb->share =
                hv == HV_CLH || access(VIRTIOFSD_PATH, X_OK) == 0 ? SHARE_VIRTIOFS : SHARE_9P;
        if (sb->share == SHARE_VIRTIOFS && access(VIRTIOFSD_PATH, X_OK) < 0 && !o->dry_run)
            return make_error(err, errno, "virtio-fs needs %s (or use --share 9p)", VIRTIOFSD_PATH);
        sb->share_dir = xasprintf("%s/shared", sb->run_dir);
    }
    sb->console_log = xasprintf("%s/console.log", sb->run_dir);
    sb->vfs_socket = xasprintf("%s/vfs.sock", sb->run_dir);
    struct vm_config *c = &sb->vmc;
    c->hypervisor = hv;
    c->accel = sb->accel == ACCEL_AUTO ? ACCEL_KVM : sb->accel;
    if (c->accel == ACCEL_TCG && hv == HV_QEMU && !arm)
        c->tsc_khz = tsc_host_khz_cached(TSC_CACHE_PATH);
    c->arch = o->arch;
    c->vmm_path = sb->vmm_path;
    c->name = sb->name;
    c->kernel = sb->kernel;
    c->initrd = sb->initrd;
    c->boot = o->boot;
    c->image = sb->image;
    c->firmware = sb->firmware;
    c->memory_mib = o->vm_memory_mib;
    c->cpus = o->vm_cpus;
    /* Even with -v: kernel messages on the serial console slow a TCG boot by ~0.2 s and
     * would distort the stage timings -v prints; the console log keeps what is printed. */
    c->quiet = true;
    c->share = sb->share;
    c->share_dir = sb->share_dir;
    c->virtiofsd_socket = sb->vfs_socket;
    if (hv == HV_CLH) {
        sb->hvsock_socket = xasprintf("%s/" SANDBOX_HVSOCK_SOCKET, sb->run_dir);
        c->hvsock_socket = sb->hvsock_socket;
    } else {
        sb->serial_socket = xasprintf("%s/agent.sock", sb->run_dir);
        c->serial_socket = sb->serial_socket;
        /* vhost-vsock when the host has it (the agent also serves the serial port). */
        if (!arm && dial_have_vhost_vsock()) {
            int r = dial_find_guest_cid(&c->vsock_cid, err);
            if (r < 0)
                return r;
        }
    }
    /* The debug console rides vsock port 1026 when the VM has vsock; without it, a second
     * virtio-serial port (the agent picks whichever its VM has). */
    c->debug_console = o->debug_console;
    c->debug_console_quiet = o->debug_console && getenv("KATA_HOST_DEBUG_CONSOLE_AGENT") &&
                             strcmp(getenv("KATA_HOST_DEBUG_CONSOLE_AGENT"), "0") == 0;
    if (o->debug_console && hv == HV_QEMU && c->vsock_cid == 0) {
        sb->debug_console_socket = xasprintf("%s/" SANDBOX_DEBUG_CONSOLE_SOCKET, sb->run_dir);
        c->debug_console_socket = sb->debug_console_socket;
    }
    c->kernel_params = o->kernel_params;
    const char *tenv = getenv("KATA_HOST_TEMPLATE");
    bool templates = !o->no_template && !(tenv && strcmp(tenv, "0") == 0) && !o->dry_run && !arm;
    if (templates && sb->share == SHARE_9P) {
        /* Every templated VM exports the same path; its QEMU sees the sandbox's there. */
        c->share_dir = TEMPLATE_9P_EXPORT;
        sb->share_bind = template_usable(c);
        if (!sb->share_bind)
            c->share_dir = sb->share_dir;
    }
    sb->use_template = templates && template_usable(c);
    /* A pooled VM was started before the sandbox existed: nothing of the sandbox's own (a
     * rootfs shared at boot, the debug console socket) can be in it. A shared directory that
     * starts empty can: the taker joins the VM's 9p export (pool_share.h), as the shim does. */
    sb->poolable = sb->use_template &&
                   (sb->share == SHARE_AUTO || (sb->share_bind && !o->rootfs)) && !o->debug_console;
    const char *penv = getenv("KATA_HOST_POOL");
    sb->use_pool = sb->poolable && !(penv && strcmp(penv, "0") == 0);
    return 0;
}

int sandbox_print_command(struct sandbox *sb, struct kerr **err)
{
    if (sb->opts->agent_addr)
        return make_error(err, EINVAL,
                          "--dry-run prints the VM command line; there is no VM "
                          "with --agent-addr");
    char **argv = vm_argv(&sb->vmc, err);
    if (!argv)
        return -EINVAL;
    if (sb->share == SHARE_VIRTIOFS)
        printf("%s --socket-path=%s -o source=%s -o cache=auto\n", VIRTIOFSD_PATH, sb->vfs_socket,
               sb->share_dir);
    char *line = vm_argv_join(argv);
    printf("%s\n", line);
    free(line);
    vm_argv_free(argv);
    return 0;
}

const char *sandbox_root_path(const struct sandbox *sb)
{
    static __thread char buf[512];
    if (sb->opts->agent_addr)
        return sb->opts->rootfs ? sb->opts->rootfs : KATA_GUEST_DEFAULT_ROOTFS;
    if (!sb->opts->rootfs)
        return KATA_GUEST_DEFAULT_ROOTFS;
    snprintf(buf, sizeof(buf), "%s%s/rootfs", SHARED_MOUNT_POINT, sb->container_id);
    return buf;
}

/* ------------------------------------------------------------------ run directory */

static int make_run_dir(struct sandbox *sb, struct kerr **err)
{
    if (sb->opts->run_dir)
        return 0;
    cleanup_free char *base = xstrdup(sb->run_dir);
    *strrchr(base, '/') = '\0';
    if (mkdir(base, 0700) < 0 && errno != EEXIST)
        return make_error(err, errno, "create %s", base);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (mkdir(sb->run_dir, 0700) == 0) {
            sb->run_dir_created = true;
            return 0;
        }
        if (errno != EEXIST)
            return make_error(err, errno, "create %s", sb->run_dir);
        struct session_state st;
        struct kerr *e2 = NULL;
        bool alive = false;
        if (session_read_state(sb->run_dir, &st, &e2) == 0) {
            alive = session_owner_alive(&st);
            session_state_free(&st);
        } else {
            /* no state yet: the owner may be starting; trust a live socket */
            cleanup_free char *sock = xasprintf("%s/session.sock", sb->run_dir);
            int fd = dial_unix(sock, NULL);
            alive = fd >= 0;
            if (fd >= 0)
                close(fd);
            struct stat st2;
            if (!alive && stat(sb->run_dir, &st2) == 0 && time(NULL) - st2.st_mtime < 5)
                alive = true; /* created seconds ago, probably still booting */
        }
        error_free(e2);
        if (alive)
            return make_error(err, EEXIST, "a sandbox named '%s' already exists", sb->name);
        paths_remove_tree(sb->run_dir); /* left over by a kata-host that was killed */
    }
    return make_error(err, EEXIST, "cannot claim %s", sb->run_dir);
}

/* ------------------------------------------------------------------ shared rootfs */

static int share_rootfs(struct sandbox *sb, struct kerr **err)
{
    cleanup_free char *cdir = xasprintf("%s/%s", sb->share_dir, sb->container_id);
    char *target = xasprintf("%s/rootfs", cdir);
    if (mkdir(sb->share_dir, 0700) < 0 || mkdir(cdir, 0755) < 0 || mkdir(target, 0755) < 0) {
        free(target);
        return make_error(err, errno, "create the shared directory");
    }
    /* kata-host runs in its own mount namespace here (see cmd_run), so the bind mount needs
     * no cleanup if we are killed: it dies with the namespace. */
    if (mount(sb->opts->rootfs, target, NULL, MS_BIND | MS_REC, NULL) < 0) {
        int e = errno;
        free(target);
        return make_error(err, e, "bind-mount %s", sb->opts->rootfs);
    }
    sb->rootfs_mount = target;
    return 0;
}

static int start_virtiofsd(struct sandbox *sb, struct kerr **err)
{
    cleanup_free char *log = xasprintf("%s/virtiofsd.log", sb->run_dir);
    cleanup_free char *sockopt = xasprintf("--socket-path=%s", sb->vfs_socket);
    cleanup_free char *src = xasprintf("source=%s", sb->share_dir);
    char *argv[] = {VIRTIOFSD_PATH, sockopt, "-o", src, "-o", "cache=auto", NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return make_error(err, errno, "fork");
    if (pid == 0) {
        vm_child_detach(parent);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    sb->virtiofsd_pid = pid;
    /* It is ready once its socket exists. */
    for (int i = 0; i < 500; i++) {
        if (access(sb->vfs_socket, F_OK) == 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            sb->virtiofsd_pid = -1;
            return make_error(err, EIO, "virtiofsd exited at start (see %s)", log);
        }
        usleep(10000);
    }
    return make_error(err, ETIMEDOUT, "virtiofsd did not create %s", sb->vfs_socket);
}

static void stop_virtiofsd(struct sandbox *sb)
{
    if (sb->virtiofsd_pid <= 0)
        return;
    /* It exits by itself once QEMU disconnects; give it a moment, then insist. */
    for (int i = 0; i < 100; i++) {
        if (waitpid(sb->virtiofsd_pid, NULL, WNOHANG) == sb->virtiofsd_pid) {
            sb->virtiofsd_pid = -1;
            return;
        }
        usleep(10000);
    }
    kill(sb->virtiofsd_pid, SIGKILL);
    waitpid(sb->virtiofsd_pid, NULL, 0);
    sb->virtiofsd_pid = -1;
}

/* ------------------------------------------------------------------ VM and channel */

static void on_vm_exit(void *data)
{
    struct sandbox *sb = data;
    /* Pending ttRPC calls fail at once instead of waiting on a dead VM. */
    int fd = atomic_load(&chan_fd_for_exit);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    if (sb->on_vm_lost)
        sb->on_vm_lost(sb->on_vm_lost_data);
}

static int connect_serial(struct sandbox *sb, int timeout_ms, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct kerr *e = NULL;
        int fd = dial_unix(sb->serial_socket, &e);
        if (fd >= 0) {
            error_free(e);
            atomic_store(&chan_fd_for_exit, fd);
            if (!vm_running(&sb->vm)) {
                close(fd);
                atomic_store(&chan_fd_for_exit, -1);
                return make_error(err, ECONNRESET, "the VM exited during boot");
            }
            int left = (int)((deadline - loop_now_ns()) / 1000000);
            int r = dial_read_hello(fd, left > 0 ? left : 1, &sb->hello_boottime_ns, err);
            if (r < 0) {
                atomic_store(&chan_fd_for_exit, -1);
                close(fd);
                return r;
            }
            sb->hello_at = loop_now_ns();
            return fd;
        }
        error_free(e);
        if (!vm_running(&sb->vm))
            return make_error(err, ECONNRESET, "the VM exited during boot");
        if (loop_now_ns() > deadline)
            return make_error(err, ETIMEDOUT, "the VM did not open %s", sb->serial_socket);
        usleep(2000);
    }
}

static int connect_hvsock(struct sandbox *sb, int timeout_ms, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    struct dial_addr a = {
        .kind = DIAL_HVSOCK, .path = sb->hvsock_socket, .port = KATA_AGENT_VSOCK_PORT};
    for (;;) {
        struct kerr *e = NULL;
        int fd = dial_connect(&a, 1000, &e);
        if (fd >= 0) {
            error_free(e);
            sb->hello_at = loop_now_ns();
            atomic_store(&chan_fd_for_exit, fd);
            return fd;
        }
        if (!vm_running(&sb->vm)) {
            error_free(e);
            return make_error(err, ECONNRESET, "the VM exited during boot");
        }
        if (loop_now_ns() > deadline) {
            int r = make_error(err, e ? e->errnum : ETIMEDOUT, "the agent did not answer on %s: %s",
                               sb->hvsock_socket, e ? e->msg : "timeout");
            error_free(e);
            return r;
        }
        error_free(e);
        usleep(10000);
    }
}

static int connect_vsock(struct sandbox *sb, int timeout_ms, struct kerr **err)
{
    int64_t deadline = loop_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct kerr *e = NULL;
        int fd = dial_vsock(sb->vmc.vsock_cid, KATA_AGENT_VSOCK_PORT, &e);
        if (fd >= 0) {
            error_free(e);
            sb->hello_at = loop_now_ns();
            atomic_store(&chan_fd_for_exit, fd);
            return fd;
        }
        if (!vm_running(&sb->vm) || loop_now_ns() > deadline) {
            int r = vm_running(&sb->vm)
                        ? make_error(err, ETIMEDOUT, "the agent did not answer on vsock %u:%u: %s",
                                     sb->vmc.vsock_cid, KATA_AGENT_VSOCK_PORT, e ? e->msg : "")
                        : make_error(err, ECONNRESET, "the VM exited during boot");
            error_free(e);
            return r;
        }
        error_free(e);
        usleep(10000);
    }
}

static int start_vm_once(struct sandbox *sb, int timeout_ms, struct kerr **err)
{
    char **argv = vm_argv(&sb->vmc, err);
    if (!argv)
        return -EINVAL;
    free(sb->vm.console_log_path);
    memset(&sb->vm, 0, sizeof(sb->vm));
    if (sb->share_bind) {
        sb->vm.ns_bind_src = sb->share_dir;
        sb->vm.ns_bind_dst = TEMPLATE_9P_EXPORT;
    }
    sb->vm.on_exit = on_vm_exit;
    sb->vm.on_exit_data = sb;
    unlink(sb->serial_socket ? sb->serial_socket : sb->hvsock_socket);
    int r = vm_start(&sb->vm, argv, sb->console_log, err);
    vm_argv_free(argv);
    if (r < 0)
        return r;
    sb->vm_started = true;
    if (sb->vmc.incoming) {
        r = template_restore(sb->qmp_socket, &sb->tmpl, timeout_ms, err);
        if (r < 0)
            return r;
        sb->restored_at = loop_now_ns();
    }
    if (sb->vmc.hypervisor == HV_CLH)
        return connect_hvsock(sb, timeout_ms, err);
    if (sb->vmc.vsock_cid > 0)
        return connect_vsock(sb, timeout_ms, err);
    return connect_serial(sb, timeout_ms, err);
}

/* A clone of the template VM, or -1 (the caller boots normally; -v says why). */
static int clone_vm(struct sandbox *sb, int timeout_ms)
{
    cleanup_error struct kerr *e = NULL;
    const char *base = getenv("KATA_HOST_TEMPLATE_DIR");
    if (template_get(&sb->vmc, base && *base ? base : TEMPLATE_BASE_DIR, timeout_ms, &sb->tmpl,
                     &e) < 0) {
        if (sb->opts->verbose)
            fprintf(stderr, "kata-host: no VM template (%s); booting\n", e->msg);
        return -1;
    }
    sb->qmp_socket = xasprintf("%s/qmp.sock", sb->run_dir);
    sb->vmc.mem_file = sb->tmpl.mem;
    sb->vmc.mem_share = false;
    sb->vmc.qmp_socket = sb->qmp_socket;
    sb->vmc.incoming = true;
    sb->start_ns = loop_now_ns(); /* the stages of this VM, not of the template's build */
    int fd = start_vm_once(sb, timeout_ms, &e);
    if (fd >= 0) {
        sb->from_template = true;
        return fd;
    }
    if (sb->opts->verbose)
        fprintf(stderr, "kata-host: the VM template did not start (%s); discarding it, booting\n",
                e->msg);
    vm_stop(&sb->vm);
    sb->vm_started = false;
    template_discard(&sb->tmpl, e->msg);
    sb->vmc.mem_file = NULL;
    sb->vmc.qmp_socket = NULL;
    sb->vmc.incoming = false;
    sb->start_ns = loop_now_ns();
    return -1;
}

/* The shared directory (share_rootfs fills it when there is a rootfs), and the one path every
 * templated VM's QEMU exports it at. */
static int make_share_dirs(struct sandbox *sb, struct kerr **err)
{
    if (sb->share_dir && mkdir(sb->share_dir, 0700) < 0 && errno != EEXIST)
        return make_error(err, errno, "create %s", sb->share_dir);
    return sb->share_bind ? mkdir_p(TEMPLATE_9P_EXPORT, 0700, err) : 0;
}

/* A VM of the running pool (pool.h), or -1 (the caller clones or boots; -v says why). */
static int take_pooled_vm(struct sandbox *sb)
{
    cleanup_error struct kerr *e = NULL;
    cleanup_free char *key = template_key(&sb->vmc);
    struct pool_vm pv;
    if (pool_take(key, &pv, &e) < 0) {
        if (sb->opts->verbose)
            fprintf(stderr, "kata-host: no VM from the pool (%s)\n", e->msg);
        return -1;
    }
    cleanup_free char *log = xasprintf("%s/console.log", pv.dir);
    memset(&sb->vm, 0, sizeof(sb->vm));
    sb->vm.on_exit = on_vm_exit;
    sb->vm.on_exit_data = sb;
    /* start_ns stays the sandbox's start: "vm taken" then shows what the client side cost
     * (the checks of sandbox_prepare, run directory, pool connection, hand-off). */
    if (vm_adopt(&sb->vm, pv.qemu_pid, steal_fd(&pv.ctrl_fd), log, &e) < 0) {
        if (sb->opts->verbose)
            fprintf(stderr, "kata-host: the pooled VM was lost (%s)\n", e->msg);
        vm_stop(&sb->vm);
        free(sb->vm.console_log_path);
        memset(&sb->vm, 0, sizeof(sb->vm));
        pool_vm_free(&pv);
        return -1;
    }
    if (sb->share_bind && pool_share_join(pv.qemu_pid, TEMPLATE_9P_EXPORT, sb->share_dir, &e) < 0) {
        if (sb->opts->verbose)
            fprintf(stderr, "kata-host: cannot share with the pooled VM (%s)\n", e->msg);
        vm_stop(&sb->vm); /* closing the keeper's connection ends that VM */
        free(sb->vm.console_log_path);
        memset(&sb->vm, 0, sizeof(sb->vm));
        pool_vm_free(&pv);
        return -1;
    }
    sb->vm_started = true;
    sb->from_template = true;
    sb->from_pool = true;
    sb->hello_boottime_ns = pv.hello_boottime_ns;
    sb->next_stream_id = pv.next_stream_id;
    sb->pool_warm_ms = pv.warm_ms;
    sb->pool_taken_at = sb->hello_at = loop_now_ns();
    int fd = steal_fd(&pv.agent_fd);
    atomic_store(&chan_fd_for_exit, fd);
    pool_vm_free(&pv);
    return fd;
}

int sandbox_start_pool_vm(struct sandbox *sb, struct kerr **err)
{
    if (!sb->use_template)
        return make_error(err, EINVAL,
                          "this configuration cannot start from a VM template (it needs QEMU "
                          "under TCG, the serial channel and no shared directory but 9p)");
    /* The export starts empty: a taker mounts its containers there (pool_share.h). */
    int r = make_share_dirs(sb, err);
    if (r < 0)
        return r;
    int fd = clone_vm(sb, boot_timeout_ms());
    if (fd < 0)
        return make_error(err, EAGAIN, "the VM template did not start a clone");
    /* The channel passes to another process: nothing here may shut it down later. */
    atomic_store(&chan_fd_for_exit, -1);
    int check_fd = dup(fd);
    struct ttrpc_client *client = check_fd >= 0 ? ttrpc_client_new(check_fd) : NULL;
    if (!client) {
        if (check_fd >= 0)
            close(check_fd);
        close(fd);
        return make_error(err, EAGAIN, "start the ttRPC client");
    }
    r = agent_check(client, 10LL * 1000000000LL, err);
    sb->next_stream_id = ttrpc_client_next_stream_id(client);
    ttrpc_client_free(client);
    if (r < 0) {
        close(fd);
        return error_wrap(err, r, "agent health check");
    }
    return fd;
}

static int boot_vm(struct sandbox *sb, struct kerr **err)
{
    int timeout = boot_timeout_ms();
    if (sb->use_pool) {
        int fd = take_pooled_vm(sb);
        if (fd >= 0)
            return fd;
    }
    if (sb->use_template) {
        int fd = clone_vm(sb, timeout);
        if (fd >= 0)
            return fd;
    }
    if (sb->accel == ACCEL_AUTO) {
        /* Unknown host: try KVM with a short deadline, remember the outcome. */
        sb->vmc.accel = ACCEL_KVM;
        struct kerr *e = NULL;
        int fd = start_vm_once(sb, KVM_TRIAL_TIMEOUT_MS, &e);
        if (fd >= 0) {
            error_free(e);
            accel_record_verdict(ACCEL_VERDICT_PATH, ACCEL_VERDICT_KVM_OK);
            sb->accel = ACCEL_KVM;
            return fd;
        }
        if (sb->opts->verbose)
            fprintf(stderr, "kata-host: KVM did not boot the guest (%s); using TCG from now on\n",
                    e && e->msg ? e->msg : "timeout");
        error_free(e);
        accel_record_verdict(ACCEL_VERDICT_PATH, ACCEL_VERDICT_KVM_BROKEN);
        vm_stop(&sb->vm);
        sb->vm_started = false;
        if (sb->share == SHARE_VIRTIOFS) {
            /* virtiofsd serves one VMM connection and exits with it: start a fresh one. */
            stop_virtiofsd(sb);
            unlink(sb->vfs_socket);
            int r = start_virtiofsd(sb, err);
            if (r < 0)
                return r;
        }
        sb->accel = ACCEL_TCG;
        sb->vmc.accel = ACCEL_TCG;
        sb->vmc.tsc_khz = tsc_host_khz_cached(TSC_CACHE_PATH);
        sb->start_ns = loop_now_ns();
    }
    return start_vm_once(sb, timeout, err);
}

/* One of a clone's refresh calls (ReseedRandomDev, SetGuestDateTime), on a thread of its own. */
struct refresh {
    struct sandbox *sb;
    bool clock; /* SetGuestDateTime, else ReseedRandomDev */
    bool threaded;
    pthread_t thread;
    int r;
    struct kerr *err;
    int64_t done_at;
};

static void *refresh_main(void *arg)
{
    struct refresh *rf = arg;
    rf->r = rf->clock ? agent_set_guest_time(rf->sb->client, &rf->err)
                      : agent_reseed_random(rf->sb->client, &rf->err);
    rf->done_at = loop_now_ns();
    return NULL;
}

/* Waits for both refresh calls; the first failure goes to err. */
static int refresh_join(struct refresh rf[2], struct kerr **err)
{
    int r = 0;
    for (int i = 0; i < 2; i++) {
        if (rf[i].threaded)
            pthread_join(rf[i].thread, NULL);
        if (rf[i].r < 0 && r == 0) {
            r = rf[i].r;
            if (err && !*err) {
                *err = rf[i].err;
                rf[i].err = NULL;
            }
        }
        error_free(rf[i].err);
        if (rf[i].done_at > rf->sb->refreshed_at)
            rf->sb->refreshed_at = rf[i].done_at;
    }
    return r;
}

int sandbox_boot(struct sandbox *sb, struct kerr **err)
{
    int r = make_run_dir(sb, err);
    if (r < 0)
        return r;
    int fd;
    if (sb->opts->agent_addr) {
        struct dial_addr a;
        r = dial_parse(sb->opts->agent_addr, &a, err);
        if (r < 0)
            return r;
        fd = dial_connect(&a, 10000, err);
        dial_addr_free(&a);
        if (fd < 0)
            return error_wrap(err, fd, "agent %s", sb->opts->agent_addr);
        sb->hello_at = loop_now_ns();
    } else {
        if (sb->rootfs_mount == NULL && sb->opts->rootfs) {
            r = share_rootfs(sb, err);
            if (r < 0)
                return r;
        }
        r = make_share_dirs(sb, err);
        if (r < 0)
            return r;
        if (sb->share == SHARE_VIRTIOFS) {
            r = start_virtiofsd(sb, err);
            if (r < 0)
                return r;
        }
        fd = boot_vm(sb, err);
        if (fd < 0)
            return error_wrap(err, fd, "boot the guest");
    }
    sb->chan_fd = dup(fd);
    if (sb->chan_fd >= 0)
        atomic_store(&chan_fd_for_exit, sb->chan_fd);
    sb->client = ttrpc_client_new(fd);
    if (!sb->client) {
        close(fd);
        return make_error(err, EAGAIN, "start the ttRPC client");
    }
    if (sb->next_stream_id)
        ttrpc_client_set_next_stream_id(sb->client, sb->next_stream_id);
    /* A pooled VM's keeper checked its agent and ran a container in it; the refresh's first
     * call is the liveness check a round trip cheaper. */
    if (!sb->from_pool) {
        r = agent_check(sb->client, 10LL * 1000000000LL, err);
        if (r < 0)
            return error_wrap(err, r, "agent health check");
    }
    /* Every clone starts with the template's RNG state and clock: both are refreshed while
     * the agent creates the sandbox (nothing of the sandbox's uses either), three requests in
     * flight at once instead of three round trips in a row. */
    struct refresh rf[2] = {{.sb = sb}, {.sb = sb, .clock = true}};
    for (int i = 0; i < 2 && sb->from_template; i++) {
        rf[i].threaded = pthread_create(&rf[i].thread, NULL, refresh_main, &rf[i]) == 0;
        if (!rf[i].threaded)
            refresh_main(&rf[i]);
    }

    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.hostname =
        (char *)(sb->opts->hostname && *sb->opts->hostname ? sb->opts->hostname : sb->name);
    req.sandbox_id = sb->name;
    Grpc__Storage st = GRPC__STORAGE__INIT;
    Grpc__Storage *stp = &st;
    char *opts9p[] = {"trans=virtio", "version=9p2000.L", "msize=512000"};
    if (sb->share == SHARE_VIRTIOFS) {
        st.driver = "virtio-fs";
        st.fstype = "virtiofs";
    } else if (sb->share == SHARE_9P) {
        st.driver = "9p";
        st.fstype = "9p";
        st.n_options = 3;
        st.options = opts9p;
    }
    if (sb->share != SHARE_AUTO) {
        st.source = VM_SHARE_TAG;
        st.mount_point = SHARED_MOUNT_POINT;
        req.n_storages = 1;
        req.storages = &stp;
    }
    r = agent_create_sandbox(sb->client, &req, err);
    if (r == 0)
        sb->sandbox_created_at = loop_now_ns();
    else
        error_wrap(err, r, "CreateSandbox");
    int rr = sb->from_template ? refresh_join(rf, err) : 0;
    if (r < 0)
        return r;
    if (rr < 0)
        return error_wrap(err, rr, "refresh the cloned VM");
    return 0;
}

bool sandbox_vm_lost(struct sandbox *sb)
{
    return sb->vm_started && !vm_running(&sb->vm);
}

char *sandbox_vm_lost_text(struct sandbox *sb)
{
    cleanup_free char *how = vm_exit_text(&sb->vm);
    return xasprintf("the VM (%s pid %d) %s",
                     sb->vmc.hypervisor == HV_CLH ? "cloud-hypervisor" : "qemu", (int)sb->vm.pid,
                     how);
}

void sandbox_dump_console(struct sandbox *sb)
{
    if (sb->vm_started || sb->vm.console_log_path)
        vm_dump_console(&sb->vm, 25);
}

void sandbox_teardown(struct sandbox *sb)
{
    int64_t destroy_start = loop_now_ns();
    if (sb->from_pool && sb->vm_started) {
        /* A pooled VM has nothing of the host's in it (no shared directory, no virtiofsd) and
         * is never used again, so the guest's own cleanup (DestroySandbox, ~20-60 ms under
         * TCG, then QEMU's exit) saves nothing: QEMU is killed and its keeper, which is its
         * parent, reaps it and removes its directory without the user waiting for either. */
        vm_abandon(&sb->vm);
        if (sb->opts && sb->opts->verbose)
            fprintf(stderr, "kata-host: %-18s %8.1f ms  (killed; its pool keeper reaps it)\n",
                    "vm released", (double)(loop_now_ns() - sb->start_ns) / 1e6);
    } else if (sb->client) {
        bool alive = sb->opts->agent_addr || (sb->vm_started && vm_running(&sb->vm));
        if (alive) {
            struct kerr *e = NULL;
            int r = agent_destroy_sandbox(sb->client, 5LL * 1000000000LL, &e);
            error_free(e);
            /* As Kata's runtime does (QMP quit after DestroySandbox): once the agent has
             * stopped the containers and unmounted the storages there is nothing left to save,
             * so QEMU is told to quit rather than waiting ~0.1 s for the guest's own power-off.
             * SIGTERM makes QEMU shut down cleanly. */
            if (r == 0 && sb->vm_started && sb->vm.pid > 0 && !getenv("KATA_HOST_GUEST_POWEROFF"))
                kill(sb->vm.pid, SIGTERM);
            if (sb->opts->verbose)
                fprintf(stderr, "kata-host: %-18s %8.1f ms  (took %.1f ms)\n", "sandbox destroyed",
                        (double)(loop_now_ns() - sb->start_ns) / 1e6,
                        (double)(loop_now_ns() - destroy_start) / 1e6);
        }
    }
    int64_t destroyed = loop_now_ns();
    if (sb->vm_started && sb->from_pool) {
        vm_stop(&sb->vm);
        sb->vm_started = false;
    } else if (sb->vm_started) {
        bool off = vm_wait(&sb->vm, 3000);
        if (sb->opts && sb->opts->verbose)
            fprintf(stderr, "kata-host: %-18s %8.1f ms  (%s %.1f ms after DestroySandbox)\n",
                    off ? "vm exited" : "vm killed", (double)(loop_now_ns() - sb->start_ns) / 1e6,
                    off ? "" : "no exit", (double)(loop_now_ns() - destroyed) / 1e6);
        vm_stop(&sb->vm);
        sb->vm_started = false;
    } else if (sb->vm.console_log_fd > 0) {
        vm_stop(&sb->vm);
    }
    if (sb->chan_fd >= 0)
        shutdown(sb->chan_fd, SHUT_RDWR); /* fails whatever still waits on the agent */
    session_server_stop(sb->session);
    sb->session = NULL;
    if (sb->client) {
        ttrpc_client_free(sb->client);
        sb->client = NULL;
    }
    atomic_store(&chan_fd_for_exit, -1);
    if (sb->chan_fd >= 0) {
        close(sb->chan_fd);
        sb->chan_fd = -1;
    }
    stop_virtiofsd(sb);
    if (sb->rootfs_mount) {
        umount2(sb->rootfs_mount, MNT_DETACH);
        free(sb->rootfs_mount);
        sb->rootfs_mount = NULL;
    }
    if (sb->run_dir_created) {
        paths_remove_tree(sb->run_dir);
        sb->run_dir_created = false;
    }
    free(sb->name);
    free(sb->container_id);
    free(sb->run_dir);
    free(sb->share_dir);
    free(sb->kernel);
    free(sb->initrd);
    free(sb->image);
    free(sb->firmware);
    free(sb->qmp_socket);
    template_free(&sb->tmpl);
    free(sb->vmm_path);
    free(sb->serial_socket);
    free(sb->debug_console_socket);
    free(sb->hvsock_socket);
    free(sb->vfs_socket);
    free(sb->console_log);
    free(sb->vm.console_log_path);
    memset(sb, 0, sizeof(*sb));
    sb->chan_fd = -1;
}

void sandbox_print_stages(struct sandbox *sb, int64_t container_started)
{
    struct vm_stages st = {0};
    if (sb->vm_started || sb->vm.pid > 0)
        vm_get_stages(&sb->vm, &st);
    int64_t t0 = sb->start_ns;
#define MS(t) ((double)((t)-t0) / 1e6)
    if (st.spawned)
        fprintf(stderr, "kata-host: %-18s %8.1f ms  (%s, accel %s)\n", "vm start", MS(st.spawned),
                sb->vmc.hypervisor == HV_CLH ? "cloud-hypervisor" : "qemu",
                accel_name(sb->vmc.accel));
    if (sb->pool_taken_at)
        fprintf(stderr, "kata-host: %-18s %8.1f ms  (from the VM pool: qemu pid %d, %s, %s)\n",
                "vm taken", MS(sb->pool_taken_at), (int)sb->vm.pid,
                sb->pool_warm_ms >= 0 ? "warmed" : "not warmed", sb->vm.console_log_path);
    if (sb->restored_at)
        fprintf(stderr, "kata-host: %-18s %8.1f ms  (from template %s)\n", "vm restored",
                MS(sb->restored_at), sb->tmpl.dir);
    if (st.first_output)
        fprintf(stderr, "kata-host: %-18s %8.1f ms  (first console output)\n", "kernel",
                MS(st.first_output));
    if (st.init_started) {
        if (st.init_guest_s >= 0)
            fprintf(stderr, "kata-host: %-18s %8.1f ms  (guest time %.3f s)\n", "init",
                    MS(st.init_started), st.init_guest_s);
        else
            fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "init", MS(st.init_started));
    }
    if (sb->hello_at) {
        if (sb->from_template)
            fprintf(stderr,
                    "kata-host: %-18s %8.1f ms  (restored; it was ready at guest time %.3f s)\n",
                    "agent ready", MS(sb->hello_at), (double)sb->hello_boottime_ns / 1e9);
        else if (sb->hello_boottime_ns)
            fprintf(stderr, "kata-host: %-18s %8.1f ms  (guest time %.3f s)\n", "agent ready",
                    MS(sb->hello_at), (double)sb->hello_boottime_ns / 1e9);
        else
            fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "agent connected", MS(sb->hello_at));
    }
    if (sb->refreshed_at)
        fprintf(stderr,
                "kata-host: %-18s %8.1f ms  (ReseedRandomDev, SetGuestDateTime, beside "
                "CreateSandbox)\n",
                "clone refreshed", MS(sb->refreshed_at));
    if (sb->sandbox_created_at)
        fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "sandbox created",
                MS(sb->sandbox_created_at));
    if (sb->container_created_at)
        fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "container created",
                MS(sb->container_created_at));
    if (container_started)
        fprintf(stderr, "kata-host: %-18s %8.1f ms\n", "container started", MS(container_started));
#undef MS
}
