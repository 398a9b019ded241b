/* Subcommands; each returns the process exit status. */
#pragma once

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_pool(int argc, char **argv);

struct options_table;
extern const struct options_table options_pool;

/* Prints "kata-host: <msg>" to stderr. */
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit status for failures of kata-host itself (docker's convention). */
#define EXIT_KATA_HOST 125
