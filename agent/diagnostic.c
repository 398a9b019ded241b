/* GetDiagnosticData: the runtime asks for a container's termination message when the host
 * cannot read it itself (shared_fs=none with terminationMessagePolicy=File). The file is the
 * source of the mount whose destination is the container's terminationMessagePath
 * annotation; at most 4 KiB of it are returned (Kubernetes' cap), invalid UTF-8 replaced. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "xalloc.h"

#define TERMINATION_PATH_ANNOTATION "io.kubernetes.container.terminationMessagePath"
#define TERMINATION_MAX 4096

#define REQ(type, call) ((type *)(call)->request)

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80         ? 1
                 : (s[0] >> 5) == 6  ? 2
                 : (s[0] >> 4) == 14 ? 3
                 : (s[0] >> 3) == 30 ? 4
                                     : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A protobuf string must be UTF-8: each invalid byte becomes U+FFFD, as Rust's lossy
 * conversion does. */
static char *utf8_lossy(const unsigned char *s, size_t n)
{
    char *out = xmalloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(s + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *termination_source(const Grpc__Spec *spec, const char **ret_path,
                                      const char **ret_err)
{
    const char *path = NULL;
    for (size_t i = 0; spec && i < spec->n_annotations; i++)
        if (strcmp(spec->annotations[i]->key, TERMINATION_PATH_ANNOTATION) == 0)
            path = spec->annotations[i]->value;
    if (!path) {
        *ret_err = "No terminationMessagePath annotation";
        return NULL;
    }
    *ret_path = path;
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i]->destination, path) == 0 && spec->mounts[i]->source[0])
            return spec->mounts[i]->source;
    return NULL;
}

static void termination_log(struct ttrpc_call *call, struct sandbox *sb, const char *cid)
{
    struct container *c = container_find(sb, cid);
    if (!c) {
        ttrpc_reply_error(call, RPC_INTERNAL, "Invalid container id: %s", cid);
        return;
    }
    const char *path = NULL, *msg = NULL;
    const char *source = termination_source(c->spec, &path, &msg);
    if (!source) {
        if (msg)
            ttrpc_reply_error(call, RPC_INTERNAL, "%s", msg);
        else
            ttrpc_reply_error(call, RPC_INTERNAL, "termination message mount not found for %s",
                              path);
        return;
    }
    unsigned char buf[TERMINATION_MAX];
    size_t n = 0;
    cleanup_close int fd = open(source, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        ttrpc_reply_error(call, RPC_INTERNAL, "Failed to read termination log: %s (os error %d)",
                          strerror(errno), errno);
        return;
    }
    while (fd >= 0 && n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ttrpc_reply_error(call, RPC_INTERNAL,
                              "Failed to read termination log: %s (os error %d)", strerror(errno),
                              errno);
            return;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    cleanup_free char *data = utf8_lossy(buf, n);
    Grpc__GetDiagnosticDataResponse resp = GRPC__GET_DIAGNOSTIC_DATA_RESPONSE__INIT;
    resp.data = data;
    ttrpc_reply(call, &resp.base);
}

void diagnostic_get(struct ttrpc_call *call, void *sb)
{
    Grpc__GetDiagnosticDataRequest *req = REQ(Grpc__GetDiagnosticDataRequest, call);
    if (strcmp(req->log_type, "termination_log") != 0) {
        ttrpc_reply_error(call, RPC_INVALID_ARGUMENT, "\"unsupported diagnostic log_type: %s\"",
                          req->log_type);
        return;
    }
    termination_log(call, sb, req->container_id);
}
