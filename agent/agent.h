/* The agent's state. One thread (the epoll loop's) owns all of it: handlers, the reaper and
 * fd callbacks all run on that thread, so nothing here is locked. Requests that cannot be
 * answered at once (ReadStdout, WaitProcess, WriteStdin on a full pipe, RemoveContainer while
 * processes die) are parked on the object they wait for and answered from its events. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "config.h"
#include "error.h"
#include "linux/spawn.h"
#include "loop.h"
#include "ttrpc.h"
#include "uevent.h"

#define AGENT_API_VERSION "0.0.1"
#ifndef AGENT_VERSION
#define AGENT_VERSION "0.0.0-dev"
#endif
/* Upstream's message for an unknown container in StartContainer, ExecProcess, RemoveContainer
 * and WriteStdin (an INTERNAL error there; other calls answer INVALID_ARGUMENT). */
#define AGENT_ERR_NO_CONTAINER "Invalid container id"
/* Where bundles live, as upstream (CONTAINER_BASE). */
#define AGENT_CONTAINER_BASE "/run/kata-containers"
/* The host's shared directory in the guest (upstream's KATA_GUEST_SHARE_DIR). */
#define AGENT_SHARE_DIR AGENT_CONTAINER_BASE "/shared/containers/"

/* ------------------------------------------------------------ parked calls (park.c) */

struct parked {
    struct parked *prev, *next;
    struct park_list *list;
    struct ttrpc_call *call;
    uint32_t len; /* ReadStdout/ReadStderr: most bytes wanted */
};
struct park_list {
    struct parked *head, *tail;
};

/* Parks call at the tail of list; a cancelled call (client gone, deadline) unparks itself. */
void park(struct park_list *list, struct ttrpc_call *call, uint32_t len);
/* Takes the oldest parked call off the list; NULL if none. *ret_len gets its len. */
struct ttrpc_call *park_pop(struct park_list *list, uint32_t *ret_len);
static inline bool park_empty(const struct park_list *list)
{
    return list->head == NULL;
}

/* ------------------------------------------------------------ stdio (io.c) */

/* A process's stdout or stderr (or the pty master): read only while calls are parked. */
struct io_out {
    struct loop *loop;
    int fd; /* -1: none (stderr of a tty process) */
    struct loop_source *src;
    struct park_list reads;
    bool eof;     /* end reached and reported */
    bool drained; /* owner exited and the drain window passed: never wait for more */
    bool asked;   /* a client has read (or tried to read) this stream */
};

struct io_write;
struct io_in {
    struct loop *loop;
    int fd; /* -1 once closed */
    struct loop_source *src;
    struct io_write *head, *tail; /* queued WriteStdin data, in order */
    int error;                    /* errno of a failed write: later writes fail with it */
};

void io_out_init(struct io_out *o, struct loop *loop, int fd);
/* ReadStdout/ReadStderr: answers at once when data or EOF is there, else parks. */
void io_out_read(struct io_out *o, struct ttrpc_call *call, uint32_t len);
/* The process exited and had its drain window: answer parked reads with what is buffered
 * in the pipe, then EOF. */
void io_out_set_drained(struct io_out *o);
/* Answers parked reads with EOF and closes the fd. */
void io_out_close(struct io_out *o);
/* Closes the stream if no client ever asked for it (nor waits on it now). */
void io_out_abandon(struct io_out *o);

void io_in_init(struct io_in *in, struct loop *loop, int fd);
/* WriteStdin: empty data closes stdin once queued data is written. */
void io_in_write(struct io_in *in, struct ttrpc_call *call, const uint8_t *data, size_t len);
/* CloseStdin: closes once queued data is written; answers Empty. */
void io_in_close_call(struct io_in *in, struct ttrpc_call *call);
/* Fails queued writes and closes the fd. */
void io_in_close(struct io_in *in);

/* ------------------------------------------------------------ processes (process.c) */

struct container;

struct proc {
    struct proc *next;
    struct container *ctr;
    char *exec_id;
    pid_t pid;
    bool init;
    bool exited;
    bool waited; /* a WaitProcess got the status: the exec id is no longer waitable */
    int status;  /* exit code, or 128+signal */
    int pty;     /* pty master (owned by out) or -1 */
    struct io_out out, err;
    struct io_in in;
    struct park_list waiters;
    struct loop_timer *drain_timer;
    struct loop_timer *unread_timer; /* waited, streams left open: see proc_gc */
};

/* Takes the fds of r (not release_fd). */
struct proc *proc_new(struct container *c, const char *exec_id, const struct spawn_result *r,
                      bool init);
/* Unlinks p from its container and frees it; parked calls are answered (reads: EOF, waits:
 * the status, or an error if it never exited). */
void proc_free(struct proc *p);
void proc_wait(struct proc *p, struct ttrpc_call *call);
/* Frees a waited-for process once its output has been read to the end; true if freed. */
bool proc_gc(struct proc *p);
/* Called by the reaper. */
void proc_exited(struct proc *p, int wstatus);

/* ------------------------------------------------------------ containers (container.c) */

enum container_state { CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_STOPPED };

struct sandbox;
struct cgroup;

struct container {
    struct container *next;
    struct sandbox *sb;
    char *id;
    char *bundle; /* /run/kata-containers/<id> */
    char *rootfs; /* <bundle>/rootfs, where Root.Path is bound */
    bool rootfs_mounted;
    Grpc__Spec *spec; /* owned: taken from the CreateContainer request */
    void *view;       /* struct spec_view (container.c): the spec as the agent runs it */
    struct cgroup *cg;
    struct proc *procs;
    pid_t init_pid;
    int init_status; /* once stopped */
    int release_fd;  /* held init: the channel of spawn_release */
    enum container_state state;
    char **storages; /* mount points referenced by this container */
    size_t n_storages;
    struct oom_watch *oom; /* memory cgroup OOM watch, once started */
    /* RemoveContainer waiting for the processes to die */
    struct park_list removers;
    struct loop_timer *remove_timer;
};

struct container *container_find(struct sandbox *sb, const char *id);
void container_create(struct sandbox *sb, struct ttrpc_call *call);
void container_start(struct sandbox *sb, struct ttrpc_call *call);
void container_exec(struct sandbox *sb, struct ttrpc_call *call);
void container_remove(struct sandbox *sb, struct ttrpc_call *call);
/* Sends SIGKILL to every process of c (cgroup and known pids). */
void container_kill_all(struct container *c);
/* True when no process of c is left to reap. */
bool container_all_exited(const struct container *c);
/* Frees everything of c: processes, mounts, cgroup, bundle. */
void container_destroy(struct container *c);
/* Reaper hook: a process of c exited. */
void container_proc_exited(struct container *c, bool init, int status);

/* The spec's hooks with the guest hooks appended, NULL when neither has any; the arrays are
 * owned, the hooks stay the messages' (oci-hooks.c). */
Grpc__Hooks *oci_hooks_merge(const Grpc__Hooks *spec, const Grpc__Hooks *guest);
void oci_hooks_free(Grpc__Hooks *h);
/* Runs every hook of a poststart or poststop list: failures are logged, the others still run. */
void oci_hooks_run_logged(Grpc__Hook *const *hooks, size_t n, const char *kind, const char *cid,
                          const char *state);

/* Writes the spec as OCI JSON (config.json of the bundle). */
int spec_json_save(const Grpc__Spec *spec, const char *path, struct kerr **err);

/* ------------------------------------------------------------ sandbox (sandbox.c) */

struct storage_ref {
    struct storage_ref *next;
    char *mount_point;
    bool mounted; /* false for "local": only a directory */
    int refs;
};

struct sandbox {
    struct loop *loop;
    struct agent_config *config;
    struct container *containers;
    struct storage_ref *storages;
    struct uevents *uevents; /* NULL when the listener could not start */
    char *id;
    char *hostname;
    bool created;
    bool shared_ns;  /* /run/sandbox-ns/{ipc,uts} exist */
    pid_t pidns_pid; /* init of the first container: holds the sandbox pid namespace */
    struct ttrpc_call *destroying; /* DestroySandbox waiting for the containers to die */
    struct park_list oom_waiters;  /* GetOOMEvent calls */
    char **oom_queue;              /* container ids of OOM events nobody asked for yet */
    size_t n_oom_queue;
    void (*on_destroyed)(void *data);
    void *on_destroyed_data;
    struct command *commands; /* helper programs running (command.c): their pids are theirs */
    Grpc__Hooks *guest_hooks; /* guest_hook_path's, appended to every container's (or NULL) */
};

void sandbox_init(struct sandbox *sb, struct loop *loop, struct agent_config *config);
void sandbox_create(struct sandbox *sb, struct ttrpc_call *call);
void sandbox_destroy(struct sandbox *sb, struct ttrpc_call *call);
/* SIGTERM: kill and remove everything, synchronously (bounded). */
void sandbox_shutdown(struct sandbox *sb);
/* Reaps every exited child and dispatches exits to their processes. */
void sandbox_reap(struct sandbox *sb);
/* A container finished removing: lets a pending DestroySandbox go on. */
void sandbox_check_destroyed(struct sandbox *sb);
/* The process (cid, eid), eid "" meaning the init; otherwise answers the call with upstream's
 * error and returns NULL: its lookup error as a status (unknown container INVALID_ARGUMENT,
 * unknown exec or init NOT_FOUND, named as upstream's SandboxError variants), or, with
 * `internal` (WriteStdin, where upstream lets the error through as text), INTERNAL with the
 * error's text. `waitable` hides processes whose status was already collected. */
struct proc *sandbox_find_proc(struct sandbox *sb, const char *cid, const char *eid, bool waitable,
                               bool internal, struct ttrpc_call *call);

/* CreateSandbox's kernel_modules, loaded with /sbin/modprobe (modules.c). */
int modules_load(Grpc__KernelModule **mods, size_t n, struct kerr **err);
/* CreateSandbox's guest_hook_path: its prestart, poststart and poststop hooks, NULL when it
 * has none (guest-hooks.c). */
Grpc__Hooks *guest_hooks_scan(const char *dir);
void guest_hooks_free(Grpc__Hooks *h);

/* ------------------------------------------------------------ storages (storage.c) */

/* The storage drivers served (GetGuestDetails' storage_handlers), NULL-terminated. */
extern char *storage_drivers[];

/* Every driver known and every device the storages need present: 0; -EAGAIN with *need when a
 * device is still to come (the caller parks, hotplug_park); or an error. Mount points already
 * mounted are not looked at again. */
int sandbox_storages_ready(struct sandbox *sb, Grpc__Storage **st, size_t n,
                           struct blk_matcher *need, struct kerr **err);
/* Mounts storages (ref-counted by mount point); appends their mount points to *mps. cid: the
 * container's id (overlay-rw needs it), NULL for the sandbox's. */
int sandbox_add_storages(struct sandbox *sb, Grpc__Storage **st, size_t n, const char *cid,
                         char ***mps, size_t *n_mps, struct kerr **err);
void sandbox_put_storages(struct sandbox *sb, char **mps, size_t n);
/* Unmounts every storage whatever its references (DestroySandbox, shutdown). */
void sandbox_drop_storages(struct sandbox *sb);
void storage_update_ephemeral_mounts(struct ttrpc_call *call, void *sb);
/* fs_group of a mounted storage: the tree goes to the group (fsgroup.c). */
int storage_set_ownership(const Grpc__Storage *s, struct kerr **err);

/* ------------------------------------------------------------ hot-plugged devices (hotplug.c) */

/* The node (/dev/...) of a block device: 0; -EAGAIN with *need when it is not there yet;
 * or an error (bad address, unreadable sysfs). */
int hotplug_blk_pci(struct sandbox *sb, const char *pcipath, char *dev, size_t len,
                    struct blk_matcher *need, struct kerr **err);
int hotplug_blk_mmio(struct sandbox *sb, const char *path, char *dev, size_t len,
                     struct blk_matcher *need, struct kerr **err);
/* addr "<id>:<lun>"; asks the SCSI hosts to scan for it first (scsi_mod.scan=none). */
int hotplug_scsi(struct sandbox *sb, const char *addr, char *dev, size_t len,
                 struct blk_matcher *need, struct kerr **err);
int hotplug_pmem(struct sandbox *sb, const char *path, char *dev, size_t len,
                 struct blk_matcher *need, struct kerr **err);
typedef void (*hotplug_retry_fn)(struct sandbox *sb, struct ttrpc_call *call);
/* Parks call until the device of need appears, then runs retry(sb, call) again; after
 * agent.hotplug_timeout the call fails (INTERNAL "Timeout after Ns waiting for uevent ..."). */
void hotplug_park(struct sandbox *sb, struct ttrpc_call *call, const struct blk_matcher *need,
                  hotplug_retry_fn retry);
/* After a check that may need a device: r == 0 → true (go on); -EAGAIN → the call is parked
 * (hotplug_park); another error → the call is answered with err. */
bool hotplug_check(struct sandbox *sb, struct ttrpc_call *call, int r,
                   const struct blk_matcher *need, const struct kerr *err, hotplug_retry_fn retry);

/* ------------------------------------------------------------ OCI devices (device.c) */

int container_devices_ready(struct sandbox *sb, Grpc__Device **devs, size_t n,
                            struct blk_matcher *need, struct kerr **err);
/* Rewrites spec (linux.devices, device cgroup rules) for devices found ready. */
int container_devices_apply(struct sandbox *sb, Grpc__Device **devs, size_t n, Grpc__Spec *spec,
                            struct kerr **err);

/* ------------------------------------------------------------ swap (swap.c) */

void swap_add(struct sandbox *sb, struct ttrpc_call *call);
void swap_add_path(struct ttrpc_call *call, void *sb);

/* ------------------------------------------------------------ kata-init (initsync.c) */

/* The handshake of common/initsync.h. NULL when the agent was not given one (not started by
 * kata-init, or by one that finishes the setup first). */
struct init_sync;
typedef void (*init_sync_done_fn)(void *data);
struct init_sync *init_sync_from_env(struct loop *loop);
/* Tells init the agent is serving; on_done runs (once, from the loop) when init has finished
 * the guest setup, or after a timeout that only a broken init reaches. */
void init_sync_ready(struct init_sync *s, init_sync_done_fn on_done, void *data);
void init_sync_free(struct init_sync *s);

/* ------------------------------------------------------------ OOM events (oom.c) */

struct oom_watch;
int oom_watch(struct container *c, struct oom_watch **ret, struct kerr **err);
void oom_unwatch(struct oom_watch *w);
void oom_notify(struct sandbox *sb, const char *container_id);
/* GetOOMEvent: a queued event at once, else parks. */
void oom_get_event(struct sandbox *sb, struct ttrpc_call *call);
/* DestroySandbox/shutdown: parked calls get an error, the queue is dropped. */
void oom_cancel_waiters(struct sandbox *sb);

/* ------------------------------------------------------------ guest.c (ttRPC handlers) */

void guest_get_details(struct ttrpc_call *call, void *sb);
void guest_reseed_random(struct ttrpc_call *call, void *sb);
void guest_set_date_time(struct ttrpc_call *call, void *sb);
void guest_remove_stale_virtiofs_mounts(struct ttrpc_call *call, void *sb);

/* ------------------------------------------------------------ cpumem.c (ttRPC handlers) */

void cpumem_online(struct ttrpc_call *call, void *sb);
void cpumem_hotplug_by_probe(struct ttrpc_call *call, void *sb);

/* ------------------------------------------------------------ volume.c, diagnostic.c */

void volume_stats(struct ttrpc_call *call, void *sb);
void volume_resize(struct ttrpc_call *call, void *sb);
void diagnostic_get(struct ttrpc_call *call, void *sb);

/* ------------------------------------------------------------ helper programs (command.c) */

struct command;
struct command_result {
    bool exited; /* wstatus is valid */
    int wstatus;
    bool stdin_timed_out;  /* stdin was not taken within its deadline: killed */
    bool timed_out;        /* the whole run passed its deadline: killed */
    const char *out, *err; /* NUL-terminated; valid during the callback only */
    size_t out_len, err_len;
};
typedef void (*command_done_fn)(struct command *c, const struct command_result *res, void *data);
/* Runs argv (argv[0] an absolute path) with `in` on its stdin (not copied: it must outlive the
 * command; in_len 0 gives an empty stdin), collecting stdout and stderr. `done` runs from the
 * loop once the program has exited and closed both, or when a deadline passed (the program
 * is then killed); the command is freed after it. Fails (nothing started) when the program
 * cannot be executed. */
int command_start(struct sandbox *sb, char *const argv[], const uint8_t *in, size_t in_len,
                  int64_t stdin_timeout_ns, int64_t timeout_ns, command_done_fn done, void *data,
                  struct command **ret, struct kerr **err);
/* Kills the program and frees the command; `done` does not run. */
void command_cancel(struct command *c);
/* The reaper: true when pid was a command's (its status is recorded). */
bool command_reaped(struct sandbox *sb, pid_t pid, int wstatus);

/* ------------------------------------------------------------ file, metrics and iptables RPCs */

/* CopyFile (copyfile.c): writes below AGENT_SHARE_DIR only, resolved inside it. */
void copyfile_handle(struct ttrpc_call *call, void *sb);
/* GetMetrics (metrics.c): Prometheus text exposition of upstream's kata_agent_* and
 * kata_guest_* families. */
void metrics_get(struct ttrpc_call *call, void *sb);
/* GetIPTables / SetIPTables (iptables.c): run the guest's iptables-save/-restore from the loop. */
void iptables_get(struct ttrpc_call *call, void *sb);
void iptables_set(struct ttrpc_call *call, void *sb);

/* ------------------------------------------------------------ rpc.c */

void rpc_register(struct ttrpc_server *srv, struct sandbox *sb);

/* ------------------------------------------------------------ host channels (vport.c) */

/* Whether the guest has a vsock transport (true when it cannot tell). */
bool vsock_has_transport(void);
/* A non-blocking vsock listener on (cid, port). */
int vsock_listen(unsigned cid, unsigned port, int backlog, struct kerr **err);
/* /dev/vportNpM of the virtio-serial port called `name` (malloc'd), or NULL. */
char *vport_find(const char *name);
/* Opens a virtio-serial port (or a stand-in tty) non-blocking, raw. */
int vport_open(const char *path, struct kerr **err);
/* Whether the host side of a port is connected: a port without its host reports POLLHUP (it
 * cannot sit in epoll then, it would spin: owners poll it on a timer). */
bool vport_host_connected(int fd);

/* ------------------------------------------------------------ debug-console.c */

struct debug_console;
/* Starts what agent.debug_console asks for (nothing without it; *ret may stay NULL). */
int debug_console_start(struct loop *loop, const struct agent_config *c, struct debug_console **ret,
                        struct kerr **err);
/* Kills the shells and closes everything; NULL is ignored. */
void debug_console_stop(struct debug_console *dc);

/* ------------------------------------------------------------ log-vport.c */

struct log_vport;
/* agent.log_vport: from now on log lines go to the host's connection on vsock `port` (none
 * for port <= 0). An error leaves the lines where they were. */
int log_vport_start(struct loop *loop, int port, struct log_vport **ret, struct kerr **err);
/* Back to the log fd; what the host never took is written there. NULL is ignored. */
void log_vport_stop(struct log_vport *lv);

/* ------------------------------------------------------------ transport.c */

struct transport;
/* Listens on addr (vsock://CID:PORT, unix:///path, unix://@name, serial://NAME-or-/path) and,
 * unless addr is a serial one, also serves the virtio-serial port agent.channel.0 when it
 * exists. Fails only when no channel at all could be set up. */
int transport_start(struct ttrpc_server *srv, struct loop *loop, const char *addr,
                    struct transport **ret, struct kerr **err);
void transport_stop(struct transport *t);
