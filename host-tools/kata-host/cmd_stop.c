/* kata-host stop [-t SECONDS] NAME...: asks the owning kata-host to stop the container
 * (SIGTERM, SIGKILL after the grace period) and waits until it has torn everything down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "loop.h"
#include "options.h"
#include "paths.h"
#include "session.h"
#include "xalloc.h"

static int stop_one(const char *name, int grace)
{
    cleanup_free char *dir = session_run_dir(name);
    struct session_state st = {0};
    cleanup_error struct kerr *err = NULL;
    if (!options_valid_name(name) || session_read_state(dir, &st, &err) < 0) {
        report_error("stop: no sandbox named '%s'", name);
        return 1;
    }
    if (!session_owner_alive(&st)) {
        /* Its owner was killed: only the directory is left (the VM died with it). */
        paths_remove_tree(dir);
        session_state_free(&st);
        printf("%s\n", name);
        return 0;
    }
    int fd = session_connect(name, &err);
    if (fd < 0) {
        report_error("stop: %s", err->msg);
        session_state_free(&st);
        return 1;
    }
    struct ttrpc_client *c = ttrpc_client_new(fd);
    char payload[16];
    int len = snprintf(payload, sizeof(payload), "%d", grace);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r = c ? ttrpc_client_call_raw(c, SESSION_SERVICE, "Stop", (const uint8_t *)payload,
                                      (size_t)len, &out, &out_len, 0, &err)
              : make_error(&err, EAGAIN, "start the ttRPC client");
    free(out);
    if (c)
        ttrpc_client_free(c);
    else
        close(fd);
    /* The owner may tear down before answering; what matters is that it is gone. */
    int64_t deadline = loop_now_ns() + (int64_t)(grace + 20) * 1000000000LL;
    while (session_owner_alive(&st) && loop_now_ns() < deadline)
        usleep(20000);
    bool gone = !session_owner_alive(&st);
    session_state_free(&st);
    if (!gone) {
        report_error("stop: sandbox '%s' did not stop%s%s", name, r < 0 ? ": " : "",
                     r < 0 ? err->msg : "");
        return 1;
    }
    printf("%s\n", name);
    return 0;
}

int cmd_stop(int argc, char **argv)
{
    int grace = 10, opt;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, options_stop.shortopts, options_stop.longopts, NULL)) !=
           -1) {
        if (opt == 't') {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 3600) {
                report_error("stop: invalid --time '%s'", optarg);
                return EXIT_KATA_HOST;
            }
            grace = (int)v;
            continue;
        }
        cleanup_error struct kerr *err = NULL;
        (void)options_bad(argc, argv, opt, &err);
        report_error("stop: %s (usage: kata-host stop [-t SECONDS] NAME...)", err->msg);
        return EXIT_KATA_HOST;
    }
    int i = optind;
    if (i >= argc) {
        report_error("stop: no sandbox name given (usage: kata-host stop [-t SECONDS] NAME...)");
        return EXIT_KATA_HOST;
    }
    int code = 0;
    for (; i < argc; i++)
        if (stop_one(argv[i], grace) != 0)
            code = 1;
    return code;
}
