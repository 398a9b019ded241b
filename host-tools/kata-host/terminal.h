/* The host terminal for -t: raw mode while the container owns it, restored on every exit
 * path (normal return, exit(), fatal signals forwarded by kata-host itself). */
#pragma once
#include <stdbool.h>

/* Puts fd (a tty) into raw mode; the original mode comes back at exit or terminal_restore(). */
int terminal_make_raw(int fd);
void terminal_restore(void);
bool terminal_size(int fd, unsigned *ret_rows, unsigned *ret_cols);
