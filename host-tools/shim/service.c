/* containerd.task.v2.Task over ttRPC. The server runs on one loop thread; each call is copied
 * and handed to a worker thread of its own (a call may wait for minutes: Wait, or a VM boot),
 * whose answer comes back to the loop through a pipe, since only the loop thread may reply. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "loop.h"
#include "shim.h"
#include "ttrpc.h"
#include "version.h"
#include "xalloc.h"

/* musl's stdio.h makes stdin/stdout/stderr macros; the task API has fields of those names and
 * this file never uses the streams. */
#undef stdin
#undef stdout
#undef stderr

struct job;
typedef ProtobufCMessage *(*job_fn)(struct shim *s, const ProtobufCMessage *req,
                                    struct kerr **err);

struct job {
    struct ttrpc_call *call; /* NULL once the call ended without us (loop thread only) */
    struct shim *shim;
    job_fn fn;
    ProtobufCMessage *req; /* our own copy: the call's request dies with the call */
    ProtobufCMessage *resp;
    struct kerr *err;
};

struct service {
    struct shim *shim;
    struct loop *loop;
    struct ttrpc_server *server;
    int done_pipe[2];
    bool quit_after_reply;
};

static struct service service;

/* ------------------------------------------------------------------ job plumbing */

static void job_cancelled(struct ttrpc_call *call, void *data)
{
    struct job *j = data;
    j->call = NULL;
}

static void *job_thread(void *arg)
{
    struct job *j = arg;
    j->resp = j->fn(j->shim, j->req, &j->err);
    if (!j->resp && !j->err)
        make_status(&j->err, RPC_INTERNAL, EIO, "no answer");
    /* An empty reply is the Empty message; the handlers return this marker for it. */
    ssize_t w;
    do
        w = write(service.done_pipe[1], &j, sizeof(j));
    while (w < 0 && errno == EINTR);
    return NULL;
}

static ProtobufCMessage empty_marker;

static void job_free(struct job *j)
{
    if (j->resp && j->resp != &empty_marker)
        protobuf_c_message_free_unpacked(j->resp, NULL);
    if (j->req)
        protobuf_c_message_free_unpacked(j->req, NULL);
    error_free(j->err);
    free(j);
}

static void on_job_done(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct job *j;
    while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
        if (j->call) {
            if (j->err)
                ttrpc_reply_kerr(j->call, j->err);
            else
                ttrpc_reply(j->call, j->resp == &empty_marker ? NULL : j->resp);
        }
        job_free(j);
    }
    if (service.quit_after_reply)
        loop_quit(service.loop);
}

static ProtobufCMessage *copy_message(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    cleanup_free uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    return protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
}

static void dispatch(struct ttrpc_call *call, job_fn fn)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->call = call;
    j->shim = service.shim;
    j->fn = fn;
    j->req = copy_message(call->request);
    if (!j->req) {
        ttrpc_reply_error(call, RPC_INTERNAL, "copy the request");
        free(j);
        return;
    }
    call->on_cancel = job_cancelled;
    call->cancel_data = j;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int r = pthread_create(&t, &attr, job_thread, j);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        call->on_cancel = NULL;
        ttrpc_reply_error(call, RPC_RESOURCE_EXHAUSTED, "no thread for the call");
        job_free(j);
    }
}

/* ------------------------------------------------------------------ the methods */

#define REQ(type, name) const type *name = (const type *)m

static ProtobufCMessage *do_create(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__CreateTaskRequest, req);
    uint32_t pid = 0;
    if (task_create(s, req, &pid, err) < 0)
        return NULL;
    Containerd__Task__V2__CreateTaskResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__create_task_response__init(resp);
    resp->pid = pid;
    return &resp->base;
}

static ProtobufCMessage *do_start(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__StartRequest, req);
    uint32_t pid = 0;
    if (task_start(s, req->id, req->exec_id, &pid, err) < 0)
        return NULL;
    Containerd__Task__V2__StartResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__start_response__init(resp);
    resp->pid = pid;
    return &resp->base;
}

static ProtobufCMessage *do_delete(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__DeleteRequest, req);
    Containerd__Task__V2__DeleteResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__delete_response__init(resp);
    if (task_delete(s, req->id, req->exec_id, resp, err) < 0) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return NULL;
    }
    return &resp->base;
}

static ProtobufCMessage *do_exec(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__ExecProcessRequest, req);
    return task_exec(s, req, err) < 0 ? NULL : &empty_marker;
}

static ProtobufCMessage *do_state(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__StateRequest, req);
    Containerd__Task__V2__StateResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__state_response__init(resp);
    if (task_state(s, req->id, req->exec_id, resp, err) < 0) {
        free(resp);
        return NULL;
    }
    return &resp->base;
}

static ProtobufCMessage *do_pids(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__PidsRequest, req);
    Containerd__Task__V2__StateResponse *st = xmalloc(sizeof(*st));
    containerd__task__v2__state_response__init(st);
    if (task_state(s, req->id, "", st, err) < 0) {
        free(st);
        return NULL;
    }
    /* The container's processes live in the guest; as Kata's shim, the host pid that stands
     * for them all is the VMM's. */
    Containerd__Task__V2__PidsResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__pids_response__init(resp);
    resp->n_processes = 1;
    resp->processes = xmalloc(sizeof(*resp->processes));
    resp->processes[0] = xmalloc(sizeof(**resp->processes));
    containerd__v1__types__process_info__init(resp->processes[0]);
    resp->processes[0]->pid = st->pid;
    protobuf_c_message_free_unpacked(&st->base, NULL);
    return &resp->base;
}

static ProtobufCMessage *do_pause(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__PauseRequest, req);
    return task_pause(s, req->id, true, err) < 0 ? NULL : &empty_marker;
}

static ProtobufCMessage *do_resume(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__ResumeRequest, req);
    return task_pause(s, req->id, false, err) < 0 ? NULL : &empty_marker;
}

static ProtobufCMessage *do_kill(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__KillRequest, req);
    return task_kill(s, req->id, req->exec_id, req->signal, req->all, err) < 0 ? NULL
                                                                             : &empty_marker;
}

static ProtobufCMessage *do_resize(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__ResizePtyRequest, req);
    return task_resize(s, req->id, req->exec_id, req->width, req->height, err) < 0
               ? NULL
               : &empty_marker;
}

static ProtobufCMessage *do_close_io(struct shim *s, const ProtobufCMessage *m,
                                     struct kerr **err)
{
    REQ(Containerd__Task__V2__CloseIORequest, req);
    if (!req->stdin)
        return &empty_marker;
    return task_close_io(s, req->id, req->exec_id, err) < 0 ? NULL : &empty_marker;
}

static ProtobufCMessage *do_update(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__UpdateTaskRequest, req);
    return task_update(s, req, err) < 0 ? NULL : &empty_marker;
}

static ProtobufCMessage *do_wait(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__WaitRequest, req);
    uint32_t status = 0;
    struct timespec at = {0};
    if (task_wait(s, req->id, req->exec_id, &status, &at, err) < 0)
        return NULL;
    Containerd__Task__V2__WaitResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__wait_response__init(resp);
    resp->exit_status = status;
    resp->exited_at = xmalloc(sizeof(*resp->exited_at));
    google__protobuf__timestamp__init(resp->exited_at);
    resp->exited_at->seconds = at.tv_sec;
    resp->exited_at->nanos = (int32_t)at.tv_nsec;
    return &resp->base;
}

static ProtobufCMessage *do_stats(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    REQ(Containerd__Task__V2__StatsRequest, req);
    Google__Protobuf__Any *any = xmalloc(sizeof(*any));
    google__protobuf__any__init(any);
    if (task_stats(s, req->id, any, err) < 0) {
        free(any);
        return NULL;
    }
    Containerd__Task__V2__StatsResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__stats_response__init(resp);
    resp->stats = any;
    return &resp->base;
}

static ProtobufCMessage *do_connect(struct shim *s, const ProtobufCMessage *m, struct kerr **err)
{
    Containerd__Task__V2__ConnectResponse *resp = xmalloc(sizeof(*resp));
    containerd__task__v2__connect_response__init(resp);
    resp->shim_pid = (uint32_t)getpid();
    pthread_mutex_lock(&s->lock);
    resp->task_pid = task_vmm_pid(s);
    pthread_mutex_unlock(&s->lock);
    resp->version = xstrdup(KATA_VERSION);
    return &resp->base;
}

static ProtobufCMessage *do_checkpoint(struct shim *s, const ProtobufCMessage *m,
                                       struct kerr **err)
{
    make_status(err, RPC_UNIMPLEMENTED, ENOTSUP,
                "checkpoint: not supported by kata-guest (the container runs in a VM)");
    return NULL;
}

/* Shutdown ends the shim once no container is left (containerd calls it after each Delete;
 * `now` forces it, as containerd does for a shim it gives up on). */
static void handle_shutdown(struct ttrpc_call *call, void *data)
{
    const Containerd__Task__V2__ShutdownRequest *req = (const void *)call->request;
    if (req->now || task_none_left(service.shim))
        service.quit_after_reply = true;
    ttrpc_reply(call, NULL);
    if (service.quit_after_reply)
        loop_quit(service.loop);
}

#define HANDLER(name, fn)                                                                      \
    static void name(struct ttrpc_call *call, void *data)                                      \
    {                                                                                          \
        dispatch(call, fn);                                                                    \
    }
HANDLER(handle_state, do_state)
HANDLER(handle_create, do_create)
HANDLER(handle_start, do_start)
HANDLER(handle_delete, do_delete)
HANDLER(handle_pids, do_pids)
HANDLER(handle_pause, do_pause)
HANDLER(handle_resume, do_resume)
HANDLER(handle_checkpoint, do_checkpoint)
HANDLER(handle_kill, do_kill)
HANDLER(handle_exec, do_exec)
HANDLER(handle_resize, do_resize)
HANDLER(handle_close_io, do_close_io)
HANDLER(handle_update, do_update)
HANDLER(handle_wait, do_wait)
HANDLER(handle_stats, do_stats)
HANDLER(handle_connect, do_connect)

static ttrpc_method_fn handler_for(const char *method)
{
    static const struct {
        const char *name;
        ttrpc_method_fn fn;
    } table[] = {
        {"State", handle_state},   {"Create", handle_create},       {"Start", handle_start},
        {"Delete", handle_delete}, {"Pids", handle_pids},           {"Pause", handle_pause},
        {"Resume", handle_resume}, {"Checkpoint", handle_checkpoint}, {"Kill", handle_kill},
        {"Exec", handle_exec},     {"ResizePty", handle_resize},    {"CloseIO", handle_close_io},
        {"Update", handle_update}, {"Wait", handle_wait},           {"Stats", handle_stats},
        {"Connect", handle_connect}, {"Shutdown", handle_shutdown},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
        if (strcmp(table[i].name, method) == 0)
            return table[i].fn;
    return NULL;
}

/* ------------------------------------------------------------------ serving */

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (!ttrpc_server_add_conn(service.server, c, 0, NULL, NULL))
        close(c);
}

static void on_signal_pipe(struct loop_source *src, int fd, uint32_t events, void *data)
{
    char buf[16];
    if (read(fd, buf, sizeof(buf)) > 0)
        loop_quit(service.loop);
}

static int signal_pipe_w = -1;
static void on_term(int sig)
{
    ssize_t w = write(signal_pipe_w, "t", 1);
    (void)w;
}

int shim_serve(struct shim *s, int listen_fd, struct kerr **err)
{
    service.shim = s;
    service.loop = loop_new();
    if (!service.loop)
        return make_error(err, ENOMEM, "event loop");
    if (pipe2(service.done_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return make_error(err, errno, "pipe");
    /* Job threads must never block on a full pipe: the loop drains it, and a blocking write
     * end keeps a reply from being lost. */
    fcntl(service.done_pipe[1], F_SETFL, 0);
    int sig_pipe[2];
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return make_error(err, errno, "pipe");
    signal_pipe_w = sig_pipe[1];
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    service.server = ttrpc_server_new(service.loop);
    const ProtobufCServiceDescriptor *d = &containerd__task__v2__task__descriptor;
    ttrpc_method_fn *handlers = xcalloc(d->n_methods, sizeof(*handlers));
    for (unsigned i = 0; i < d->n_methods; i++)
        handlers[i] = handler_for(d->methods[i].name);
    ttrpc_server_register(service.server, d, handlers, NULL);
    free(handlers);
    loop_add_fd(service.loop, service.done_pipe[0], EPOLLIN, on_job_done, NULL);
    loop_add_fd(service.loop, sig_pipe[0], EPOLLIN, on_signal_pipe, NULL);
    loop_add_fd(service.loop, listen_fd, EPOLLIN, on_accept, NULL);
    loop_run(service.loop);
    ttrpc_server_drain(service.server, 1000);
    /* Whatever is still there (a signal, Shutdown with now) goes now, VM included. */
    task_shutdown(s);
    return 0;
}
