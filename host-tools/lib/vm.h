/* The virtual machine: command lines for QEMU and cloud-hypervisor, starting the VMM with its
 * console captured, and supervising it (a watcher thread notices the VMM's exit at once). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "options.h"

struct vm_config {
    enum hypervisor hypervisor; /* HV_QEMU or HV_CLH (resolved) */
    enum accel_mode accel;      /* ACCEL_TCG or ACCEL_KVM (resolved) */
    enum guest_arch arch;       /* GUEST_AARCH64: QEMU's virt machine, PL011 console */
    const char *vmm_path;       /* qemu-system-x86_64 / cloud-hypervisor */
    const char *name;
    const char *kernel, *initrd;
    enum boot_kind boot; /* BOOT_IMAGE*: image instead of initrd, root= on the command line */
    const char *image;
    uint64_t image_bytes; /* the NVDIMM's size (the file's) */
    const char *firmware; /* QEMU: -bios FILE, NULL for QEMU's default */
    uint64_t memory_mib;
    unsigned cpus;
    uint32_t tsc_khz;          /* TCG: the host TSC rate for tsc_early_khz=, 0 = unknown */
    bool quiet;                /* pass `quiet` to the kernel */
    const char *serial_socket; /* QEMU: virtio-serial agent port chardev (unix socket path) */
    uint32_t vsock_cid;        /* QEMU: > 0 adds vhost-vsock-pci with this guest CID */
    const char *hvsock_socket; /* cloud-hypervisor: hybrid vsock unix socket path */
    /* The agent's debug console: its kernel parameters (unless debug_console_quiet), and
     * for QEMU without vsock a second virtio-serial port on this unix socket chardev. */
    bool debug_console;
    bool debug_console_quiet; /* the port without the agent parameters (tests: nothing listens) */
    const char *debug_console_socket;
    const char *kernel_params; /* extra kernel parameters, last (they win, as Kata's do) */
    enum share_kind share;     /* SHARE_AUTO here means: no shared directory */
    const char *share_dir;     /* 9p: the host directory exported */
    const char *virtiofsd_socket;
    /* VM templating (template.h), QEMU only: guest RAM in this file (share: MAP_SHARED, the
     * template writes it; else private copy-on-write, a clone), a QMP socket, and a clone
     * waits for its state (-incoming defer). */
    const char *mem_file;
    bool mem_share;
    const char *qmp_socket;
    bool incoming;
};

#define VM_SHARE_TAG "kataShared"
#define VM_CLH_GUEST_CID 3

/* The kernel command line for this configuration (malloc'd). */
char *vm_kernel_cmdline(const struct vm_config *c);
/* The complete argv (argv[0] = vmm_path), NULL-terminated, every string malloc'd;
 * free with vm_argv_free. */
char **vm_qemu_argv(const struct vm_config *c);
char **vm_clh_argv(const struct vm_config *c, struct kerr **err);
char **vm_argv(const struct vm_config *c, struct kerr **err);
void vm_argv_free(char **argv);
/* Shell-quoted single line, for --dry-run and -v. */
char *vm_argv_join(char *const *argv);

/* Stage timestamps (CLOCK_MONOTONIC ns, 0 = not seen) collected from the console. */
struct vm_stages {
    int64_t spawned;
    int64_t first_output; /* first console byte: the kernel is running */
    int64_t init_started; /* "Run /init as init process" */
    double init_guest_s;  /* its printk timestamp, guest seconds (-1 when unknown) */
};

struct vm {
    pid_t pid;
    int console_log_fd;
    char *console_log_path;
    pthread_t console_thread, waiter_thread;
    bool console_thread_started, waiter_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool exited;
    int exit_status; /* waitpid status */
    struct vm_stages stages;
    /* Called from the waiter thread when the VMM exits (e.g. to shut the agent channel). */
    void (*on_exit)(void *data);
    void *on_exit_data;
    /* When set, the VMM runs in a mount namespace of its own in which ns_bind_dst shows
     * ns_bind_src (as a slave: mounts made later under the source still appear). A template's
     * 9p export path is one fixed path that every clone sees as its own shared directory. The
     * bind is also shared, so that a pooled VM's taker can join it (sandbox.c: join_share). */
    const char *ns_bind_src, *ns_bind_dst;
    /* A VM adopted from the pool (pool.h) is not our child: its keeper reports the exit status
     * on this connection, and closing it ends the VM. */
    int keeper_fd;
};

/* Starts argv[0] with the console (stdout + stderr) going to console_log_path through a
 * reader thread that timestamps boot stages. The VMM gets SIGKILL if we die. */
/* In a child forked to exec a helper of the VM (the VMM, virtiofsd): it dies with kata-host
 * (`parent`), starts with no signal blocked, and gets its own process group so a terminal's
 * Ctrl-C reaches the container, not the helper. Exits the child if kata-host is already gone. */
void vm_child_detach(pid_t parent);
int vm_start(struct vm *vm, char *const *argv, const char *console_log_path, struct kerr **err);
/* Takes over a running VMM whose parent is a pool keeper (pool.h): the waiter thread reads
 * its exit status from keeper_fd (owned from now on). No console reader: the keeper logs it. */
int vm_adopt(struct vm *vm, pid_t pid, int keeper_fd, const char *console_log_path,
             struct kerr **err);
bool vm_running(struct vm *vm);
/* Waits up to timeout_ms for the VMM to exit; returns true when it has. */
bool vm_wait(struct vm *vm, int timeout_ms);
/* Kills the VMM (SIGKILL) if it still runs and reaps it; joins the threads. */
void vm_stop(struct vm *vm);
/* An adopted VM (vm_adopt) its taker is done with: QEMU gets SIGKILL and the keeper's
 * connection is shut, so the keeper reaps QEMU and removes the VM's directory on its own while
 * vm_stop returns at once instead of waiting for the keeper's EXIT. */
void vm_abandon(struct vm *vm);
void vm_get_stages(struct vm *vm, struct vm_stages *ret);
/* Prints the last `lines` lines of the console log to stderr. */
void vm_dump_console(const struct vm *vm, int lines);
/* Describes how the VMM ended ("exited with status 1", "killed by signal 9"), malloc'd. */
char *vm_exit_text(struct vm *vm);
