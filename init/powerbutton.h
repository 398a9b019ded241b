/* The ACPI power button (QEMU's system_powerdown, a host's "shutdown"): the kernel turns it
 * into a KEY_POWER press on an evdev input device, and nothing happens unless userspace
 * listens. kata-init watches those devices in its event loop. */
#pragma once
#include <linux/input.h>
#include <stdbool.h>
#include <stddef.h>

/* True when the key bitmap (as EVIOCGBIT(EV_KEY) fills it) has KEY_POWER. */
bool powerbutton_keybits_have_power(const unsigned char *bits, size_t len);
/* True for a press (or autorepeat) of the power key. */
bool powerbutton_is_press(const struct input_event *ev);

/* Opens every /dev/input/event* that can send KEY_POWER (non-blocking, close-on-exec).
 * Returns how many fds were stored in fds (at most max). */
size_t powerbutton_open_all(int *fds, size_t max);
