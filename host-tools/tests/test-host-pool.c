/* The VM pool's client side against a scripted daemon on a real socket: taking a VM (its
 * descriptors and fields), the answers that are not a VM, and an adopted VM's exit status
 * arriving from its keeper. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pool.h"
#include "tests/tap.h"
#include "vm.h"

/* What the fake daemon answers, connection by connection (NULL: hang up). */
struct step {
    const char *reply;
    bool pass_fd;
    const char *later; /* sent after the reply, on the same connection */
};
static const struct step steps[] = {
    {"NONE is empty (refilling)", false, NULL},
    {"VM 4242 1500000000 9 412 /tmp/pool dir/pool-7", true, "EXIT 2304"},
    {"VM x y", true, NULL},
    {"VM 5 6 7 -1 /d", false, NULL},
    {NULL, false, NULL},
};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))
static int listen_fd;
static char requests[N_STEPS][64];

static void *fake_daemon(void *arg)
{
    for (size_t i = 0; i < N_STEPS; i++) {
        int c = accept(listen_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        ssize_t n = recv(c, requests[i], sizeof(requests[i]) - 1, 0);
        if (n > 0)
            requests[i][n] = '\0';
        if (steps[i].reply) {
            int p[2] = {-1, -1};
            if (steps[i].pass_fd && pipe(p) < 0)
                return NULL;
            (void)pool_send(c, steps[i].reply, p[0], NULL);
            if (steps[i].later) {
                usleep(50000);
                (void)pool_send(c, steps[i].later, -1, NULL);
                char buf[8];
                (void)recv(c, buf, sizeof(buf), 0); /* until the taker closes */
            }
            if (p[0] >= 0) {
                close(p[0]);
                close(p[1]);
            }
        }
        close(c);
    }
    return NULL;
}

int main(void)
{
    tap_plan(18);
    char dir[] = "/tmp/test-pool.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    setenv("KATA_HOST_RUN_DIR", dir, 1);
    char *pdir = pool_dir();
    char want[128];
    snprintf(want, sizeof(want), "%s/pool", dir);
    tap_is_str(pdir, want, "the pool lives in <run dir>/pool");

    struct pool_vm v;
    struct kerr *err = NULL;
    int r = pool_take("k1", &v, &err);
    tap_ok(r < 0 && err && strstr(err->msg, "no VM pool runs"), "no daemon: '%s'",
           err ? err->msg : "");
    error_freep(&err);

    mkdir(pdir, 0700);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" POOL_SOCKET, pdir);
    listen_fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 4) < 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, fake_daemon, NULL);

    r = pool_take("k1", &v, &err);
    tap_ok(r == -EAGAIN && err && strstr(err->msg, "is empty"), "NONE: '%s'", err ? err->msg : "");
    error_freep(&err);

    r = pool_take("key-2", &v, &err);
    tap_ok(r == 0, "a VM is taken (%s)", err ? err->msg : "");
    tap_ok(v.qemu_pid == 4242 && v.hello_boottime_ns == 1500000000ULL && v.next_stream_id == 9,
           "pid, hello time and next stream id");
    tap_ok(v.warm_ms == 412, "how long the keeper's warm-up took");
    tap_is_str(v.dir, "/tmp/pool dir/pool-7", "the VM directory, spaces kept");
    tap_ok(v.agent_fd >= 0 && v.ctrl_fd >= 0, "the agent channel arrives with the answer");
    /* The keeper reports QEMU's exit on the connection the VM came with. */
    struct vm vm = {0};
    r = vm_adopt(&vm, v.qemu_pid, v.ctrl_fd, "/nonexistent/console.log", &err);
    v.ctrl_fd = -1;
    tap_ok(r == 0, "adopted");
    tap_ok(vm_wait(&vm, 5000) && !vm_running(&vm), "the keeper's EXIT ends the adopted VM");
    char *how = vm_exit_text(&vm);
    tap_is_str(how, "exited with status 9", "its wait status");
    free(how);
    vm_stop(&vm);
    free(vm.console_log_path);
    pool_vm_free(&v);
    tap_is_str(requests[1], "TAKE key-2", "the request names the configuration");

    r = pool_take("k1", &v, &err);
    tap_ok(r == -EPROTO && err && strstr(err->msg, "answered 'VM x y'"), "garbage: '%s'",
           err ? err->msg : "");
    error_freep(&err);
    r = pool_take("k1", &v, &err);
    tap_ok(r == -EPROTO, "a VM without its channel is refused (%s)", err ? err->msg : "");
    tap_ok(v.agent_fd < 0 && v.ctrl_fd < 0, "nothing is left open on failure");
    error_freep(&err);
    r = pool_take("k1", &v, &err);
    tap_ok(r == -EAGAIN && err && strstr(err->msg, "closed"), "a hang-up: '%s'",
           err ? err->msg : "");
    error_freep(&err);
    pthread_join(t, NULL);

    close(listen_fd);
    char *text = NULL;
    r = pool_request("STATUS", 500, &text, &err);
    tap_ok(r == -ECONNREFUSED && err && strstr(err->msg, "no VM pool runs"),
           "a socket left without a daemon: '%s'", err ? err->msg : "");
    tap_ok(text == NULL, "and no answer");
    error_freep(&err);
    unlink(sa.sun_path);
    rmdir(pdir);
    rmdir(dir);
    free(pdir);
    return tap_done();
}
