/* The guest's identity and its loopback interface: the two bits of network setup that must
 * exist before any container starts (containers without a network namespace of their own
 * share them). Interfaces from the host are the agent's business (UpdateInterface). */
#pragma once
#include "error.h"

/* Sets IFF_UP on "lo" with the classic ioctl: no netlink needed for one flag. */
int net_loopback_up(struct kerr **err);

/* The host name in an /etc/hostname text: the first line with blanks trimmed; NULL when
 * empty, longer than 64 bytes or holding characters a host name cannot have. */
char *hostname_from_text(const char *text);
/* Sets the host name from /etc/hostname, "localhost" when it has none; *ret_name (optional)
 * gets the name used. */
int hostname_apply(const char *path, char **ret_name, struct kerr **err);
