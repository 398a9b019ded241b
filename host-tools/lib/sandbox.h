/* One sandbox: its run directory, the shared rootfs (virtio-fs daemon or 9p), the VM, the
 * agent channel and CreateSandbox — and the teardown that undoes all of it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "options.h"
#include "session.h"
#include "template.h"
#include "ttrpc.h"
#include "vm.h"

/* In the run directory: the debug console's chardev socket (QEMU without vsock) and
 * cloud-hypervisor's hybrid vsock socket. */
#define SANDBOX_DEBUG_CONSOLE_SOCKET "debug-console.sock"
#define SANDBOX_HVSOCK_SOCKET "clh.vsock"

struct sandbox {
    const struct run_opts *opts;
    char *name;
    char *container_id;
    char *run_dir;
    bool run_dir_created;
    /* shared rootfs */
    enum share_kind share; /* SHARE_AUTO = nothing shared */
    char *share_dir;       /* run_dir/shared, holding <cid>/rootfs */
    bool share_bind;       /* 9p through TEMPLATE_9P_EXPORT (template.h) */
    char *rootfs_mount;    /* share_dir/<cid>/rootfs while bind-mounted */
    pid_t virtiofsd_pid;
    /* VM */
    struct vm_config vmc;
    struct vm vm;
    bool vm_started;
    char *kernel, *initrd, *image, *firmware, *vmm_path, *serial_socket, *hvsock_socket,
        *vfs_socket;
    char *debug_console_socket; /* QEMU without vsock, --debug-console */
    char *console_log;
    enum accel_mode accel;
    bool use_template;  /* start from a template VM (template.h) when one can be had */
    bool from_template; /* this VM was */
    bool poolable;      /* a pooled VM could serve this configuration (pool.h) */
    bool use_pool;      /* ask a running VM pool first: poolable, unless KATA_HOST_POOL=0 */
    bool from_pool;     /* this VM came from it */
    int64_t pool_taken_at;
    int pool_warm_ms;        /* the keeper's warm-up of this VM took; -1: not warmed */
    uint32_t next_stream_id; /* > 0: the channel was used before (a pooled VM's) */
    char *qmp_socket;
    struct template tmpl;
    int64_t restored_at;
    /* agent */
    int chan_fd; /* a duplicate of the channel, to shut it down when the VM dies */
    struct ttrpc_client *client;
    uint64_t hello_boottime_ns;
    int64_t hello_at, start_ns, sandbox_created_at;
    int64_t container_created_at; /* set by the caller that creates the container (-v) */
    int64_t refreshed_at;         /* a clone's RNG reseeded and clock set */
    struct session_server *session;
    /* Called on the VM's waiter thread when the VMM exits (also after a clean teardown); it
     * must not block. */
    void (*on_vm_lost)(void *data);
    void *on_vm_lost_data;
};

/* Fills in names and paths and validates options; no side effects. */
int sandbox_prepare(struct sandbox *sb, const struct run_opts *opts, struct kerr **err);
/* Prints the VMM command line (--dry-run). */
int sandbox_print_command(struct sandbox *sb, struct kerr **err);
/* Run dir, share, VM, agent connection, Health.Check, CreateSandbox. */
int sandbox_boot(struct sandbox *sb, struct kerr **err);
/* For the VM pool's keepers: a clone of the template VM in the run directory (which the
 * caller created), its agent answering Health.Check; returns the channel (the agent's hello
 * line read). Never boots: without a usable template it fails. */
int sandbox_start_pool_vm(struct sandbox *sb, struct kerr **err);
/* Root.Path for the container as the agent will see it. */
const char *sandbox_root_path(const struct sandbox *sb);
/* DestroySandbox, VM power-off (killed after a grace period), daemons, mounts, run dir. */
void sandbox_teardown(struct sandbox *sb);
/* Whether the VM died under us (for error messages). */
bool sandbox_vm_lost(struct sandbox *sb);
char *sandbox_vm_lost_text(struct sandbox *sb);
/* Prints the VM console's tail to stderr. */
void sandbox_dump_console(struct sandbox *sb);
/* Boot stages with timings (for -v). */
void sandbox_print_stages(struct sandbox *sb, int64_t container_started);
