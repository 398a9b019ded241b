#include "powerbutton.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"

#define INPUT_DIR "/dev/input"

bool powerbutton_keybits_have_power(const unsigned char *bits, size_t len)
{
    if ((size_t)KEY_POWER / 8 >= len)
        return false;
    return bits[KEY_POWER / 8] & (1u << (KEY_POWER % 8));
}

bool powerbutton_is_press(const struct input_event *ev)
{
    return ev->type == EV_KEY && ev->code == KEY_POWER && ev->value != 0;
}

size_t powerbutton_open_all(int *fds, size_t max)
{
    cleanup_dir DIR *dir = opendir(INPUT_DIR);
    if (dir == NULL)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while (n < max && (de = readdir(dir)) != NULL) {
        if (strncmp(de->d_name, "event", 5) != 0)
            continue;
        cleanup_close int fd =
            openat(dirfd(dir), de->d_name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            continue;
        unsigned char bits[KEY_MAX / 8 + 1];
        memset(bits, 0, sizeof(bits));
        if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(bits)), bits) < 0)
            continue;
        if (powerbutton_keybits_have_power(bits, sizeof(bits)))
            fds[n++] = steal_fd(&fd);
    }
    return n;
}
