/* Warming a pooled VM: a clone restored from the template starts with QEMU's TCG translation
 * cache empty, so the first container start translates every guest code path it touches (the
 * agent's handlers, the kernel's fork, namespaces, mounts, cgroups, exec) and costs ~10x what
 * the same calls cost afterwards. The keeper runs one throwaway container before it reports the
 * VM ready, so that cost is paid while nobody waits.
 *
 * The warm-up must leave the agent as a fresh clone's: CreateSandbox can succeed once per
 * agent and DestroySandbox powers the guest off. So its CreateSandbox names a storage whose
 * mount point cannot be created: the agent runs the whole handler (the shared ipc/uts
 * namespaces, the hostname, the bind mounts of their nsfs files) and, at that storage, rolls
 * it all back and answers an error, with no sandbox created. Its container then runs without a
 * sandbox (the agent gives it ipc/uts namespaces of its own) and is removed. Everything the
 * container had (its namespaces, mounts, cgroup, processes) goes with RemoveContainer; the RNG
 * and clock are refreshed at hand-off anyway. */
#include "pool_warm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_api.h"
#include "cleanup.h"
#include "spec.h"

/* Bounds each blocking read of the warm-up (`true` writes nothing; EOF comes at its exit). */
#define WARM_READS_MAX 64

static void client_freep(struct ttrpc_client **c)
{
    ttrpc_client_free(*c);
}

int pool_warm_passes(void)
{
    const char *e = getenv("KATA_HOST_POOL_WARM");
    int n = e && *e ? atoi(e) : 1;
    return n < 0 ? 0 : n > 5 ? 5 : n;
}

/* ReadStdout or ReadStderr until EOF, as the run's relay does. */
static int drain(struct ttrpc_client *c, int which, struct kerr **err)
{
    for (int i = 0; i < WARM_READS_MAX; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        int r = agent_read(c, which, POOL_WARM_ID, POOL_WARM_ID, &data, &len, err);
        free(data);
        if (r < 0 || len == 0)
            return r;
    }
    return make_error(err, EPROTO, "the warm-up container wrote more than expected");
}

/* A CreateSandbox the agent undoes: the mount point's parent is a file, so creating it fails
 * before anything of the storage exists. Any error will do (one before the namespaces only
 * warms less); success would leave the agent a sandbox, and the VM is then not offered. */
static int sandbox_rolled_back(struct ttrpc_client *c, struct kerr **err)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    req.hostname = POOL_WARM_ID;
    req.sandbox_id = POOL_WARM_ID;
    Grpc__Storage st = GRPC__STORAGE__INIT;
    Grpc__Storage *stp = &st;
    st.driver = "local";
    st.fstype = "local";
    st.source = POOL_WARM_ID;
    st.mount_point = "/proc/version/" POOL_WARM_ID;
    req.n_storages = 1;
    req.storages = &stp;
    cleanup_error struct kerr *ignored = NULL;
    if (agent_create_sandbox(c, &req, &ignored) == 0)
        return make_error(err, EPROTO, "the agent kept the warm-up's CreateSandbox");
    return 0;
}

/* What a run does on the channel, in its order (cmd_run.c, stdio.c), minus DestroySandbox;
 * CreateSandbox rolled back. */
static int run_container(struct ttrpc_client *c, const struct sandbox *sb, struct kerr **err)
{
    int r = agent_reseed_random(c, err);
    if (r == 0)
        r = agent_set_guest_time(c, err);
    if (r == 0)
        r = sandbox_rolled_back(c, err);
    if (r < 0)
        return r;
    /* The shim's shape has no command of its own: its VMs warm up on `true` too. */
    static const char *const true_argv[] = {"true", NULL};
    struct process_opts proc = sb->opts->proc;
    if (proc.argc == 0) {
        proc.argv = true_argv;
        proc.argc = 1;
    }
    struct spec_input in = {
        .proc = &proc,
        .hostname = POOL_WARM_ID,
        .root_path = sandbox_root_path(sb),
        .cgroups_path = "/kata/" POOL_WARM_ID,
    };
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = POOL_WARM_ID;
    req.exec_id = POOL_WARM_ID;
    req.oci = spec_default(&in);
    r = agent_create_container(c, &req, err);
    protobuf_c_message_free_unpacked(&req.oci->base, NULL);
    if (r < 0)
        return error_wrap(err, r, "warm-up CreateContainer");
    r = agent_start_container(c, POOL_WARM_ID, err);
    if (r == 0)
        r = agent_close_stdin(c, POOL_WARM_ID, POOL_WARM_ID, err);
    if (r == 0)
        r = drain(c, 1, err);
    if (r == 0)
        r = drain(c, 2, err);
    int status = -1;
    if (r == 0)
        r = agent_wait(c, POOL_WARM_ID, POOL_WARM_ID, &status, err);
    if (r == 0 && status != 0)
        r = make_error(err, EPROTO, "the warm-up container exited with status %d", status);
    if (r < 0) {
        /* Removed anyway, so the agent's log tells the two failures apart. */
        cleanup_error struct kerr *ignored = NULL;
        (void)agent_remove_container(c, POOL_WARM_ID, 10, &ignored);
        return error_wrap(err, r, "warm-up container");
    }
    r = agent_remove_container(c, POOL_WARM_ID, 10, err);
    if (r < 0)
        return error_wrap(err, r, "warm-up RemoveContainer");
    return 0;
}

int pool_warm(struct sandbox *sb, int agent, struct kerr **err)
{
    int fd = dup(agent);
    if (fd < 0)
        return make_error(err, errno, "dup the agent channel");
    __attribute__((cleanup(client_freep))) struct ttrpc_client *c = ttrpc_client_new(fd);
    if (!c) {
        close(fd);
        return make_error(err, EAGAIN, "start the ttRPC client");
    }
    ttrpc_client_set_next_stream_id(c, sb->next_stream_id);
    int r = 0;
    for (int i = pool_warm_passes(); i > 0 && r == 0; i--)
        r = run_container(c, sb, err);
    sb->next_stream_id = ttrpc_client_next_stream_id(c);
    return r;
}
