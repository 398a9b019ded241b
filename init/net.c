#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

#define HOSTNAME_MAX 64

int net_loopback_up(struct kerr **err)
{
    cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "socket for interface ioctls");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return make_error(err, errno, "get flags of lo");
    if (ifr.ifr_flags & IFF_UP)
        return 0;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return make_error(err, errno, "bring lo up");
    return 0;
}

static bool hostname_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

char *hostname_from_text(const char *text)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\n");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
    if (len == 0 || len > HOSTNAME_MAX)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!hostname_char_ok(p[i]))
            return NULL;
    return xstrndup(p, len);
}

int hostname_apply(const char *path, char **ret_name, struct kerr **err)
{
    cleanup_free char *text = NULL;
    cleanup_free char *name = NULL;
    if (read_file(path, &text, NULL) == 0)
        name = hostname_from_text(text);
    if (name == NULL)
        name = xstrdup("localhost");
    if (sethostname(name, strlen(name)) < 0)
        return make_error(err, errno, "sethostname %s", name);
    if (ret_name)
        *ret_name = steal_ptr(name);
    return 0;
}
