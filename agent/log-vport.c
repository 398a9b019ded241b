/* `agent.log_vport=P`: the agent's log lines go to the host over vsock port P instead of
 * stdout. As upstream, the agent listens and the host connects when it wants the logs; lines
 * logged before that wait in memory (a bounded queue: the oldest ones beyond it are dropped
 * and counted, where upstream's pipe would stall the logger). When the host disconnects the
 * agent waits for the next one (upstream stops logging for good). Without a vsock transport
 * the lines stay where they were (the console), with a line saying so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "log.h"
#include "xalloc.h"

#define QUEUE_MAX (256 * 1024)

struct log_vport {
    struct loop *loop;
    int listen_fd, conn;
    struct loop_source *listen_src, *conn_src;
    char *queue; /* bytes not yet written to the host */
    size_t len;
    unsigned long dropped; /* lines */
};

static void enqueue(struct log_vport *lv, const char *line, size_t n)
{
    if (lv->len + n > QUEUE_MAX) {
        lv->dropped++;
        return;
    }
    lv->queue = xrealloc(lv->queue, lv->len + n);
    memcpy(lv->queue + lv->len, line, n);
    lv->len += n;
}

static void disconnect(struct log_vport *lv)
{
    loop_remove_fd(lv->conn_src);
    lv->conn_src = NULL;
    close(lv->conn);
    lv->conn = -1;
}

/* Writes what the queue holds; keeps the rest for EPOLLOUT. No logging in here: this runs
 * inside log_msg. */
static void drain(struct log_vport *lv)
{
    if (lv->dropped && lv->len + 128 <= QUEUE_MAX) {
        char note[128];
        int k = snprintf(note, sizeof(note),
                         "{\"level\":\"warn\",\"name\":\"kata-agent\",\"source\":\"agent\","
                         "\"subsystem\":\"log\",\"msg\":\"%lu log lines dropped\"}\n",
                         lv->dropped);
        lv->dropped = 0;
        enqueue(lv, note, (size_t)k);
    }
    size_t off = 0;
    while (off < lv->len) {
        ssize_t n = send(lv->conn, lv->queue + off, lv->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            disconnect(lv);
            break;
        }
        off += (size_t)n;
    }
    memmove(lv->queue, lv->queue + off, lv->len - off);
    lv->len -= off;
    if (lv->conn >= 0)
        loop_modify_fd(lv->conn_src, EPOLLIN | (lv->len ? EPOLLOUT : 0));
}

static void writer(const char *line, size_t n, void *data)
{
    struct log_vport *lv = data;
    enqueue(lv, line, n);
    if (lv->conn >= 0)
        drain(lv);
}

static void on_conn(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct log_vport *lv = data;
    if (events & EPOLLIN) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            disconnect(lv); /* the host hung up; the next one gets the queue */
            return;
        }
    }
    if (events & (EPOLLHUP | EPOLLERR)) {
        disconnect(lv);
        return;
    }
    drain(lv);
}

static void on_accept(struct loop_source *src, int fd, uint32_t events, void *data)
{
    struct log_vport *lv = data;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    if (lv->conn >= 0) { /* one reader at a time, as upstream's single stream */
        close(c);
        return;
    }
    lv->conn = c;
    lv->conn_src = loop_add_fd(lv->loop, c, EPOLLIN, on_conn, lv);
    drain(lv);
}

int log_vport_start(struct loop *loop, int port, struct log_vport **ret, struct kerr **err)
{
    *ret = NULL;
    if (port <= 0)
        return 0;
    if (!vsock_has_transport())
        return make_error(
            err, ENODEV,
            "agent.log_vport=%d: the VM has no vsock device; log lines stay on the console", port);
    int fd = vsock_listen(VMADDR_CID_ANY, (unsigned)port, 1, err);
    if (fd < 0)
        return fd;
    struct log_vport *lv = xcalloc(1, sizeof(*lv));
    lv->loop = loop;
    lv->listen_fd = fd;
    lv->conn = -1;
    lv->listen_src = loop_add_fd(loop, fd, EPOLLIN, on_accept, lv);
    log_info("log", "log lines go to vsock port %d from now on", port);
    log_set_writer(writer, lv);
    *ret = lv;
    return 0;
}

void log_vport_stop(struct log_vport *lv)
{
    if (!lv)
        return;
    log_set_writer(NULL, NULL);
    /* What the host never took goes to stdout rather than nowhere. */
    if (lv->len)
        (void)!write(2, lv->queue, lv->len);
    if (lv->conn >= 0)
        disconnect(lv);
    loop_remove_fd(lv->listen_src);
    close(lv->listen_fd);
    free(lv->queue);
    free(lv);
}
