/* A container process's stdio between containerd's FIFOs and the agent's stream calls:
 * ReadStdout/ReadStderr into the stdout/stderr FIFOs until the agent reports EOF, the stdin
 * FIFO into WriteStdin until its writer closes it (or containerd's CloseIO), then CloseStdin.
 * An output FIFO nobody reads fills and then holds the process back, as with runc; once the
 * process has exited such output is dropped after a grace, so its exit is always reported. */
#pragma once
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "error.h"
#include "ttrpc.h"

struct fifo_io {
    struct ttrpc_client *client;
    char *cid, *eid;
    const char *stdin_path, *stdout_path, *stderr_path; /* "" or NULL: not attached */
    bool terminal;                                      /* one output stream: stdout */
    /* private */
    pthread_t out_thread, err_thread, in_thread;
    bool out_started, err_started, in_started;
    int stop_pipe[2];           /* wakes the stdin thread */
    atomic_bool close_requested; /* CloseIO: forward what is buffered, then CloseStdin */
    atomic_bool stdin_closed;    /* CloseStdin sent (once) */
    atomic_bool exited;          /* the process exited: output stuck in a FIFO may be dropped */
};

/* Starts the threads (output threads always: they drain even without a FIFO). */
int fifo_io_start(struct fifo_io *io, struct ttrpc_client *client, const char *cid,
                  const char *eid, struct kerr **err);
/* The process has exited (WaitProcess answered): output nobody reads is not waited for long. */
void fifo_io_process_exited(struct fifo_io *io);
/* Blocks until stdout and stderr reached EOF (or the agent connection failed). */
void fifo_io_wait_output(struct fifo_io *io);
/* CloseIO(stdin): sends what the FIFO still holds, then CloseStdin. */
void fifo_io_close_stdin(struct fifo_io *io);
/* After the process exited: stops the stdin thread and frees what start allocated. */
void fifo_io_finish(struct fifo_io *io);
