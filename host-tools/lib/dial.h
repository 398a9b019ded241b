/* Reaching the agent: unix sockets, vsock, cloud-hypervisor's hybrid vsock (a unix socket on
 * which the VMM expects "CONNECT <port>\n" and answers "OK <port>\n"), and QEMU's virtio-serial
 * chardev socket (where the agent speaks first with its hello line). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum dial_kind { DIAL_UNIX, DIAL_VSOCK, DIAL_HVSOCK };

struct dial_addr {
    enum dial_kind kind;
    char *path;    /* unix / hvsock */
    uint32_t cid;  /* vsock */
    uint32_t port; /* vsock / hvsock */
};

/* unix:///path, unix://@abstract, /path, vsock://CID:PORT, hvsock:///path[:PORT]. */
int dial_parse(const char *text, struct dial_addr *ret, struct kerr **err);
void dial_addr_free(struct dial_addr *a);

int dial_unix(const char *path, struct kerr **err);
int dial_vsock(uint32_t cid, uint32_t port, struct kerr **err);
/* Writes "CONNECT <port>\n" and reads the VMM's one-line answer, which must contain "OK". */
int dial_hybrid_handshake(int fd, uint32_t port, int timeout_ms, struct kerr **err);
/* Connects once (no retry) to any parsed address, doing the handshake for hvsock. */
int dial_connect(const struct dial_addr *a, int timeout_ms, struct kerr **err);

/* Reads the agent's "KATA-AGENT-READY <boottime_ns>\n" line byte by byte (nothing after it is
 * consumed). -ETIMEDOUT after timeout_ms; -ECONNRESET when the peer closes first. */
int dial_read_hello(int fd, int timeout_ms, uint64_t *ret_boottime_ns, struct kerr **err);

/* The guest CID for vhost-vsock: tries VHOST_VSOCK_SET_GUEST_CID on /dev/vhost-vsock with
 * candidates from 3 upward (randomised start) and returns the first free one. */
int dial_find_guest_cid(uint32_t *ret_cid, struct kerr **err);
bool dial_have_vhost_vsock(void);
