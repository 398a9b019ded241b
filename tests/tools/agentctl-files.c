/* agentctl's CopyFile, GetMetrics and Get/SetIPTables subcommands.
 *
 *   copy-file [--mode M] [--dir-mode M] [--uid U] [--gid G] [--size N] [--offset N]
 *             [--data STR] DEST          one raw request (modes in octal, with type bits)
 *   push LOCAL DEST [--uid U] [--gid G]  what the runtime does for one file, directory or
 *                                        symlink: lstat, then 1 MiB chunks at increasing offsets
 *   metrics                              prints the exposition text
 *   get-iptables [--ipv6]                prints iptables-save's output
 *   set-iptables [--ipv6]                feeds agentctl's stdin to iptables-restore */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agentctl.h"
#include "ttrpc.h"
#include "xalloc.h"

#define AGENT_SVC "grpc.AgentService"
/* the runtime's chunk size (grpcMaxDataSize) and directory mode (0750 | os.ModeDir) */
#define CHUNK (1 << 20)
#define RUNTIME_DIR_MODE 0x800001E8u

static void copy(struct ttrpc_client *client, int64_t tmo, Grpc__CopyFileRequest *req)
{
    ProtobufCMessage *r = agentctl_call(client, AGENT_SVC, "CopyFile", &req->base, NULL, tmo);
    if (r)
        protobuf_c_message_free_unpacked(r, NULL);
}

static uint8_t *slurp(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;) {
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static int push(struct ttrpc_client *client, int64_t tmo, const char *local, const char *dest,
                long uid, long gid)
{
    struct stat st;
    if (lstat(local, &st) < 0) {
        fprintf(stderr, "agentctl: %s: %s\n", local, strerror(errno));
        return 1;
    }
    Grpc__CopyFileRequest req = GRPC__COPY_FILE_REQUEST__INIT;
    req.path = (char *)dest;
    req.file_mode = st.st_mode;
    req.dir_mode = RUNTIME_DIR_MODE;
    req.uid = (int32_t)(uid >= -1 ? uid : (long)st.st_uid);
    req.gid = (int32_t)(gid >= -1 ? gid : (long)st.st_gid);
    if (S_ISDIR(st.st_mode)) {
        copy(client, tmo, &req);
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(local, target, sizeof(target));
        if (n < 0) {
            fprintf(stderr, "agentctl: readlink %s: %s\n", local, strerror(errno));
            return 1;
        }
        req.data.data = (uint8_t *)target;
        req.data.len = (size_t)n;
        copy(client, tmo, &req);
        return 0;
    }
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "agentctl: %s: %s\n", local, strerror(errno));
        return 1;
    }
    size_t len;
    uint8_t *buf = slurp(fd, &len);
    close(fd);
    req.file_size = (int64_t)len;
    size_t off = 0;
    do { /* an empty file is one request */
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        req.offset = (int64_t)off;
        req.data.data = buf + off;
        req.data.len = n;
        copy(client, tmo, &req);
        off += n;
    } while (off < len);
    free(buf);
    return 0;
}

/* Runs argv[0] if it is one of these subcommands and returns the exit code; -1 otherwise. */
int agentctl_files(struct ttrpc_client *client, int64_t tmo, int argc, char **argv)
{
    static const struct option lo[] = {
        {"mode", 1, 0, 'm'}, {"dir-mode", 1, 0, 'D'}, {"uid", 1, 0, 'u'},
        {"gid", 1, 0, 'g'},  {"size", 1, 0, 's'},     {"offset", 1, 0, 'o'},
        {"data", 1, 0, 'd'}, {"ipv6", 0, 0, '6'},     {0, 0, 0, 0},
    };
    const char *cmd = argv[0];
    if (strcmp(cmd, "copy-file") && strcmp(cmd, "push") && strcmp(cmd, "metrics") &&
        strcmp(cmd, "get-iptables") && strcmp(cmd, "set-iptables"))
        return -1;
    Grpc__CopyFileRequest req = GRPC__COPY_FILE_REQUEST__INIT;
    req.file_mode = 0100644;
    req.dir_mode = RUNTIME_DIR_MODE;
    long uid = -2, gid = -2; /* push: the local file's unless given */
    bool ipv6 = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (c) {
        case 'm':
            req.file_mode = (uint32_t)strtoul(optarg, NULL, 8);
            break;
        case 'D':
            req.dir_mode = (uint32_t)strtoul(optarg, NULL, 8);
            break;
        case 'u':
            uid = strtol(optarg, NULL, 10);
            break;
        case 'g':
            gid = strtol(optarg, NULL, 10);
            break;
        case 's':
            req.file_size = strtoll(optarg, NULL, 10);
            break;
        case 'o':
            req.offset = strtoll(optarg, NULL, 10);
            break;
        case 'd':
            req.data.data = (uint8_t *)optarg;
            req.data.len = strlen(optarg);
            break;
        case '6':
            ipv6 = true;
            break;
        default:
            fprintf(stderr, "agentctl: %s: bad option\n", cmd);
            return 64;
        }
    }
    if (strcmp(cmd, "copy-file") == 0) {
        if (optind >= argc) {
            fprintf(stderr, "agentctl: copy-file DEST\n");
            return 64;
        }
        req.path = argv[optind];
        req.uid = (int32_t)(uid >= -1 ? uid : 0);
        req.gid = (int32_t)(gid >= -1 ? gid : 0);
        copy(client, tmo, &req);
    } else if (strcmp(cmd, "push") == 0) {
        if (optind + 2 > argc) {
            fprintf(stderr, "agentctl: push LOCAL DEST\n");
            return 64;
        }
        return push(client, tmo, argv[optind], argv[optind + 1], uid, gid);
    } else if (strcmp(cmd, "metrics") == 0) {
        Grpc__GetMetricsRequest mreq = GRPC__GET_METRICS_REQUEST__INIT;
        Grpc__Metrics *r = (Grpc__Metrics *)agentctl_call(
            client, AGENT_SVC, "GetMetrics", &mreq.base, &grpc__metrics__descriptor, tmo);
        fputs(r->metrics, stdout);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else if (strcmp(cmd, "get-iptables") == 0) {
        Grpc__GetIPTablesRequest greq = GRPC__GET_IPTABLES_REQUEST__INIT;
        greq.is_ipv6 = ipv6;
        Grpc__GetIPTablesResponse *r = (Grpc__GetIPTablesResponse *)agentctl_call(
            client, AGENT_SVC, "GetIPTables", &greq.base, &grpc__get_iptables_response__descriptor,
            tmo);
        fwrite(r->data.data, 1, r->data.len, stdout);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    } else {
        Grpc__SetIPTablesRequest sreq = GRPC__SET_IPTABLES_REQUEST__INIT;
        sreq.is_ipv6 = ipv6;
        sreq.data.data = slurp(0, &sreq.data.len);
        Grpc__SetIPTablesResponse *r = (Grpc__SetIPTablesResponse *)agentctl_call(
            client, AGENT_SVC, "SetIPTables", &sreq.base, &grpc__set_iptables_response__descriptor,
            tmo);
        fwrite(r->data.data, 1, r->data.len, stdout);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        free(sreq.data.data);
    }
    return 0;
}
