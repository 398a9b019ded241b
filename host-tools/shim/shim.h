/* containerd-shim-kata-guest-v2: one shim process per sandbox (pod). It owns the sandbox's VM
 * (through the host library's struct sandbox) and serves containerd's task API for every
 * container of the pod, translating each call into the agent's API as Kata's Go shim does.
 *
 * Threads: the ttRPC server runs on one loop thread; every task call runs on a worker thread
 * of its own (dispatch.c), so a call that waits (Wait, a VM boot) never stalls the others.
 * Each started process has a waiter thread (relaying its FIFOs, then WaitProcess). All shim
 * state below is guarded by shim.lock; `changed` is broadcast whenever a process's state does. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "agent.pb-c.h"
#include "containerd/shim.pb-c.h"
#include "error.h"
#include "events.h"
#include "fifo-io.h"
#include "shim-config.h"
#include "options.h"
#include "sandbox.h"

/* CRI's annotations that group containers into pods (as Kata's shim reads them). */
#define CRI_CONTAINER_TYPE "io.kubernetes.cri.container-type"
#define CRI_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define SHIM_RUN_DIR_DEFAULT "/run/kata-guest-shim"
/* Where the guest sees the shared directory (the agent's kataShared storage). */
#define GUEST_SHARED_DIR "/run/kata-containers/shared/containers"

enum proc_status { PROC_CREATED, PROC_RUNNING, PROC_STOPPED };

struct shim_container;
struct vm_owner;

struct shim_process {
    struct shim_container *ctr;
    char *exec_id; /* "" for the container's init process */
    char *stdin_path, *stdout_path, *stderr_path;
    bool terminal;
    Grpc__Process *exec_spec; /* an exec's process, until Start sends it */
    enum proc_status status;
    uint32_t exit_status;
    struct timespec exited_at;
    struct fifo_io io;
    pthread_t waiter;
    bool waiter_started;
    struct shim_process *next; /* the container's execs */
};

struct shim_container {
    char *id;
    char *bundle;
    bool paused;
    char *rootfs_target;   /* bundle/rootfs while we mounted the snapshot there */
    char *shared_rootfs;   /* <share>/<id>/rootfs while bind-mounted */
    char **shared_volumes; /* <share>/<id>-<n>-<name> bind mounts, NULL-terminated */
    struct shim_process init;
    struct shim_process *execs;
    struct shim_container *next;
};

struct shim {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    const char *ns, *id, *bundle, *containerd_address, *publish_binary;
    char *run_dir; /* <base>/<hash of ns and sandbox id>: shim.sock, the VM's sockets, shared/ */
    char *sandbox_id;
    struct run_opts opts;
    struct sandbox sb;
    struct vm_owner *vm_owner; /* task.c: the thread the VM's processes belong to */
    pthread_t vm_owner_thread;
    bool booted;
    bool vm_lost;
    bool tearing_down;
    unsigned vm_generation;
    struct shim_container *containers;
    struct shim_events *events;
    pthread_t oom_thread;
    bool oom_started;
    bool shutting_down;
};

/* ---- paths.c: where a sandbox's shim lives */
const char *shim_run_base(void);
/* <base>/<16 hex digits>: short, so the sockets inside stay under sun_path's limit. */
char *shim_run_dir_for(const char *ns, const char *sandbox_id);
char *shim_socket_path(const char *run_dir);

/* ---- task.c: the task API on the shim's state; each returns 0 or a negative errno with an
 * error whose status is what containerd gets. Called on worker threads, without the lock. */
int task_create(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                uint32_t *ret_pid, struct kerr **err);
int task_start(struct shim *s, const char *id, const char *exec_id, uint32_t *ret_pid,
               struct kerr **err);
int task_exec(struct shim *s, const Containerd__Task__V2__ExecProcessRequest *req,
              struct kerr **err);
int task_kill(struct shim *s, const char *id, const char *exec_id, uint32_t sig, bool all,
              struct kerr **err);
int task_wait(struct shim *s, const char *id, const char *exec_id, uint32_t *ret_status,
              struct timespec *ret_exited_at, struct kerr **err);
int task_delete(struct shim *s, const char *id, const char *exec_id,
                Containerd__Task__V2__DeleteResponse *ret, struct kerr **err);
int task_state(struct shim *s, const char *id, const char *exec_id,
               Containerd__Task__V2__StateResponse *ret, struct kerr **err);
int task_pause(struct shim *s, const char *id, bool pause, struct kerr **err);
int task_resize(struct shim *s, const char *id, const char *exec_id, uint32_t width,
                uint32_t height, struct kerr **err);
int task_close_io(struct shim *s, const char *id, const char *exec_id, struct kerr **err);
int task_update(struct shim *s, const Containerd__Task__V2__UpdateTaskRequest *req,
                struct kerr **err);
/* ret->type_url / ret->value malloc'd. */
int task_stats(struct shim *s, const char *id, Google__Protobuf__Any *ret, struct kerr **err);
/* The pid containerd sees for every task of the sandbox: the VMM's, as Kata's shim reports. */
uint32_t task_vmm_pid(struct shim *s);
/* True when no container is left (Shutdown may end the shim). */
bool task_none_left(struct shim *s);
/* Stops everything still running and tears the sandbox down (the shim is exiting). */
void task_shutdown(struct shim *s);

/* ---- rootfs.c: the container's root and bind volumes on the host, shared into the guest */
int rootfs_mount(const Containerd__Types__Mount *const *mounts, size_t n, const char *target,
                 struct kerr **err);
/* Binds src onto dst (created: a directory, or an empty file for a file source). */
int rootfs_share(const char *src, const char *dst, bool read_only, struct kerr **err);
void rootfs_unshare(const char *path);

/* ---- service.c / dispatch.c */
int shim_serve(struct shim *s, int listen_fd, struct kerr **err);
