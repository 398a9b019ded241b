/* kata-host ps: the sandboxes under the run directory, with their owner and VMM pids. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "commands.h"
#include "options.h"
#include "session.h"
#include "xalloc.h"

int cmd_ps(int argc, char **argv)
{
    bool quiet = false;
    int opt;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, options_ps.shortopts, options_ps.longopts, NULL)) != -1) {
        if (opt == 'q') {
            quiet = true;
            continue;
        }
        cleanup_error struct kerr *err = NULL;
        (void)options_bad(argc, argv, opt, &err);
        report_error("ps: %s (usage: kata-host ps [-q])", err->msg);
        return EXIT_KATA_HOST;
    }
    if (optind < argc) {
        report_error("ps: unexpected argument '%s' (usage: kata-host ps [-q])", argv[optind]);
        return EXIT_KATA_HOST;
    }
    const char *base = getenv("KATA_HOST_RUN_DIR");
    if (!base || !*base)
        base = KATA_HOST_RUN_DIR;
    cleanup_dir DIR *d = opendir(base);
    if (!quiet)
        printf("%-24s %-8s %-8s %-8s %-8s %s\n", "NAME", "PID", "VMM_PID", "STATUS", "UPTIME",
               "COMMAND");
    if (!d)
        return errno == ENOENT ? 0 : (report_error("ps: %s: %s", base, strerror(errno)), 1);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        cleanup_free char *dir = xasprintf("%s/%s", base, e->d_name);
        struct session_state st;
        struct kerr *err = NULL;
        if (session_read_state(dir, &st, &err) < 0) {
            error_free(err);
            continue; /* still starting, or not ours */
        }
        bool alive = session_owner_alive(&st);
        if (quiet) {
            if (alive)
                printf("%s\n", st.name);
        } else {
            long up = (long)time(NULL) - st.created;
            char upbuf[32];
            if (up < 120)
                snprintf(upbuf, sizeof(upbuf), "%lds", up);
            else if (up < 7200)
                snprintf(upbuf, sizeof(upbuf), "%ldm", up / 60);
            else
                snprintf(upbuf, sizeof(upbuf), "%ldh", up / 3600);
            printf("%-24s %-8ld %-8ld %-8s %-8s %s\n", st.name, st.pid, st.vmm_pid,
                   alive ? "running" : "dead", upbuf, st.command ? st.command : "");
        }
        session_state_free(&st);
    }
    return 0;
}
