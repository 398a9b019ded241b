#include "terminal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static pthread_mutex_t saved_lock = PTHREAD_MUTEX_INITIALIZER;
static struct termios saved;
static int saved_fd = -1;
static bool atexit_registered;

void terminal_restore(void)
{
    pthread_mutex_lock(&saved_lock);
    if (saved_fd >= 0) {
        tcsetattr(saved_fd, TCSADRAIN, &saved);
        saved_fd = -1;
    }
    pthread_mutex_unlock(&saved_lock);
}

int terminal_make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    pthread_mutex_lock(&saved_lock);
    if (saved_fd < 0) {
        saved = t;
        saved_fd = fd;
    }
    if (!atexit_registered) {
        atexit(terminal_restore);
        atexit_registered = true;
    }
    pthread_mutex_unlock(&saved_lock);
    cfmakeraw(&t);
    /* Keep output post-processing so our own error messages still start at column 0. */
    t.c_oflag |= OPOST;
    if (tcsetattr(fd, TCSADRAIN, &t) < 0)
        return -errno;
    return 0;
}

bool terminal_size(int fd, unsigned *ret_rows, unsigned *ret_cols)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return false;
    *ret_rows = ws.ws_row;
    *ret_cols = ws.ws_col;
    return true;
}
