/* GetVolumeStats and ResizeVolume, reached through `kata-runtime direct-volume stats|resize`.
 * Stats are statfs(2) figures as upstream reports them: bytes from the free block count
 * (f_bfree, not f_bavail) and inodes; an unopenable path fails with the Debug text of Rust's
 * io::Error, which is what upstream's message is. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "csi.pb-c.h"

#define REQ(type, call) ((type *)(call)->request)

/* Rust's std::io::ErrorKind for an errno, as its Debug output names it. */
static const char *io_error_kind(int e)
{
    switch (e) {
    case ENOENT:
        return "NotFound";
    case EACCES:
    case EPERM:
        return "PermissionDenied";
    case ENOTDIR:
        return "NotADirectory";
    case EISDIR:
        return "IsADirectory";
    case ELOOP:
        return "FilesystemLoop";
    case ENAMETOOLONG:
        return "InvalidFilename";
    case EINVAL:
        return "InvalidInput";
    default:
        return "Uncategorized";
    }
}

void volume_stats(struct ttrpc_call *call, void *sb)
{
    Grpc__VolumeStatsRequest *req = REQ(Grpc__VolumeStatsRequest, call);
    cleanup_close int fd = open(req->volume_guest_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        ttrpc_reply_error(call, RPC_INTERNAL, "Os { code: %d, kind: %s, message: \"%s\" }", e,
                          io_error_kind(e), strerror(e));
        return;
    }
    struct statfs st;
    if (fstatfs(fd, &st) < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "%s", strerror(errno));
        return;
    }
    Grpc__VolumeUsage bytes = GRPC__VOLUME_USAGE__INIT, inodes = GRPC__VOLUME_USAGE__INIT;
    bytes.total = (uint64_t)st.f_blocks * (uint64_t)st.f_bsize;
    bytes.available = (uint64_t)st.f_bfree * (uint64_t)st.f_bsize;
    bytes.used = bytes.total - bytes.available;
    bytes.unit = GRPC__VOLUME_USAGE__UNIT__BYTES;
    inodes.total = st.f_files;
    inodes.available = st.f_ffree;
    inodes.used = inodes.total - inodes.available;
    inodes.unit = GRPC__VOLUME_USAGE__UNIT__INODES;
    Grpc__VolumeUsage *usage[] = {&bytes, &inodes};
    Grpc__VolumeCondition cond = GRPC__VOLUME_CONDITION__INIT;
    cond.abnormal = false;
    cond.message = "OK";
    Grpc__VolumeStatsResponse resp = GRPC__VOLUME_STATS_RESPONSE__INIT;
    resp.n_usage = 2;
    resp.usage = usage;
    resp.volume_condition = &cond;
    ttrpc_reply(call, &resp.base);
}

void volume_resize(struct ttrpc_call *call, void *sb)
{
    /* upstream's text, quoted as its error formatting quotes a plain string */
    ttrpc_reply_error(call, RPC_UNIMPLEMENTED,
                      "\"resize_volume is not implemented in kata-agent\"");
}
