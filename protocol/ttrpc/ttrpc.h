/* ttRPC: containerd's RPC protocol over a byte stream (frames of a 10-byte big-endian header
 * plus a protobuf Request/Response envelope). Server side runs on a struct loop (one thread);
 * the client is thread-safe and blocking (a reader thread matches replies by stream id). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "loop.h"

#define TTRPC_HEADER_LEN 10
#define TTRPC_MAX_DATA (4u << 20)

enum ttrpc_type { TTRPC_REQUEST = 1, TTRPC_RESPONSE = 2, TTRPC_DATA = 3 };

/* google.rpc.Code */
enum rpc_code {
    RPC_OK = 0,
    RPC_CANCELLED = 1,
    RPC_UNKNOWN = 2,
    RPC_INVALID_ARGUMENT = 3,
    RPC_DEADLINE_EXCEEDED = 4,
    RPC_NOT_FOUND = 5,
    RPC_ALREADY_EXISTS = 6,
    RPC_PERMISSION_DENIED = 7,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_FAILED_PRECONDITION = 9,
    RPC_ABORTED = 10,
    RPC_OUT_OF_RANGE = 11,
    RPC_UNIMPLEMENTED = 12,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14,
    RPC_DATA_LOSS = 15,
    RPC_UNAUTHENTICATED = 16,
};
const char *rpc_code_name(int code);

struct ttrpc_header {
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
    uint8_t flags;
};
void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_LEN]);
void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *h);

/* ---------------------------------------------------------------- server */

struct ttrpc_server;
struct ttrpc_conn;

struct ttrpc_call {
    struct ttrpc_conn *conn;
    uint32_t stream_id;
    const char *service;
    const char *method;
    int64_t timeout_nano;
    /* The unpacked request message (type = the method's input descriptor); owned by the call. */
    ProtobufCMessage *request;
    /* A handler that parks the call (answers later) sets these. on_cancel runs when the call
     * ends without the handler's reply: the connection closed, or timeout_nano passed (the
     * server has then already answered DEADLINE_EXCEEDED). The call is freed right after, so
     * on_cancel is where the owner drops every pointer to it; that makes a late ttrpc_reply on a
     * timed-out call impossible. A parked call without on_cancel must not be referenced after
     * it could end. ttrpc_reply* on the call from inside its own on_cancel is ignored. */
    void (*on_cancel)(struct ttrpc_call *call, void *data);
    void *cancel_data;
};

/* Handler for one method; handlers[i] serves svc->methods[i]. It must eventually answer with
 * exactly one ttrpc_reply* (now or later), unless on_cancel fires first. The call is never
 * freed while its handler runs, even if the handler replies or closes the connection. */
typedef void (*ttrpc_method_fn)(struct ttrpc_call *call, void *userdata);

struct ttrpc_server *ttrpc_server_new(struct loop *loop);
/* Closes every connection (cancelling calls, running on_closed). Not from within a handler. */
void ttrpc_server_free(struct ttrpc_server *s);
/* Registers a service by its protobuf-c descriptor (its full name, e.g. "grpc.AgentService",
 * is what clients send). A NULL handler answers UNIMPLEMENTED naming the method. The handler
 * array is copied; the descriptor must outlive the server. Registering a name again replaces
 * the earlier service. Routing errors (as ttrpc-rust): unknown service INVALID_ARGUMENT
 * "<service> service does not exist", unknown method UNIMPLEMENTED "<method> method", NULL
 * handler UNIMPLEMENTED "/<service>/<method> is not supported", undecodable payload
 * INVALID_ARGUMENT. */
void ttrpc_server_register(struct ttrpc_server *s, const ProtobufCServiceDescriptor *svc,
                           const ttrpc_method_fn *handlers, void *userdata);

/* Holds a registered service: its calls queue up (their deadlines running) instead of reaching
 * their handlers, while other services are served. ttrpc_server_release dispatches the queued
 * calls in arrival order, then serves the service normally. For a service whose handlers need
 * something that is not ready yet (the agent's, while kata-init finishes the guest setup).
 * Registering the service again drops the hold for new calls. -ENOENT: no such service. */
int ttrpc_server_hold(struct ttrpc_server *s, const char *service);
void ttrpc_server_release(struct ttrpc_server *s, const char *service);

enum {
    TTRPC_CONN_KEEP_FD = 1, /* do not close the fd when the connection ends (virtio-serial port) */
};
typedef void (*ttrpc_conn_closed_fn)(struct ttrpc_conn *c, void *data);
/* Serves requests arriving on a connected byte stream. The fd is made non-blocking. on_closed
 * runs once, after the peer hung up or the connection failed, when every call has been
 * cancelled. Returns NULL (fd untouched, still the caller's) if the fd cannot be watched.
 * A peer that stops reading is dropped once 64 MiB of replies wait for it. */
struct ttrpc_conn *ttrpc_server_add_conn(struct ttrpc_server *s, int fd, unsigned flags,
                                         ttrpc_conn_closed_fn on_closed, void *data);
/* Ends a connection from the server side (cancels its calls, runs on_closed). Called from a
 * handler of that same connection it takes effect when the handler returns. Not to be called
 * from that connection's on_closed. */
void ttrpc_conn_close(struct ttrpc_conn *c);
/* Number of connections still open (for shutdown decisions and tests). */
size_t ttrpc_server_conn_count(const struct ttrpc_server *s);
/* Outside the loop (after loop_run returned): writes every queued reply out, waiting up to
 * timeout_ms for slow readers, so that a process about to exit loses no answer it already
 * gave (DestroySandbox's). True when nothing is left queued. */
bool ttrpc_server_drain(struct ttrpc_server *s, int timeout_ms);

/* Answers a call and frees it. `msg` may be NULL for an empty message (google.protobuf.Empty);
 * otherwise it must be of the method's output type (else the client gets INTERNAL). A reply
 * whose frame would exceed TTRPC_MAX_DATA becomes RESOURCE_EXHAUSTED. Replies never run
 * on_cancel or on_closed synchronously: a write failure closes the connection from a later
 * loop iteration. A code of RPC_OK (or out of range) in ttrpc_reply_error is sent as
 * RPC_UNKNOWN so an error never reads as success. */
void ttrpc_reply(struct ttrpc_call *call, const ProtobufCMessage *msg);
void ttrpc_reply_error(struct ttrpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers with the status derived from an error object (error_status(err) and its message). */
void ttrpc_reply_kerr(struct ttrpc_call *call, const struct kerr *err);

/* ---------------------------------------------------------------- client */

struct ttrpc_client;

/* Takes ownership of a connected fd (socket or character device) and starts the reader thread.
 * NULL if the thread cannot start; the fd then stays the caller's. */
struct ttrpc_client *ttrpc_client_new(int fd);
/* Closes the connection; pending calls fail with -ECONNRESET; joins the reader thread and waits
 * until no other thread is inside a call on this client. No new calls may start meanwhile. */
void ttrpc_client_free(struct ttrpc_client *c);
/* Stream ids must keep increasing on a connection: when a connection passes from one client to
 * another (a pooled VM's agent channel, already health-checked), the next one continues where
 * the first stopped. Set before the first call. */
uint32_t ttrpc_client_next_stream_id(struct ttrpc_client *c);
void ttrpc_client_set_next_stream_id(struct ttrpc_client *c, uint32_t id);

/* Blocking, thread-safe unary call. timeout_ns > 0 goes into Request.timeout_nano and also
 * bounds the local wait. Returns 0 and *ret_resp (unpacked with resp_desc; NULL resp_desc
 * means the reply is not decoded) when the status is OK. On a non-OK status returns -EPROTO
 * with (*err)->status = the code and (*err)->msg = the status message; on transport failure
 * a negative errno (-ECONNRESET when the connection dies, -ETIMEDOUT on local timeout,
 * -EMSGSIZE for a request or reply over TTRPC_MAX_DATA, -EBADMSG for an undecodable reply).
 * A Response without a status field counts as OK (the Go server omits it). */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **ret_resp, int64_t timeout_ns, struct kerr **err);
/* Same with a pre-packed payload and the raw reply payload (malloc'd). */
int ttrpc_client_call_raw(struct ttrpc_client *c, const char *service, const char *method,
                          const uint8_t *payload, size_t len, uint8_t **ret_payload,
                          size_t *ret_len, int64_t timeout_ns, struct kerr **err);
