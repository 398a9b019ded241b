#include "vm.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "cleanup.h"
#include "loop.h"
#include "xalloc.h"

/* Parameters Kata's runtime passes on x86_64: harmless under TCG and kept for KVM parity. */
static const char *const kata_params = "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 "
                                       "i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 "
                                       "i8042.noaux=1 noreplace-smp cryptomgr.notests "
                                       "net.ifnames=0 pci=lastbus=0";

char *vm_kernel_cmdline(const struct vm_config *c)
{
    /* Under TCG, nolapic_timer skips ~200 ms of LAPIC timer calibration and tsc_early_khz the
     * PIT/HPET calibration of the TSC (see tsc.h); under KVM both are skipped anyway (kvmclock),
     * and on machines without another clockevent nolapic_timer would hang. */
    bool x86 = c->arch != GUEST_AARCH64;
    bool tcg = x86 && c->accel == ACCEL_TCG && c->hypervisor == HV_QEMU;
    char tsc[40] = "";
    if (tcg && c->tsc_khz > 0)
        snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u", (unsigned)c->tsc_khz);
    /* What Kata's runtime adds with debug_console_enabled (facts §1.4). */
    char dbg[80] = "";
    if (c->debug_console && !c->debug_console_quiet)
        snprintf(dbg, sizeof(dbg), " agent.debug_console agent.debug_console_vport=%d",
                 KATA_DEBUG_CONSOLE_VSOCK_PORT);
    /* The root parameters the runtime derives from the image (kata-runtime-facts.md §1.4). */
    const char *root = "";
    if (c->boot == BOOT_IMAGE)
        root = " root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4";
    else if (c->boot == BOOT_IMAGE_BLK)
        root = " root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4";
    /* On arm64's virt machine the serial port is a PL011; the x86 parameters, timer tricks
     * and keyboard-controller reboot mean nothing there. */
    return xasprintf("%s%s%s%s panic=1%s%s%s%s%s%s", x86 ? "console=ttyS0 " : "console=ttyAMA0",
                     x86 ? kata_params : "", root, c->quiet ? " quiet" : "",
                     x86 ? " reboot=k" : "", tcg ? " nolapic_timer" : "", tsc, dbg,
                     c->kernel_params ? " " : "", c->kernel_params ? c->kernel_params : "");
}

struct argv_builder {
    char **v;
    size_t n;
};

static void add(struct argv_builder *b, const char *s)
{
    b->v = xrealloc(b->v, (b->n + 2) * sizeof(*b->v));
    b->v[b->n++] = xstrdup(s);
    b->v[b->n] = NULL;
}

static void addf(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(struct argv_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    add(b, s);
    free(s);
}

/* QEMU option values are comma-separated; a comma inside a path is written twice. */
static char *qemu_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == ',' ? 2 : 1;
    char *out = xmalloc(n + 1), *o = out;
    for (const char *p = s; *p; p++) {
        *o++ = *p;
        if (*p == ',')
            *o++ = ',';
    }
    *o = '\0';
    return out;
}

char **vm_qemu_argv(const struct vm_config *c)
{
    struct argv_builder b = {0};
    cleanup_free char *cmdline = vm_kernel_cmdline(c);
    add(&b, c->vmm_path);
    if (c->name) {
        add(&b, "-name");
        addf(&b, "%s", c->name);
    }
    add(&b, "-machine");
    add(&b, c->arch == GUEST_AARCH64 ? "virt" : c->boot == BOOT_IMAGE ? "q35,nvdimm=on" : "q35");
    add(&b, "-accel");
    /* Several vCPUs under multi-threaded TCG once aborted QEMU 7.2 in its MSI-X emulation
     * (msix_table_mmio_write assertion, about 1 boot in 30): run them on one host thread. */
    add(&b, c->accel == ACCEL_KVM ? "kvm" : c->cpus > 1 ? "tcg,thread=single" : "tcg");
    if (c->accel == ACCEL_KVM || c->arch == GUEST_AARCH64) {
        /* virt's default CPU under TCG is a 32-bit Cortex-A15: an arm64 kernel needs max. */
        add(&b, "-cpu");
        add(&b, c->accel == ACCEL_KVM ? "host" : "max");
    }
    add(&b, "-m");
    if (c->boot == BOOT_IMAGE) {
        /* An NVDIMM takes a memory slot and room above the RAM, as the runtime's maxmem
         * makes for it. */
        unsigned long long image_mib = (c->image_bytes + (1 << 20) - 1) >> 20;
        addf(&b, "%lluM,slots=1,maxmem=%lluM", (unsigned long long)c->memory_mib,
             (unsigned long long)c->memory_mib + image_mib);
    } else {
        addf(&b, "%llu", (unsigned long long)c->memory_mib);
    }
    add(&b, "-smp");
    addf(&b, "%u", c->cpus);
    /* No default NIC (its option ROM costs boot time), VGA, monitor or config files. */
    add(&b, "-nodefaults");
    add(&b, "-no-user-config");
    add(&b, "-display");
    add(&b, "none");
    add(&b, "-no-reboot");
    add(&b, "-chardev");
    add(&b, "stdio,id=console0,signal=off");
    add(&b, "-serial");
    add(&b, "chardev:console0");
    if (c->firmware) {
        add(&b, "-bios");
        add(&b, c->firmware);
    }
    add(&b, "-kernel");
    add(&b, c->kernel);
    if (c->initrd && c->boot == BOOT_INITRD) {
        add(&b, "-initrd");
        add(&b, c->initrd);
    }
    add(&b, "-append");
    add(&b, cmdline);
    if (c->boot == BOOT_IMAGE) {
        cleanup_free char *path = qemu_escape(c->image);
        add(&b, "-object");
        addf(&b, "memory-backend-file,id=mem0,mem-path=%s,size=%llu,readonly=on", path,
             (unsigned long long)c->image_bytes);
        add(&b, "-device");
        add(&b, "nvdimm,id=nv0,memdev=mem0,unarmed=on");
    } else if (c->boot == BOOT_IMAGE_BLK) {
        cleanup_free char *path = qemu_escape(c->image);
        add(&b, "-drive");
        addf(&b, "id=image0,file=%s,format=raw,if=none,readonly=on", path);
        add(&b, "-device");
        add(&b, "virtio-blk-pci,drive=image0,config-wce=off,share-rw=on");
    }
    add(&b, "-object");
    add(&b, "rng-random,id=rng0,filename=/dev/urandom");
    add(&b, "-device");
    add(&b, "virtio-rng-pci,rng=rng0");
    if (c->serial_socket) {
        cleanup_free char *path = qemu_escape(c->serial_socket);
        add(&b, "-device");
        add(&b, "virtio-serial-pci,id=vser0");
        add(&b, "-chardev");
        addf(&b, "socket,id=agent0,path=%s,server=on,wait=off", path);
        add(&b, "-device");
        add(&b, "virtserialport,bus=vser0.0,chardev=agent0,name=" KATA_SERIAL_PORT_NAME);
        if (c->debug_console_socket) {
            cleanup_free char *dpath = qemu_escape(c->debug_console_socket);
            add(&b, "-chardev");
            addf(&b, "socket,id=debugcon0,path=%s,server=on,wait=off", dpath);
            add(&b, "-device");
            add(&b,
                "virtserialport,bus=vser0.0,chardev=debugcon0,name=" KATA_DEBUG_CONSOLE_PORT_NAME);
        }
    }
    if (c->vsock_cid > 0) {
        add(&b, "-device");
        addf(&b, "vhost-vsock-pci,id=vsock0,guest-cid=%u", c->vsock_cid);
    }
    if (c->mem_file) {
        cleanup_free char *path = qemu_escape(c->mem_file);
        add(&b, "-object");
        addf(&b, "memory-backend-file,id=mem,size=%lluM,mem-path=%s,share=%s",
             (unsigned long long)c->memory_mib, path, c->mem_share ? "on" : "off");
        add(&b, "-numa");
        add(&b, "node,memdev=mem");
    }
    if (c->qmp_socket) {
        cleanup_free char *path = qemu_escape(c->qmp_socket);
        add(&b, "-qmp");
        addf(&b, "unix:%s,server=on,wait=off", path);
    }
    if (c->incoming) {
        add(&b, "-incoming");
        add(&b, "defer");
    }
    if (c->share == SHARE_VIRTIOFS) {
        cleanup_free char *path = qemu_escape(c->virtiofsd_socket);
        /* vhost-user needs guest RAM the daemon can map: a shared memfd backend. */
        add(&b, "-object");
        addf(&b, "memory-backend-memfd,id=mem,size=%lluM,share=on",
             (unsigned long long)c->memory_mib);
        add(&b, "-numa");
        add(&b, "node,memdev=mem");
        add(&b, "-chardev");
        addf(&b, "socket,id=vfs0,path=%s", path);
        add(&b, "-device");
        addf(&b, "vhost-user-fs-pci,chardev=vfs0,tag=%s", VM_SHARE_TAG);
    } else if (c->share == SHARE_9P) {
        cleanup_free char *path = qemu_escape(c->share_dir);
        add(&b, "-fsdev");
        addf(&b, "local,id=fs0,path=%s,security_model=none", path);
        add(&b, "-device");
        addf(&b, "virtio-9p-pci,fsdev=fs0,mount_tag=%s", VM_SHARE_TAG);
    }
    return b.v;
}

char **vm_clh_argv(const struct vm_config *c, struct kerr **err)
{
    if (c->share == SHARE_9P) {
        make_error(err, EINVAL, "cloud-hypervisor has no 9p device; use --share virtio-fs");
        return NULL;
    }
    if (!c->hvsock_socket) {
        make_error(err, EINVAL, "cloud-hypervisor needs a hybrid vsock socket path");
        return NULL;
    }
    struct argv_builder b = {0};
    cleanup_free char *cmdline = vm_kernel_cmdline(c);
    add(&b, c->vmm_path);
    add(&b, "--kernel");
    add(&b, c->kernel);
    if (c->initrd) {
        add(&b, "--initramfs");
        add(&b, c->initrd);
    }
    add(&b, "--cmdline");
    add(&b, cmdline);
    add(&b, "--cpus");
    addf(&b, "boot=%u", c->cpus);
    add(&b, "--memory");
    /* virtio-fs needs guest RAM shared with virtiofsd. */
    addf(&b, "size=%lluM%s", (unsigned long long)c->memory_mib,
         c->share == SHARE_VIRTIOFS ? ",shared=on" : "");
    add(&b, "--serial");
    add(&b, "tty");
    add(&b, "--console");
    add(&b, "off");
    add(&b, "--rng");
    add(&b, "src=/dev/urandom");
    add(&b, "--vsock");
    addf(&b, "cid=%u,socket=%s", VM_CLH_GUEST_CID, c->hvsock_socket);
    if (c->share == SHARE_VIRTIOFS) {
        add(&b, "--fs");
        addf(&b, "tag=%s,socket=%s", VM_SHARE_TAG, c->virtiofsd_socket);
    }
    return b.v;
}

char **vm_argv(const struct vm_config *c, struct kerr **err)
{
    if (c->hypervisor == HV_CLH)
        return vm_clh_argv(c, err);
    return vm_qemu_argv(c);
}

void vm_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

char *vm_argv_join(char *const *argv)
{
    size_t cap = 1;
    for (char *const *p = argv; *p; p++)
        cap += strlen(*p) * 4 + 3;
    char *out = xmalloc(cap), *o = out;
    for (char *const *p = argv; *p; p++) {
        if (p != argv)
            *o++ = ' ';
        bool plain =
            **p != '\0' && strspn(*p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_./=,:@%+") == strlen(*p);
        if (plain) {
            o = stpcpy(o, *p);
            continue;
        }
        *o++ = '\'';
        for (const char *s = *p; *s; s++) {
            if (*s == '\'')
                o = stpcpy(o, "'\\''");
            else
                *o++ = *s;
        }
        *o++ = '\'';
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ supervision */

/* Reads the VMM's console, appends it to the log, and timestamps the first byte and the start
 * of init: kata-init's "started at boottime S s" line (printed in quiet mode too), else the
 * kernel's "Run /init" line with its printk time (only without `quiet`). */
struct console_reader {
    struct vm *vm;
    int fd;
};

static void note_line(struct vm *vm, const char *line, int64_t now)
{
    static const char init_mark[] = "kata-init: started at boottime ";
    const char *own = strstr(line, init_mark);
    const char *run = strstr(line, "Run /");
    double guest = -1;
    if (own) {
        guest = strtod(own + sizeof(init_mark) - 1, NULL);
    } else if (run && strstr(run, "as init process")) {
        const char *lb = strchr(line, '[');
        if (lb && lb < run)
            guest = strtod(lb + 1, NULL);
    } else {
        return;
    }
    pthread_mutex_lock(&vm->lock);
    /* kata-init's own clock reading is taken after the exec, so it wins over the kernel's. */
    if (!vm->stages.init_started || own) {
        vm->stages.init_started = now;
        vm->stages.init_guest_s = guest;
    }
    pthread_mutex_unlock(&vm->lock);
}

static void *console_main(void *arg)
{
    struct console_reader *cr = arg;
    struct vm *vm = cr->vm;
    char buf[4096];
    char line[512];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(cr->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        int64_t now = loop_now_ns();
        pthread_mutex_lock(&vm->lock);
        if (!vm->stages.first_output)
            vm->stages.first_output = now;
        pthread_mutex_unlock(&vm->lock);
        if (vm->console_log_fd >= 0 && write(vm->console_log_fd, buf, (size_t)n) < 0) {
            /* a full disk must not stall the VM's console: drop the log */
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || used == sizeof(line) - 1) {
                line[used] = '\0';
                note_line(vm, line, now);
                used = 0;
            } else {
                line[used++] = buf[i];
            }
        }
    }
    close(cr->fd);
    free(cr);
    return NULL;
}

/* Wakes vm_wait and runs the on_exit hook. */
static void mark_exited(struct vm *vm, int status)
{
    pthread_mutex_lock(&vm->lock);
    vm->exited = true;
    vm->exit_status = status;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (vm->on_exit)
        vm->on_exit(vm->on_exit_data);
}

static void *waiter_main(void *arg)
{
    struct vm *vm = arg;
    int status = 0;
    while (waitpid(vm->pid, &status, 0) < 0 && errno == EINTR)
        ;
    mark_exited(vm, status);
    return NULL;
}

/* An adopted VM's keeper sends "EXIT <status>"; a keeper that dies first took QEMU with it
 * (PR_SET_PDEATHSIG): that reads as SIGKILL. */
static void *adopted_waiter_main(void *arg)
{
    struct vm *vm = arg;
    int status = SIGKILL;
    char buf[64];
    for (;;) {
        ssize_t n = recv(vm->keeper_fd, buf, sizeof(buf) - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf[n] = '\0';
        if (sscanf(buf, "EXIT %d", &status) == 1)
            break;
    }
    mark_exited(vm, status);
    return NULL;
}

int vm_adopt(struct vm *vm, pid_t pid, int keeper_fd, const char *console_log_path,
             struct kerr **err)
{
    vm->pid = pid;
    vm->console_log_fd = -1;
    vm->keeper_fd = keeper_fd;
    vm->stages.init_guest_s = -1;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    vm->console_log_path = xstrdup(console_log_path);
    if (pthread_create(&vm->waiter_thread, NULL, adopted_waiter_main, vm) != 0) {
        kill(pid, SIGKILL);
        close(keeper_fd);
        vm->keeper_fd = -1;
        vm->exited = true;
        return make_error(err, EAGAIN, "start the VM watcher thread");
    }
    vm->waiter_started = true;
    return 0;
}

void vm_child_detach(pid_t parent)
{
    /* Helpers must not outlive kata-host, whatever kills it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
}

int vm_start(struct vm *vm, char *const *argv, const char *console_log_path, struct kerr **err)
{
    vm->pid = -1;
    vm->console_log_fd = -1;
    vm->keeper_fd = -1;
    vm->stages.init_guest_s = -1;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    vm->console_log_path = xstrdup(console_log_path);
    vm->console_log_fd =
        open(console_log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
    if (vm->console_log_fd < 0)
        return make_error(err, errno, "create %s", console_log_path);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return make_error(err, errno, "pipe");
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return make_error(err, errno, "pipe");
    }
    pid_t parent = getpid();
    vm->stages.spawned = loop_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        close(errpipe[0]);
        close(errpipe[1]);
        return make_error(err, e, "fork");
    }
    if (pid == 0) {
        vm_child_detach(parent);
        if (vm->ns_bind_src &&
            (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
             mount(vm->ns_bind_src, vm->ns_bind_dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
             mount(NULL, vm->ns_bind_dst, NULL, MS_SHARED, NULL) < 0)) {
            int e = errno;
            if (write(errpipe[1], &e, sizeof(e)) < 0) {
            }
            _exit(127);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        execv(argv[0], argv);
        int e = errno;
        if (write(errpipe[1], &e, sizeof(e)) < 0) {
        }
        _exit(127);
    }
    close(pipefd[1]);
    close(errpipe[1]);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(errpipe[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    if (n == sizeof(child_errno)) {
        close(pipefd[0]);
        waitpid(pid, NULL, 0);
        return make_error(err, child_errno, "execute %s", argv[0]);
    }
    vm->pid = pid;
    struct console_reader *cr = xmalloc(sizeof(*cr));
    cr->vm = vm;
    cr->fd = pipefd[0];
    if (pthread_create(&vm->console_thread, NULL, console_main, cr) != 0) {
        close(pipefd[0]);
        free(cr);
    } else {
        vm->console_thread_started = true;
    }
    if (pthread_create(&vm->waiter_thread, NULL, waiter_main, vm) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        vm->exited = true;
        return make_error(err, EAGAIN, "start the VM watcher thread");
    }
    vm->waiter_started = true;
    return 0;
}

bool vm_running(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    bool r = vm->pid > 0 && !vm->exited;
    pthread_mutex_unlock(&vm->lock);
    return r;
}

bool vm_wait(struct vm *vm, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&vm->lock);
    while (!vm->exited && vm->pid > 0) {
        if (pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool r = vm->exited || vm->pid <= 0;
    pthread_mutex_unlock(&vm->lock);
    return r;
}

void vm_stop(struct vm *vm)
{
    if (vm->pid > 0 && !vm_wait(vm, 0))
        kill(vm->pid, SIGKILL);
    if (vm->waiter_started) {
        pthread_join(vm->waiter_thread, NULL);
        vm->waiter_started = false;
    }
    if (vm->console_thread_started) {
        pthread_join(vm->console_thread, NULL);
        vm->console_thread_started = false;
    }
    if (vm->console_log_fd >= 0) {
        close(vm->console_log_fd);
        vm->console_log_fd = -1;
    }
    /* 0 is a zeroed struct's value, never a keeper connection (stdin stays open). */
    if (vm->keeper_fd > 0) {
        close(vm->keeper_fd);
        vm->keeper_fd = -1;
    }
}

void vm_abandon(struct vm *vm)
{
    if (vm->keeper_fd <= 0)
        return;
    if (vm->pid > 0 && !vm_wait(vm, 0))
        kill(vm->pid, SIGKILL);
    shutdown(vm->keeper_fd, SHUT_RDWR);
}

void vm_get_stages(struct vm *vm, struct vm_stages *ret)
{
    pthread_mutex_lock(&vm->lock);
    *ret = vm->stages;
    pthread_mutex_unlock(&vm->lock);
}

void vm_dump_console(const struct vm *vm, int lines)
{
    if (!vm->console_log_path)
        return;
    cleanup_file FILE *f = fopen(vm->console_log_path, "re");
    if (!f)
        return;
    char **ring = xcalloc((size_t)lines, sizeof(*ring));
    char *line = NULL;
    size_t cap = 0;
    long count = 0;
    while (getline(&line, &cap, f) >= 0) {
        free(ring[count % lines]);
        ring[count % lines] = xstrdup(line);
        count++;
    }
    free(line);
    long start = count > lines ? count - lines : 0;
    if (count > 0)
        fprintf(stderr, "kata-host: last lines of the VM console (%s):\n", vm->console_log_path);
    for (long i = start; i < count; i++) {
        const char *l = ring[i % lines];
        fprintf(stderr, "  | %s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
    }
    for (int i = 0; i < lines; i++)
        free(ring[i]);
    free(ring);
}

char *vm_exit_text(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    int st = vm->exit_status;
    bool exited = vm->exited;
    pthread_mutex_unlock(&vm->lock);
    if (!exited)
        return xstrdup("is still running");
    if (WIFSIGNALED(st))
        return xasprintf("was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return xasprintf("exited with status %d", WEXITSTATUS(st));
}
