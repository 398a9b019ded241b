/* A grpc.Health service for ttRPC tests, steered by CheckRequest.service:
 *   Check(any)              -> SERVING
 *   Version("")             -> {grpc_version "0.0.1", agent_version "ttrpc-test"}
 *   Version("park:TAG")     -> parks; answered {grpc_version TAG} by "release"
 *   Version("release")      -> answers every parked call, newest first; replies the count
 *   Version("big:N")        -> grpc_version of N bytes
 *   Version("error:C:TEXT") -> status C with message TEXT
 *   Version("kerr")         -> an ENOENT error object (NOT_FOUND)
 *   Version("wrongtype")    -> replies a HealthCheckResponse (server must refuse it)
 *   Version("close")        -> closes its own connection from inside the handler
 *   Version("stats")        -> "conns=N parked=N cancelled=N closed=N keepfd=N"
 * Also "test.Partial", the same methods with no handlers (UNIMPLEMENTED). */
#pragma once
#include "ttrpc.h"

struct testsvc;

struct testsvc *testsvc_new(struct loop *loop);
/* Accepts connections on a listening socket until loop_quit. */
void testsvc_listen(struct testsvc *t, int listen_fd);
/* Serves one already connected fd; keep_fd: TTRPC_CONN_KEEP_FD (the test checks the fd is
 * still open in on_closed, then closes it). */
void testsvc_add_fd(struct testsvc *t, int fd, bool keep_fd);
void testsvc_free(struct testsvc *t);
struct ttrpc_server *testsvc_server(struct testsvc *t);
