/* The session socket: ttRPC requests relayed to an agent connection (here a real ttRPC server
 * on a socketpair answering grpc.Health), local kata-host.Session methods, status codes
 * passed through, and the state file. */
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.pb-c.h"
#include "agent_api.h"
#include "session.h"
#include "tests/tap.h"
#include "loop.h"
#include "ttrpc.h"

static void check_handler(struct ttrpc_call *call, void *data)
{
    Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_reply(call, &resp.base);
}

static void version_handler(struct ttrpc_call *call, void *data)
{
    ttrpc_reply_error(call, RPC_FAILED_PRECONDITION, "version refused for the test");
}

static int local_calls;
static int local(const char *method, const uint8_t *payload, size_t len, uint8_t **ret_payload,
                 size_t *ret_len, struct kerr **err, void *data)
{
    local_calls++;
    if (strcmp(method, "Echo") == 0) {
        *ret_payload = malloc(len + 1);
        memcpy(*ret_payload, payload, len);
        *ret_len = len;
        return 0;
    }
    return make_status(err, RPC_UNIMPLEMENTED, 0, "%s method", method);
}

static struct loop *lp;
static void *loop_main(void *arg)
{
    loop_run(lp);
    return NULL;
}

/* The loop belongs to its thread: main may not touch it, only wake it through this pipe. */
static int quit_pipe[2];
static struct loop_source *quit_src;
static void quit_cb(struct loop_source *src, int fd, uint32_t events, void *data)
{
    loop_quit(lp);
}

int main(void)
{
    tap_plan(11);
    signal(SIGPIPE, SIG_IGN);
    lp = loop_new();
    if (pipe2(quit_pipe, O_CLOEXEC) < 0 ||
        !(quit_src = loop_add_fd(lp, quit_pipe[0], EPOLLIN, quit_cb, NULL)))
        return 1;
    struct ttrpc_server *srv = ttrpc_server_new(lp);
    ttrpc_method_fn handlers[2] = {check_handler, version_handler};
    ttrpc_server_register(srv, &grpc__health__descriptor, handlers, NULL);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    ttrpc_server_add_conn(srv, sv[0], 0, NULL, NULL);
    pthread_t lt;
    pthread_create(&lt, NULL, loop_main, NULL);
    struct ttrpc_client *agent = ttrpc_client_new(sv[1]);

    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/test-host-session.%d", (int)getpid());
    mkdir(dir, 0700);
    setenv("KATA_HOST_RUN_DIR", "/tmp", 1);
    char path[128];
    snprintf(path, sizeof(path), "%s/session.sock", dir);
    struct kerr *err = NULL;
    struct session_server *s = session_server_start(path, agent, local, NULL, &err);
    tap_ok(s != NULL, "session server listens (%s)", err ? err->msg : "ok");

    const char *name = strrchr(dir, '/') + 1;
    int fd = session_connect(name, &err);
    tap_ok(fd >= 0, "session_connect by name");
    struct ttrpc_client *c = ttrpc_client_new(fd);
    tap_ok(agent_check(c, 5000000000LL, &err) == 0, "Health.Check relayed to the agent");
    error_freep(&err);
    int r = ttrpc_client_call_raw(c, HEALTH_SERVICE, "Version", (const uint8_t *)"", 0, NULL, NULL,
                                  5000000000LL, &err);
    tap_ok(r == -EPROTO && err && err->status == RPC_FAILED_PRECONDITION &&
               strstr(err->msg, "version refused"),
           "an agent error keeps its status code and message through the relay");
    error_freep(&err);
    uint8_t *out = NULL;
    size_t out_len = 0;
    r = ttrpc_client_call_raw(c, SESSION_SERVICE, "Echo", (const uint8_t *)"hey", 3, &out, &out_len,
                              5000000000LL, &err);
    tap_ok(r == 0 && out_len == 3 && memcmp(out, "hey", 3) == 0 && local_calls == 1,
           "kata-host.Session methods are answered locally");
    free(out);
    r = ttrpc_client_call_raw(c, SESSION_SERVICE, "Nope", NULL, 0, &out, &out_len, 5000000000LL,
                              &err);
    tap_ok(r == -EPROTO && err && err->status == RPC_UNIMPLEMENTED, "unknown local method");
    error_freep(&err);
    ttrpc_client_free(c);

    struct session_state st = {.name = (char *)"box",
                               .pid = 12345,
                               .vmm_pid = 678,
                               .created = 1000,
                               .command = (char *)"sleep 60",
                               .container_id = (char *)"box"};
    tap_ok(session_write_state(dir, &st, &err) == 0, "state written");
    struct session_state back;
    tap_ok(session_read_state(dir, &back, &err) == 0 && strcmp(back.name, "box") == 0 &&
               back.pid == 12345 && back.vmm_pid == 678 && back.created == 1000 &&
               strcmp(back.command, "sleep 60") == 0,
           "state read back");
    session_state_free(&back);
    st.pid = (long)getpid();
    tap_ok(!session_owner_alive(&st), "a live pid that is not kata-host is not an owner");
    st.pid = 999999999;
    tap_ok(!session_owner_alive(&st), "a dead pid is not an owner");

    session_server_stop(s);
    ttrpc_client_free(agent);
    fd = session_connect(name, &err);
    tap_ok(fd < 0 && err && strstr(err->msg, "not running"), "stopped server refuses clients");
    error_freep(&err);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "rm -rf %s", dir);
    if (system(tmp) != 0)
        return 1;
    if (write(quit_pipe[1], "q", 1) != 1)
        return 1;
    pthread_join(lt, NULL);
    loop_remove_fd(quit_src);
    ttrpc_server_free(srv);
    loop_free(lp);
    return tap_done();
}
