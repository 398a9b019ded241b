/* Agent addresses, the hybrid vsock handshake against a fake VMM socket, the virtio-serial
 * hello line, and the KVM verdict file. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "accel.h"
#include "dial.h"
#include "tests/tap.h"

/* A fake VMM: accepts one connection, checks the CONNECT line, answers `reply` (NULL: close
 * without answering; "" : say nothing), then echoes bytes back. */
struct fake {
    int listen_fd;
    const char *reply;
    char got[64];
};

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t n = 0;
    char c;
    while (n < sizeof(f->got) - 1 && read(fd, &c, 1) == 1 && c != '\n')
        f->got[n++] = c;
    f->got[n] = '\0';
    if (f->reply == NULL) {
        close(fd);
        return NULL;
    }
    if (*f->reply == '\0') {
        usleep(400000);
        close(fd);
        return NULL;
    }
    if (write(fd, f->reply, strlen(f->reply)) < 0)
        return NULL;
    char buf[256];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)r) < 0)
            break;
    close(fd);
    return NULL;
}

static char sock_path[108];

static int start_fake(struct fake *f, pthread_t *t)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sock_path, sizeof(sock_path), "/tmp/test-host-dial.%d.sock", (int)getpid());
    strcpy(sa.sun_path, sock_path);
    unlink(sock_path);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->listen_fd, 1) < 0)
        return -1;
    return pthread_create(t, NULL, fake_main, f);
}

static int handshake_with(const char *reply, struct fake *f, int *ret_fd, struct kerr **err)
{
    pthread_t t;
    memset(f, 0, sizeof(*f));
    f->reply = reply;
    if (start_fake(f, &t) != 0)
        return -1;
    struct dial_addr a;
    char addr[160];
    snprintf(addr, sizeof(addr), "hvsock://%s:1024", sock_path);
    int r = dial_parse(addr, &a, err);
    int fd = r < 0 ? r : dial_connect(&a, 200, err);
    if (r == 0)
        dial_addr_free(&a);
    if (fd >= 0 && ret_fd) {
        *ret_fd = fd;
    } else if (fd >= 0) {
        close(fd);
    }
    if (fd >= 0 && ret_fd) {
        /* echo check happens in the caller; finish the fake there */
        ssize_t w = write(fd, "ping", 4);
        char buf[8] = "";
        ssize_t got = w == 4 ? read(fd, buf, 4) : -1;
        shutdown(fd, SHUT_WR);
        if (got != 4 || memcmp(buf, "ping", 4) != 0)
            fd = -EIO;
    }
    pthread_join(t, NULL);
    close(f->listen_fd);
    unlink(sock_path);
    return fd;
}

int main(void)
{
    tap_plan(21);
    struct kerr *err = NULL;
    struct dial_addr a;

    tap_ok(dial_parse("unix:///tmp/a.sock", &a, &err) == 0 && a.kind == DIAL_UNIX &&
               strcmp(a.path, "/tmp/a.sock") == 0,
           "unix:///path");
    dial_addr_free(&a);
    tap_ok(dial_parse("vsock://-1:1024", &a, &err) == 0 && a.kind == DIAL_VSOCK &&
               a.cid == 0xffffffffu && a.port == 1024,
           "vsock://-1:1024 = CID_ANY");
    tap_ok(dial_parse("vsock://42:1025", &a, &err) == 0 && a.cid == 42 && a.port == 1025,
           "vsock://42:1025");
    tap_ok(dial_parse("hvsock:///run/vc/clh.sock:1024", &a, &err) == 0 && a.kind == DIAL_HVSOCK &&
               strcmp(a.path, "/run/vc/clh.sock") == 0 && a.port == 1024,
           "hvsock:///path:port");
    dial_addr_free(&a);
    tap_ok(dial_parse("hvsock:///run/vc/clh.sock", &a, &err) == 0 && a.port == 1024,
           "hvsock without a port defaults to 1024");
    dial_addr_free(&a);
    tap_ok(dial_parse("tcp://1.2.3.4:5", &a, &err) < 0 && err && strstr(err->msg, "unsupported"),
           "unsupported scheme rejected");
    error_freep(&err);
    tap_ok(dial_parse("vsock://3", &a, &err) < 0 && err, "vsock without port rejected");
    error_freep(&err);
    tap_ok(dial_parse("vsock://x:1024", &a, &err) < 0 && err, "vsock with bad CID rejected");
    error_freep(&err);

    struct fake f;
    int fd = -1;
    int r = handshake_with("OK 1073741824\n", &f, &fd, &err);
    tap_ok(r >= 0, "hybrid vsock: OK answer accepted and the stream then carries data (%s)",
           err ? err->msg : "ok");
    tap_ok(strcmp(f.got, "CONNECT 1024") == 0, "hybrid vsock: sent 'CONNECT 1024' (got '%s')",
           f.got);
    if (fd >= 0)
        close(fd);
    error_freep(&err);
    r = handshake_with("ERR no listener\n", &f, NULL, &err);
    tap_ok(r < 0 && err && err->errnum == ECONNREFUSED && strstr(err->msg, "no listener"),
           "hybrid vsock: a refusal is an error naming the answer");
    error_freep(&err);
    r = handshake_with(NULL, &f, NULL, &err);
    tap_ok(r < 0 && err && err->errnum == ECONNRESET, "hybrid vsock: peer closing is ECONNRESET");
    error_freep(&err);
    r = handshake_with("", &f, NULL, &err);
    tap_ok(r < 0 && err && err->errnum == ETIMEDOUT, "hybrid vsock: silence times out");
    error_freep(&err);

    /* The virtio-serial hello line: parsed, and nothing after it is consumed. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    const char hello[] = "KATA-AGENT-READY 412345678\n\x00\x00\x00\x10";
    if (write(sv[1], hello, sizeof(hello) - 1) < 0)
        return 1;
    uint64_t boottime = 0;
    r = dial_read_hello(sv[0], 500, &boottime, &err);
    tap_ok(r == 0 && boottime == 412345678ULL, "hello line parsed (boottime %llu)",
           (unsigned long long)boottime);
    char rest[4];
    tap_ok(read(sv[0], rest, 4) == 4 && rest[3] == 0x10, "bytes after the hello stay unread");
    if (write(sv[1], "KATA-AGENT-READY x\n", 19) < 0)
        return 1;
    r = dial_read_hello(sv[0], 500, &boottime, &err);
    tap_ok(r < 0 && err && err->errnum == EPROTO, "malformed hello rejected");
    error_freep(&err);
    r = dial_read_hello(sv[0], 100, &boottime, &err);
    tap_ok(r < 0 && err && err->errnum == ETIMEDOUT, "no hello: timeout");
    error_freep(&err);
    close(sv[1]);
    r = dial_read_hello(sv[0], 500, &boottime, &err);
    tap_ok(r < 0 && err && err->errnum == ECONNRESET, "closed before hello: ECONNRESET");
    error_freep(&err);
    close(sv[0]);

    /* KVM verdict file. */
    char vpath[64];
    snprintf(vpath, sizeof(vpath), "/tmp/test-host-verdict.%d", (int)getpid());
    unlink(vpath);
    tap_ok(accel_read_verdict(vpath) == ACCEL_VERDICT_UNKNOWN, "no verdict file: unknown");
    accel_record_verdict(vpath, ACCEL_VERDICT_KVM_BROKEN);
    tap_ok(accel_read_verdict(vpath) == ACCEL_VERDICT_KVM_BROKEN &&
               accel_choose(ACCEL_TCG, vpath) == ACCEL_TCG &&
               accel_choose(ACCEL_KVM, vpath) == ACCEL_KVM,
           "recorded verdict read back; explicit choices win");
    accel_record_verdict(vpath, ACCEL_VERDICT_KVM_OK);
    tap_ok(accel_read_verdict(vpath) == ACCEL_VERDICT_KVM_OK, "verdict overwritten atomically");
    unlink(vpath);
    return tap_done();
}
