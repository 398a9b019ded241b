#include "agent_api.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static int call(struct ttrpc_client *c, const char *method, const void *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
                int64_t timeout_ns, struct kerr **err)
{
    return ttrpc_client_call(c, AGENT_SERVICE, method, (const ProtobufCMessage *)req, resp_desc,
                             ret_resp, timeout_ns, err);
}

int agent_check(struct ttrpc_client *c, int64_t timeout_ns, struct kerr **err)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call(c, HEALTH_SERVICE, "Check", &req.base,
                              &grpc__health_check_response__descriptor, &resp, timeout_ns, err);
    if (r < 0)
        return r;
    Grpc__HealthCheckResponse *h = (Grpc__HealthCheckResponse *)resp;
    int status = h->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (status != GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
        return make_error(err, EAGAIN, "agent health check: not serving (status %d)", status);
    return 0;
}

int agent_create_sandbox(struct ttrpc_client *c, const Grpc__CreateSandboxRequest *req,
                         struct kerr **err)
{
    return call(c, "CreateSandbox", req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_reseed_random(struct ttrpc_client *c, struct kerr **err)
{
    uint8_t seed[64];
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        return make_error(err, errno, "getrandom");
    Grpc__ReseedRandomDevRequest req = GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;
    req.data.data = seed;
    req.data.len = sizeof(seed);
    return call(c, "ReseedRandomDev", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_set_guest_time(struct ttrpc_client *c, struct kerr **err)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    Grpc__SetGuestDateTimeRequest req = GRPC__SET_GUEST_DATE_TIME_REQUEST__INIT;
    req.sec = now.tv_sec;
    req.usec = now.tv_nsec / 1000;
    return call(c, "SetGuestDateTime", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_destroy_sandbox(struct ttrpc_client *c, int64_t timeout_ns, struct kerr **err)
{
    Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    return call(c, "DestroySandbox", &req, NULL, NULL, timeout_ns, err);
}

int agent_create_container(struct ttrpc_client *c, const Grpc__CreateContainerRequest *req,
                           struct kerr **err)
{
    return call(c, "CreateContainer", req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_start_container(struct ttrpc_client *c, const char *cid, struct kerr **err)
{
    Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return call(c, "StartContainer", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_exec_process(struct ttrpc_client *c, const Grpc__ExecProcessRequest *req,
                       struct kerr **err)
{
    return call(c, "ExecProcess", req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_signal(struct ttrpc_client *c, const char *cid, const char *eid, int sig,
                 struct kerr **err)
{
    Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.signal = (uint32_t)sig;
    return call(c, "SignalProcess", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_wait(struct ttrpc_client *c, const char *cid, const char *eid, int *ret_status,
               struct kerr **err)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    ProtobufCMessage *resp = NULL;
    int r = call(c, "WaitProcess", &req, &grpc__wait_process_response__descriptor, &resp, 0, err);
    if (r < 0)
        return r;
    *ret_status = ((Grpc__WaitProcessResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

int agent_read(struct ttrpc_client *c, int which_fd, const char *cid, const char *eid,
               uint8_t **ret_data, size_t *ret_len, struct kerr **err)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.len = 32768;
    ProtobufCMessage *resp = NULL;
    int r = call(c, which_fd == 2 ? "ReadStderr" : "ReadStdout", &req,
                 &grpc__read_stream_response__descriptor, &resp, 0, err);
    if (r < 0)
        return r;
    Grpc__ReadStreamResponse *rs = (Grpc__ReadStreamResponse *)resp;
    /* Keep the buffer: detach it from the message before freeing the message. */
    *ret_data = rs->data.data;
    *ret_len = rs->data.len;
    rs->data.data = NULL;
    rs->data.len = 0;
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

int agent_write_stdin(struct ttrpc_client *c, const char *cid, const char *eid, const uint8_t *data,
                      size_t len, struct kerr **err)
{
    while (len > 0) {
        Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
        req.container_id = (char *)cid;
        req.exec_id = (char *)eid;
        req.data.data = (uint8_t *)data;
        req.data.len = len;
        ProtobufCMessage *resp = NULL;
        int r =
            call(c, "WriteStdin", &req, &grpc__write_stream_response__descriptor, &resp, 0, err);
        if (r < 0)
            return r;
        uint32_t done = ((Grpc__WriteStreamResponse *)resp)->len;
        protobuf_c_message_free_unpacked(resp, NULL);
        if (done == 0 || done > len)
            return make_error(err, EIO, "WriteStdin accepted %u of %zu bytes", done, len);
        data += done;
        len -= done;
    }
    return 0;
}

int agent_close_stdin(struct ttrpc_client *c, const char *cid, const char *eid, struct kerr **err)
{
    Grpc__CloseStdinRequest req = GRPC__CLOSE_STDIN_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    return call(c, "CloseStdin", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_tty_resize(struct ttrpc_client *c, const char *cid, const char *eid, unsigned rows,
                     unsigned cols, struct kerr **err)
{
    Grpc__TtyWinResizeRequest req = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.row = rows;
    req.column = cols;
    return call(c, "TtyWinResize", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_exit_code_for(const struct kerr *err)
{
    if (!err || !err->msg)
        return 125;
    /* Exec failures are reported as text, as runc and Kata's agent word them:
     * `exec: "cmd": executable file not found in $PATH`, `...: permission denied`. */
    const char *ex = strstr(err->msg, "exec: ");
    if (!ex)
        ex = strstr(err->msg, "exec ");
    if (!ex)
        return 125;
    if (strcasestr(ex, "not found") || strcasestr(ex, "no such file or directory"))
        return 127;
    if (strcasestr(ex, "permission denied") || strcasestr(ex, "exec format error") ||
        strcasestr(ex, "is a directory") || strcasestr(ex, "not executable"))
        return 126;
    return 125;
}

int agent_remove_container(struct ttrpc_client *c, const char *cid, uint32_t timeout_s,
                           struct kerr **err)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.timeout = timeout_s;
    return call(c, "RemoveContainer", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_pause_container(struct ttrpc_client *c, const char *cid, struct kerr **err)
{
    Grpc__PauseContainerRequest req = GRPC__PAUSE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return call(c, "PauseContainer", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_resume_container(struct ttrpc_client *c, const char *cid, struct kerr **err)
{
    Grpc__ResumeContainerRequest req = GRPC__RESUME_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return call(c, "ResumeContainer", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_update_container(struct ttrpc_client *c, const char *cid, Grpc__LinuxResources *resources,
                           struct kerr **err)
{
    Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.resources = resources;
    return call(c, "UpdateContainer", &req, NULL, NULL, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_stats_container(struct ttrpc_client *c, const char *cid,
                          Grpc__StatsContainerResponse **ret, struct kerr **err)
{
    Grpc__StatsContainerRequest req = GRPC__STATS_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return call(c, "StatsContainer", &req, &grpc__stats_container_response__descriptor,
                (ProtobufCMessage **)ret, AGENT_CALL_TIMEOUT_NS, err);
}

int agent_get_oom_event(struct ttrpc_client *c, char **ret_cid, struct kerr **err)
{
    Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int r = call(c, "GetOOMEvent", &req, &grpc__oomevent__descriptor, &resp, 0, err);
    if (r < 0)
        return r;
    const char *cid = ((Grpc__OOMEvent *)resp)->container_id;
    *ret_cid = strdup(cid ? cid : "");
    protobuf_c_message_free_unpacked(resp, NULL);
    return *ret_cid ? 0 : make_error(err, ENOMEM, "GetOOMEvent");
}
