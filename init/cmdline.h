/* Kernel command line: kernel-style tokenizing (double quotes group words, one pair of quotes
 * around a value is dropped) and the few parameters kata-init acts on. Pure functions, so the
 * unit tests drive them with literal strings. */
#pragma once
#include <stdbool.h>

#include "error.h"

struct init_config {
    char **agent_argv; /* NULL-terminated; from kata.agent= (words), else the agent path */
    bool cgroup_v1;    /* systemd.unified_cgroup_hierarchy=0 */
    bool debug;        /* kata.init_debug */
    /* kata.init_defer_setup: start the agent before the setup containers need, with the
     * handshake of common/initsync.h. Default: on for the built-in agent (it speaks the
     * handshake), off for one named by kata.agent= (it gets the whole setup first). */
    bool defer_setup;
};

/* Returns the next parameter after *cursor and advances it: 1 with *ret_key (and *ret_value,
 * NULL for a bare flag) freshly allocated, or 0 at the end of the line or at a lone "--"
 * (what follows "--" belongs to init's argv, not to the kernel). */
int cmdline_next(const char **cursor, char **ret_key, char **ret_value);

/* Value of the last `key=` (or bare `key`, giving "") on the line; NULL when absent. */
char *cmdline_get(const char *text, const char *key);

/* Interprets a boolean parameter the way upstream's agent does: a bare flag, true/yes/on or a
 * non-zero integer is true; false/no/off or 0 is false. Returns -EINVAL for anything else. */
int cmdline_parse_bool(const char *value, bool *ret);

/* Splits on blanks into a NULL-terminated, allocated vector (free with strv_free); NULL when
 * there are no words. */
char **cmdline_split_words(const char *value);

/* The parameters init_config_parse reads, NULL-terminated (kata-init --list-parameters). */
extern const char *const *const init_config_keys;

/* Fills *ret from a whole command line; on error (a malformed value) nothing is allocated. */
int init_config_parse(const char *text, struct init_config *ret, struct kerr **err);
void init_config_clear(struct init_config *c);
