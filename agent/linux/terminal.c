#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"

int spawn_resize_pty(int pty_master, unsigned rows, unsigned cols, struct kerr **err)
{
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(pty_master, TIOCSWINSZ, &ws) < 0)
        return make_error(err, errno, "set terminal size %ux%u", rows, cols);
    return 0;
}

int terminal_setup_child(unsigned rows, unsigned cols, uid_t owner, int *ret_master,
                         struct kerr **err)
{
    cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return make_error(err, errno, "open /dev/ptmx in the container");
    if (unlockpt(master) < 0)
        return make_error(err, errno, "unlockpt");
    cleanup_close int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) {
        /* Kernels before 4.13: open the slave by name. */
        const char *name = ptsname(master);
        if (name == NULL || (slave = open(name, O_RDWR | O_NOCTTY)) < 0)
            return make_error(err, errno, "open the pty slave");
    }
    if (fchown(slave, owner, (gid_t)-1) < 0 && errno != EPERM && errno != EINVAL)
        return make_error(err, errno, "chown the pty slave");
    if (rows && cols) {
        int r = spawn_resize_pty(master, rows, cols, err);
        if (r < 0)
            return r;
    }
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return make_error(err, errno, "make the pty the controlling terminal");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            return make_error(err, errno, "dup2 pty to %d", fd);
    *ret_master = steal_fd(&master);
    return 0;
}
