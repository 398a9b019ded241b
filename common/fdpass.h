/* One message with an optional file descriptor (SCM_RIGHTS) over a unix socket: how the agent
 * talks to a container's setup child, and how the warm pool hands a VM's channel over. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes and, when fd >= 0, a copy of fd. Returns the bytes sent or -errno. */
ssize_t fdpass_send(int sock, const void *data, size_t len, int fd);
/* Receives one message of at most size bytes. The first descriptor that came with it goes to
 * *ret_fd when ret_fd is given and *ret_fd < 0; any other is closed. Descriptors arrive
 * close-on-exec. Returns the bytes received (0 at EOF) or -errno. */
ssize_t fdpass_recv(int sock, void *buf, size_t size, int *ret_fd);
