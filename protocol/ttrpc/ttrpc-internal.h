/* Shared by the ttRPC server and client; not part of the public API. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest status message we put on the wire; longer ones are cut (a reply must stay small). */
#define TTRPC_MAX_STATUS_MSG 4096

size_t ttrpc_varint_len(uint64_t v);

/* The bytes of a success Response before its payload, and the whole Response length. */
size_t ttrpc_ok_response_len(size_t payload_len);
uint8_t *ttrpc_ok_response_prefix(uint8_t *p, size_t payload_len);

/* A Response carrying only a status; writes exactly ttrpc_error_response_len() bytes. */
size_t ttrpc_error_response_len(int code, size_t msg_len);
void ttrpc_error_response_encode(uint8_t *p, int code, const char *msg, size_t msg_len);

struct ttrpc_conn;
/* Parses bytes as if just read from the connection's fd (the frame reader without the socket,
 * for the fuzz target). The connection is gone afterwards if they made it close. */
void ttrpc_conn_feed(struct ttrpc_conn *c, const uint8_t *p, size_t n);

struct iovec;
/* writev() that never raises SIGPIPE on sockets (sendmsg with MSG_NOSIGNAL). */
long ttrpc_writev(int fd, bool is_socket, const struct iovec *iov, int n);
bool ttrpc_fd_is_socket(int fd);
