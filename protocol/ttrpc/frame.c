/* Frame header codec, status names and the hand-encoded Response envelope (both the success
 * and the error shape are two or three protobuf fields, cheaper to write than to build). */
#include "ttrpc.h"
#include "ttrpc-internal.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_LEN])
{
    put_be32(out, h->length);
    put_be32(out + 4, h->stream_id);
    out[8] = h->type;
    out[9] = h->flags;
}

void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *h)
{
    h->length = get_be32(in);
    h->stream_id = get_be32(in + 4);
    h->type = in[8];
    h->flags = in[9];
}

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *rpc_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
        return "UNKNOWN_CODE";
    return code_names[code];
}

size_t ttrpc_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Response{1: Status{} (always present, like ttrpc-rust), 2: payload (omitted when empty)} */
size_t ttrpc_ok_response_len(size_t payload_len)
{
    size_t n = 2;
    if (payload_len > 0)
        n += 1 + ttrpc_varint_len(payload_len) + payload_len;
    return n;
}

uint8_t *ttrpc_ok_response_prefix(uint8_t *p, size_t payload_len)
{
    *p++ = 0x0a; /* field 1, length-delimited */
    *p++ = 0x00;
    if (payload_len > 0) {
        *p++ = 0x12; /* field 2, length-delimited */
        p = put_varint(p, payload_len);
    }
    return p;
}

/* Status{1: code (varint; a negative int32 takes ten bytes), 2: message} */
static size_t status_len(int code, size_t msg_len)
{
    size_t n = 0;
    if (code != 0)
        n += 1 + ttrpc_varint_len((uint64_t)(int64_t)code);
    if (msg_len > 0)
        n += 1 + ttrpc_varint_len(msg_len) + msg_len;
    return n;
}

size_t ttrpc_error_response_len(int code, size_t msg_len)
{
    size_t s = status_len(code, msg_len);
    return 1 + ttrpc_varint_len(s) + s;
}

void ttrpc_error_response_encode(uint8_t *p, int code, const char *msg, size_t msg_len)
{
    *p++ = 0x0a;
    p = put_varint(p, status_len(code, msg_len));
    if (code != 0) {
        *p++ = 0x08; /* field 1, varint */
        p = put_varint(p, (uint64_t)(int64_t)code);
    }
    if (msg_len > 0) {
        *p++ = 0x12;
        p = put_varint(p, msg_len);
        memcpy(p, msg, msg_len);
    }
}

long ttrpc_writev(int fd, bool is_socket, const struct iovec *iov, int n)
{
    if (is_socket) {
        struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
        return sendmsg(fd, &mh, MSG_NOSIGNAL);
    }
    return writev(fd, iov, n);
}

bool ttrpc_fd_is_socket(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}
