/* Relays a container process's stdio over the agent API: stdout/stderr reader threads
 * (ReadStdout/ReadStderr until empty data = EOF), a stdin thread (WriteStdin, CloseStdin at
 * EOF), and signal forwarding (SignalProcess; SIGWINCH -> TtyWinResize). */
#pragma once
#include <pthread.h>
#include <stdbool.h>

#include "error.h"
#include "ttrpc.h"

struct stdio_relay {
    struct ttrpc_client *client;
    const char *cid, *eid;
    bool tty, interactive;
    int in_fd, out_fd, err_fd; /* host side */
    /* No stdin to relay: CloseStdin once the readers are waiting, so its round trip overlaps
     * theirs instead of preceding them. */
    bool close_stdin;
    /* private */
    pthread_t out_thread, err_thread, in_thread;
    bool out_started, err_started, in_started;
    int stop_pipe[2];
    int out_error; /* first transport error of a reader, 0 if none */
    pthread_mutex_t lock;
};

/* Starts the threads; the terminal (if tty and in_fd is a tty) goes raw. */
int stdio_relay_start(struct stdio_relay *r);
/* Blocks until stdout and stderr reached EOF (or the connection failed: returns that error). */
int stdio_relay_wait_output(struct stdio_relay *r);
/* Stops the stdin thread and restores the terminal. */
void stdio_relay_finish(struct stdio_relay *r);
/* Signal handler for signals_set_handler() forwarding to the relay's process. */
void stdio_relay_forward_signal(int sig, void *data);

/* Starts the relay, forwards signals to the process while it runs, waits for stdout/stderr
 * EOF, then WaitProcess. Returns 0 with the exit status, or the transport error. */
int stdio_run_to_exit(struct stdio_relay *r, int *ret_status, struct kerr **err);
