/* Drives the shim's event publisher and metrics conversion from tests/unit/shim-events.sh (a
 * private containerd and `ctr events`) and the Go cross-check (containerd's own types):
 *
 *   shim-events-tool metrics > any.bin
 *       the sample StatsContainerResponse (shim-metrics-sample.h) as the Metrics Any
 *   shim-events-tool publish --ns NS [--ttrpc ADDR] [--binary BIN --address SOCK]
 *                    [--timeout-ms N] [EVENT...]
 *       publishes each EVENT (or, without any, each line of stdin as it comes, so a test can
 *       restart containerd in between), then stops the publisher and prints
 *       "forwarded N published N dropped N". EVENT: create:ID, start:ID:PID, exit:ID:STATUS,
 *       delete:ID:STATUS, oom:ID, paused:ID, resumed:ID, exec-added:ID:EXEC,
 *       exec-started:ID:EXEC:PID; a line "flush" waits until everything so far is handled. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task-events.pb-c.h"
#include "events.h"
#include "log.h"
#include "metrics.h"
#include "shim-metrics-sample.h"

static int usage(void)
{
    fprintf(stderr, "usage: shim-events-tool metrics\n"
                    "       shim-events-tool publish --ns NS [--ttrpc ADDR] [--binary BIN "
                    "--address SOCK] [--timeout-ms N] [EVENT...]\n");
    return 2;
}

static int cmd_metrics(void)
{
    struct metrics_sample s;
    metrics_sample_fill(&s, true);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    struct kerr *err = NULL;
    if (shim_metrics_any(&s.resp, &any, &err) < 0) {
        fprintf(stderr, "shim-events-tool: %s\n", err->msg);
        error_free(err);
        return 1;
    }
    size_t len = google__protobuf__any__get_packed_size(&any);
    uint8_t *buf = malloc(len ? len : 1);
    google__protobuf__any__pack(&any, buf);
    int ok = fwrite(buf, 1, len, stdout) == len;
    free(buf);
    shim_metrics_any_clear(&any);
    return ok ? 0 : 1;
}

static unsigned parse_u32(const char *s)
{
    return s ? (unsigned)strtoul(s, NULL, 10) : 0;
}

/* Splits "kind:a:b:c" in place into at most 4 parts. */
static size_t split(char *line, char **parts)
{
    size_t n = 0;
    for (char *p = line; n < 4;) {
        parts[n++] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p++ = '\0';
    }
    for (size_t i = n; i < 4; i++)
        parts[i] = NULL;
    return n;
}

static int publish_one(struct shim_events *ev, char *spec)
{
    char *f[4];
    size_t n = split(spec, f);
    if (n < 2 || !*f[1]) {
        fprintf(stderr, "shim-events-tool: bad event '%s'\n", f[0]);
        return -1;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = now.tv_sec;
    ts.nanos = (int32_t)now.tv_nsec;
    const char *kind = f[0];
    char *id = f[1];
    if (strcmp(kind, "create") == 0) {
        Containerd__Events__TaskCreate e = CONTAINERD__EVENTS__TASK_CREATE__INIT;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        char bundle[256];
        snprintf(bundle, sizeof(bundle), "/run/bundles/%s", id);
        e.container_id = id;
        e.bundle = bundle;
        e.io = &io;
        e.pid = 4242;
        shim_events_publish(ev, "/tasks/create", &e.base);
    } else if (strcmp(kind, "start") == 0) {
        Containerd__Events__TaskStart e = CONTAINERD__EVENTS__TASK_START__INIT;
        e.container_id = id;
        e.pid = parse_u32(f[2]);
        shim_events_publish(ev, "/tasks/start", &e.base);
    } else if (strcmp(kind, "exit") == 0) {
        Containerd__Events__TaskExit e = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        e.container_id = id;
        e.id = id;
        e.pid = 4242;
        e.exit_status = parse_u32(f[2]);
        e.exited_at = &ts;
        shim_events_publish(ev, "/tasks/exit", &e.base);
    } else if (strcmp(kind, "delete") == 0) {
        Containerd__Events__TaskDelete e = CONTAINERD__EVENTS__TASK_DELETE__INIT;
        e.container_id = id;
        e.pid = 4242;
        e.exit_status = parse_u32(f[2]);
        e.exited_at = &ts;
        shim_events_publish(ev, "/tasks/delete", &e.base);
    } else if (strcmp(kind, "oom") == 0) {
        Containerd__Events__TaskOOM e = CONTAINERD__EVENTS__TASK_OOM__INIT;
        e.container_id = id;
        shim_events_publish(ev, "/tasks/oom", &e.base);
    } else if (strcmp(kind, "paused") == 0) {
        Containerd__Events__TaskPaused e = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
        e.container_id = id;
        shim_events_publish(ev, "/tasks/paused", &e.base);
    } else if (strcmp(kind, "resumed") == 0) {
        Containerd__Events__TaskResumed e = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
        e.container_id = id;
        shim_events_publish(ev, "/tasks/resumed", &e.base);
    } else if (strcmp(kind, "exec-added") == 0 && f[2]) {
        Containerd__Events__TaskExecAdded e = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
        e.container_id = id;
        e.exec_id = f[2];
        shim_events_publish(ev, "/tasks/exec-added", &e.base);
    } else if (strcmp(kind, "exec-started") == 0 && f[2]) {
        Containerd__Events__TaskExecStarted e = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        e.container_id = id;
        e.exec_id = f[2];
        e.pid = parse_u32(f[3]);
        shim_events_publish(ev, "/tasks/exec-started", &e.base);
    } else {
        fprintf(stderr, "shim-events-tool: unknown event '%s'\n", kind);
        return -1;
    }
    return 0;
}

static int cmd_publish(int argc, char **argv)
{
    const char *ns = NULL, *ttrpc = NULL, *binary = NULL, *address = NULL;
    int timeout_ms = 10000;
    int i = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *val = argv[++i];
        if (strcmp(opt, "--ns") == 0)
            ns = val;
        else if (strcmp(opt, "--ttrpc") == 0)
            ttrpc = val;
        else if (strcmp(opt, "--binary") == 0)
            binary = val;
        else if (strcmp(opt, "--address") == 0)
            address = val;
        else if (strcmp(opt, "--timeout-ms") == 0)
            timeout_ms = atoi(val);
        else
            return usage();
    }
    struct kerr *err = NULL;
    struct shim_events *ev = shim_events_new(ns, ttrpc, binary, address, &err);
    if (!ev) {
        fprintf(stderr, "shim-events-tool: %s\n", err ? err->msg : "?");
        error_free(err);
        return 1;
    }
    int rc = 0;
    if (i < argc) {
        for (; i < argc; i++)
            if (publish_one(ev, argv[i]) < 0)
                rc = 2;
    } else {
        char line[512];
        while (fgets(line, sizeof(line), stdin)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!*line)
                continue;
            if (strcmp(line, "flush") == 0) {
                bool idle = shim_events_flush(ev, timeout_ms);
                printf("flushed %s\n", idle ? "yes" : "no");
                fflush(stdout);
            } else if (publish_one(ev, line) < 0) {
                rc = 2;
            }
        }
    }
    if (!shim_events_flush(ev, timeout_ms))
        rc = rc ? rc : 1;
    struct shim_events_stats st;
    shim_events_get_stats(ev, &st);
    shim_events_free(ev, 1000);
    printf("forwarded %lu published %lu dropped %lu\n", st.forwarded, st.published, st.dropped);
    return rc;
}

int main(int argc, char **argv)
{
    log_init("shim-events-tool", "shim", 2);
    if (argc >= 2 && strcmp(argv[1], "metrics") == 0)
        return cmd_metrics();
    if (argc >= 2 && strcmp(argv[1], "publish") == 0)
        return cmd_publish(argc - 2, argv + 2);
    return usage();
}
