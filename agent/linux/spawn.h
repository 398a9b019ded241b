/* Container processes cloned directly from the agent (no helper binary is re-executed).
 *
 * spawn_process() creates the container init (new namespaces per the spec, rootfs, mounts,
 * devices, cgroup) or an exec'd process (joins the namespaces of a running init), prepares it
 * completely (user, capabilities, rlimits, cwd, the command resolved in the container's root,
 * the spec's seccomp filter: compiled here, loaded by the child last before execve with
 * no_new_privs, before the capabilities are dropped without) and returns once it is ready. Every
 * setup failure, including a missing or non-executable command, is reported here as an error whose
 * message comes from the child.
 *
 * The caller must be the thread that reaps children: a child that failed setup is reaped by
 * spawn_process() itself; a successful one is left to the caller's reaper. The process is a
 * direct child of the caller, so no subreaper is needed for it.
 *
 * The agent's own state (cwd, root, namespaces, umask, signal mask) is unchanged afterwards.
 *
 * The child is cloned with the raw clone system call (fork semantics plus namespace flags)
 * and then allocates memory, so the caller must not have other threads that could hold the
 * allocator's lock at that moment (the agent is single-threaded). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "oci.pb-c.h"

struct cgroup;
struct hook_state;

struct spawn_config {
    const Grpc__Spec *spec;       /* container spec; root.path already final (absolute) */
    const Grpc__Process *process; /* spec->process for the init; the exec's Process otherwise.
                                     An exec Process without capabilities inherits the
                                     spec's. */
    const char *container_id;
    bool exec;             /* false: container init; true: join the namespaces of init_pid */
    pid_t init_pid;        /* exec only */
    struct cgroup *cgroup; /* NULL or the container cgroup: the process is entered into it
                              before it runs any of its own setup */
    bool hold;             /* stop right before execve until spawn_release() (CreateContainer) */
    int pipe_size; /* > 0: F_SETPIPE_SZ for the stdout/stderr pipes (agent.container_pipe_size) */
    /* init only, NULL for none: spec->hooks' prestart and createRuntime hooks run in the
     * caller before pivot_root, createContainer ones in the child then, startContainer ones in
     * the child at release; a failure fails the spawn or the release */
    const struct hook_state *hook_state;
};

struct spawn_result {
    pid_t pid;      /* the container process, a child of the caller */
    int stdin_fd;   /* write end of the stdin pipe; -1 with a terminal */
    int stdout_fd;  /* read end of the stdout pipe; with a terminal: the pty master
                       (read = output, write = input) */
    int stderr_fd;  /* read end of the stderr pipe; -1 with a terminal */
    int pty_master; /* -1 without terminal; otherwise the same fd as stdout_fd (close once) */
    int release_fd; /* hold only: the channel spawn_release() uses; -1 otherwise */
};

/* Fills *ret only on success. All returned fds are O_CLOEXEC and blocking. */
int spawn_process(const struct spawn_config *cfg, struct spawn_result *ret, struct kerr **err);

/* Lets a held process execve and waits until it has. Returns an error carrying the child's
 * message if execve failed (the child then exits 127 and is reaped by the caller's reaper).
 * Closes and resets r->release_fd in every case. */
int spawn_release(struct spawn_result *r, struct kerr **err);

/* Closes every fd of *r that is not -1 (the pty master once). Does not touch the process. */
void spawn_result_close(struct spawn_result *r);

/* Sets the terminal size of a pty master (TtyWinResize). */
int spawn_resize_pty(int pty_master, unsigned rows, unsigned cols, struct kerr **err);
