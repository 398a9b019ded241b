/* The method tables of grpc.AgentService and grpc.Health: request validation and routing to
 * the sandbox, container, process and io modules. Methods without a handler here are
 * answered UNIMPLEMENTED (naming the method) by the ttRPC server. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "health.pb-c.h"
#include "linux/cgroup.h"
#include "log.h"
#include "network.h"
#include "xalloc.h"

#define REQ(type, call) ((type *)(call)->request)

static void health_check(struct ttrpc_call *call, void *data)
{
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_reply(call, &resp.base);
}

static void health_version(struct ttrpc_call *call, void *data)
{
    Grpc__VersionCheckResponse resp = GRPC__VERSION_CHECK_RESPONSE__INIT;
    resp.grpc_version = AGENT_API_VERSION;
    resp.agent_version = AGENT_VERSION;
    ttrpc_reply(call, &resp.base);
}

static void create_sandbox(struct ttrpc_call *call, void *sb)
{
    sandbox_create(sb, call);
}

static void destroy_sandbox(struct ttrpc_call *call, void *sb)
{
    sandbox_destroy(sb, call);
}

static void create_container(struct ttrpc_call *call, void *sb)
{
    container_create(sb, call);
}

static void add_swap(struct ttrpc_call *call, void *sb)
{
    swap_add(sb, call);
}

static void start_container(struct ttrpc_call *call, void *sb)
{
    container_start(sb, call);
}

static void remove_container(struct ttrpc_call *call, void *sb)
{
    container_remove(sb, call);
}

static void exec_process(struct ttrpc_call *call, void *sb)
{
    container_exec(sb, call);
}

static void wait_process(struct ttrpc_call *call, void *sb)
{
    Grpc__WaitProcessRequest *req = REQ(Grpc__WaitProcessRequest, call);
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, true, false, call);
    if (p)
        proc_wait(p, call);
}

/* Whether the process catches sig (SigCgt in /proc/PID/status). */
static bool catches_signal(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool caught = false;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "SigCgt:", 7) == 0) {
            unsigned long long mask = strtoull(line + 7, NULL, 16);
            caught = (mask >> (sig - 1)) & 1;
            break;
        }
    fclose(f);
    return caught;
}

static void signal_process(struct ttrpc_call *call, void *sb)
{
    Grpc__SignalProcessRequest *req = REQ(Grpc__SignalProcessRequest, call);
    int sig = (int)req->signal;
    if (sig <= 0 || sig >= NSIG) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "invalid signal %u", req->signal);
        return;
    }
    if (!req->exec_id[0] && sig == SIGKILL) {
        /* the runtime's "kill all": every process of the container, via its cgroup */
        struct container *c = container_find(sb, req->container_id);
        if (!c) {
            ttrpc_reply_error(call, RPC_INTERNAL, AGENT_ERR_NO_CONTAINER " %s", req->container_id);
            return;
        }
        container_kill_all(c);
        ttrpc_reply(call, NULL);
        return;
    }
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, false, false, call);
    if (!p)
        return;
    /* An init without a SIGTERM handler would ignore SIGTERM (pid 1 of its namespace). */
    if (p->init && sig == SIGTERM && !p->exited && !catches_signal(p->pid, SIGTERM))
        sig = SIGKILL;
    if (!p->exited && kill(p->pid, sig) < 0 && errno != ESRCH) {
        ttrpc_reply_error(call, RPC_INTERNAL, "signal %d to pid %d: %s", sig, (int)p->pid,
                          strerror(errno));
        return;
    }
    ttrpc_reply(call, NULL);
}

static void read_stream(struct ttrpc_call *call, struct sandbox *sb, bool err_stream)
{
    Grpc__ReadStreamRequest *req = REQ(Grpc__ReadStreamRequest, call);
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, false, false, call);
    if (!p)
        return;
    io_out_read(err_stream ? &p->err : &p->out, call, req->len);
    proc_gc(p);
}

static void read_stdout(struct ttrpc_call *call, void *sb)
{
    read_stream(call, sb, false);
}

static void read_stderr(struct ttrpc_call *call, void *sb)
{
    read_stream(call, sb, true);
}

static void write_stdin(struct ttrpc_call *call, void *sb)
{
    Grpc__WriteStreamRequest *req = REQ(Grpc__WriteStreamRequest, call);
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, false, true, call);
    if (p)
        io_in_write(&p->in, call, req->data.data, req->data.len);
}

static void close_stdin(struct ttrpc_call *call, void *sb)
{
    Grpc__CloseStdinRequest *req = REQ(Grpc__CloseStdinRequest, call);
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, false, false, call);
    if (!p)
        return;
    io_in_close_call(&p->in, call);
}

static void tty_win_resize(struct ttrpc_call *call, void *sb)
{
    Grpc__TtyWinResizeRequest *req = REQ(Grpc__TtyWinResizeRequest, call);
    struct proc *p = sandbox_find_proc(sb, req->container_id, req->exec_id, false, false, call);
    if (!p)
        return;
    if (p->pty < 0 || p->out.fd < 0) {
        ttrpc_reply_error(call, RPC_UNAVAILABLE, "no tty");
        return;
    }
    cleanup_error struct kerr *err = NULL;
    if (spawn_resize_pty(p->out.fd, req->row, req->column, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    ttrpc_reply(call, NULL);
}

/* UpdateContainer, StatsContainer, Pause/ResumeContainer: upstream's message is a quoted
 * string (its error text is the Debug form of a &str). */
static struct container *find_or_reply(struct sandbox *sb, const char *cid, struct ttrpc_call *call)
{
    struct container *c = container_find(sb, cid);
    if (!c)
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "\"invalid container id\"");
    return c;
}

static void freeze(struct ttrpc_call *call, struct sandbox *sb, const char *cid, bool frozen)
{
    struct container *c = find_or_reply(sb, cid, call);
    if (!c)
        return;
    cleanup_error struct kerr *err = NULL;
    if (!c->cg || cgroup_freeze(c->cg, frozen, &err) < 0) {
        if (err)
            ttrpc_reply_kerr(call, err);
        else
            ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "container %s has no cgroup", cid);
        return;
    }
    ttrpc_reply(call, NULL);
}

static void pause_container(struct ttrpc_call *call, void *sb)
{
    freeze(call, sb, REQ(Grpc__PauseContainerRequest, call)->container_id, true);
}

static void resume_container(struct ttrpc_call *call, void *sb)
{
    freeze(call, sb, REQ(Grpc__ResumeContainerRequest, call)->container_id, false);
}

static void update_container(struct ttrpc_call *call, void *sb)
{
    Grpc__UpdateContainerRequest *req = REQ(Grpc__UpdateContainerRequest, call);
    struct container *c = find_or_reply(sb, req->container_id, call);
    if (!c)
        return;
    cleanup_error struct kerr *err = NULL;
    if (req->resources && c->cg && cgroup_update(c->cg, req->resources, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    ttrpc_reply(call, NULL);
}

static void get_oom_event(struct ttrpc_call *call, void *sb)
{
    oom_get_event(sb, call);
}

static void stats_container(struct ttrpc_call *call, void *sb)
{
    Grpc__StatsContainerRequest *req = REQ(Grpc__StatsContainerRequest, call);
    struct container *c = find_or_reply(sb, req->container_id, call);
    if (!c)
        return;
    cleanup_error struct kerr *err = NULL;
    Grpc__CgroupStats *stats = NULL;
    if (!c->cg) {
        ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "container %s has no cgroup", c->id);
        return;
    }
    if (cgroup_stats(c->cg, &stats, &err) < 0) {
        ttrpc_reply_kerr(call, err);
        return;
    }
    Grpc__StatsContainerResponse resp = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    resp.cgroup_stats = stats;
    ttrpc_reply(call, &resp.base);
    cgroup_stats_free(stats);
}

/* Upstream's default build has no agent-policy feature: its generated service answers the
 * method ttrpc-rust's way for a method the server does not implement. */
static void set_policy(struct ttrpc_call *call, void *sb)
{
    ttrpc_reply_error(call, RPC_NOT_FOUND, "/grpc.AgentService/SetPolicy is not supported");
}

static const struct {
    const char *name;
    ttrpc_method_fn fn;
} agent_methods[] = {
    {"CreateSandbox", create_sandbox},
    {"DestroySandbox", destroy_sandbox},
    {"CreateContainer", create_container},
    {"StartContainer", start_container},
    {"RemoveContainer", remove_container},
    {"ExecProcess", exec_process},
    {"SignalProcess", signal_process},
    {"WaitProcess", wait_process},
    {"WriteStdin", write_stdin},
    {"ReadStdout", read_stdout},
    {"ReadStderr", read_stderr},
    {"CloseStdin", close_stdin},
    {"TtyWinResize", tty_win_resize},
    {"PauseContainer", pause_container},
    {"ResumeContainer", resume_container},
    {"UpdateContainer", update_container},
    {"GetGuestDetails", guest_get_details},
    {"ReseedRandomDev", guest_reseed_random},
    {"SetGuestDateTime", guest_set_date_time},
    {"RemoveStaleVirtiofsShareMounts", guest_remove_stale_virtiofs_mounts},
    {"GetOOMEvent", get_oom_event},
    {"OnlineCPUMem", cpumem_online},
    {"GetVolumeStats", volume_stats},
    {"ResizeVolume", volume_resize},
    {"GetDiagnosticData", diagnostic_get},
    {"SetPolicy", set_policy},
    {"MemHotplugByProbe", cpumem_hotplug_by_probe},
    {"StatsContainer", stats_container},
    {"UpdateInterface", network_update_interface},
    {"UpdateRoutes", network_update_routes},
    {"AddARPNeighbors", network_add_arp_neighbors},
    {"ListInterfaces", network_list_interfaces},
    {"ListRoutes", network_list_routes},
    {"UpdateEphemeralMounts", storage_update_ephemeral_mounts},
    {"AddSwap", add_swap},
    {"AddSwapPath", swap_add_path},
    {"CopyFile", copyfile_handle},
    {"GetMetrics", metrics_get},
    {"GetIPTables", iptables_get},
    {"SetIPTables", iptables_set},
};

void rpc_register(struct ttrpc_server *srv, struct sandbox *sb)
{
    const ProtobufCServiceDescriptor *svc = &grpc__agent_service__descriptor;
    ttrpc_method_fn *handlers = xcalloc(svc->n_methods, sizeof(*handlers)); /* copied */
    for (size_t i = 0; i < svc->n_methods; i++)
        for (size_t k = 0; k < sizeof(agent_methods) / sizeof(agent_methods[0]); k++)
            if (strcmp(svc->methods[i].name, agent_methods[k].name) == 0)
                handlers[i] = agent_methods[k].fn;
    ttrpc_server_register(srv, svc, handlers, sb);
    free(handlers);

    const ProtobufCServiceDescriptor *health = &grpc__health__descriptor;
    ttrpc_method_fn hh[2] = {NULL, NULL};
    for (size_t i = 0; i < health->n_methods && i < 2; i++)
        hh[i] = strcmp(health->methods[i].name, "Check") == 0 ? health_check : health_version;
    ttrpc_server_register(srv, health, hh, sb);
}
