/* The VM's channels to the host besides the agent's own: virtio-serial ports found by name,
 * vsock listeners, and whether the guest has a vsock transport at all. Shared by the agent's
 * transport, the debug console and the log port. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "cleanup.h"
#include "xalloc.h"

bool vsock_has_transport(void)
{
    cleanup_close int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    unsigned cid = VMADDR_CID_ANY;
    if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
        return true; /* cannot tell: listen as asked */
    return cid != VMADDR_CID_ANY;
}

int vsock_listen(unsigned cid, unsigned port, int backlog, struct kerr **err)
{
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    cleanup_close int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return make_error(err, errno, "vsock socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return make_error(err, errno, "bind vsock port %u: %s", port, strerror(errno));
    if (listen(fd, backlog) < 0)
        return make_error(err, errno, "listen on vsock port %u: %s", port, strerror(errno));
    return steal_fd(&fd);
}

char *vport_find(const char *name)
{
    cleanup_dir DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cleanup_free char *p = xasprintf("/sys/class/virtio-ports/%s/name", e->d_name);
        char buf[128] = "";
        cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (strcmp(buf, name) == 0)
            return xasprintf("/dev/%s", e->d_name);
    }
    return NULL;
}

int vport_open(const char *path, struct kerr **err)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return make_error(err, errno, "open %s: %s", path, strerror(errno));
    /* A console-like port (hvc, or a pty in tests) must pass bytes untouched. */
    struct termios tio;
    if (isatty(fd) && tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        (void)tcsetattr(fd, TCSANOW, &tio);
    }
    return fd;
}

bool vport_host_connected(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
    return poll(&pfd, 1, 0) >= 0 && !(pfd.revents & (POLLHUP | POLLERR)) && (pfd.revents & POLLOUT);
}
