/* kata-image-layout: puts a file system image into Kata's disk image layout (layout.h).
 *
 *   kata-image-layout [--no-dax-header] --fs-size BYTES
 *       prints the size p1 gets for a file system of at least BYTES (the rest of the last
 *       128 MiB step), so the file system can be made to fill it
 *   kata-image-layout [--no-dax-header] FS_IMAGE OUT
 *       writes OUT: MBR(s), the nd_pfn info block, FS_IMAGE at p1; holes stay holes
 *
 * Build-host tool; the output depends only on FS_IMAGE's bytes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "layout.h"

#define CHUNK (64 * 1024)

static int write_at(int fd, const void *buf, size_t len, uint64_t off, struct kerr **err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_error(err, errno, "write at %" PRIu64, off);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static int copy_fs(int in, int out, uint64_t size, uint64_t at, struct kerr **err)
{
    static uint8_t buf[CHUNK];
    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        ssize_t n = pread(in, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return make_error(err, n < 0 ? errno : EIO, "read the file system at %" PRIu64, off);
        if (!all_zero(buf, (size_t)n)) {
            int r = write_at(out, buf, (size_t)n, at + off, err);
            if (r < 0)
                return r;
        }
        off += (uint64_t)n;
    }
    return 0;
}

static int assemble(const char *fs_path, const char *out_path, bool dax, struct kerr **err)
{
    cleanup_close int in = open(fs_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return make_error(err, errno, "open %s", fs_path);
    struct stat st;
    if (fstat(in, &st) < 0)
        return make_error(err, errno, "stat %s", fs_path);
    struct layout l;
    if (layout_plan((uint64_t)st.st_size, dax, &l) < 0)
        return make_error(err, EINVAL, "%s: size %lld is not a usable file system size", fs_path,
                          (long long)st.st_size);
    cleanup_close int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return make_error(err, errno, "create %s", out_path);
    if (ftruncate(out, (off_t)l.total) < 0)
        return make_error(err, errno, "size %s", out_path);

    uint8_t mbr[512];
    uint64_t sectors = l.fs_size / LAYOUT_SECTOR;
    /* The plain image's MBR: p1 at 1 MiB of the plain image. */
    uint64_t plain = dax ? LAYOUT_DAX_HEADER : 0;
    layout_mbr(mbr, LAYOUT_DISK_SIGNATURE, LAYOUT_ROOTFS_START / LAYOUT_SECTOR, sectors);
    int r = write_at(out, mbr, sizeof(mbr), plain, err);
    if (r < 0)
        return r;
    if (dax) {
        /* The header's MBR: the same p1, seen from the start of the file. */
        layout_mbr(mbr, LAYOUT_DISK_SIGNATURE, l.fs_start / LAYOUT_SECTOR, sectors);
        if ((r = write_at(out, mbr, sizeof(mbr), 0, err)) < 0)
            return r;
        uint8_t sb[LAYOUT_PFN_SB_SIZE];
        layout_pfn_sb(sb, LAYOUT_DAX_HEADER, (uint32_t)LAYOUT_DAX_ALIGN);
        if ((r = write_at(out, sb, sizeof(sb), LAYOUT_PFN_SB_OFFSET, err)) < 0)
            return r;
    }
    if ((r = copy_fs(in, out, (uint64_t)st.st_size, l.fs_start, err)) < 0)
        return r;
    if (fsync(out) < 0)
        return make_error(err, errno, "sync %s", out_path);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kata-image-layout [--no-dax-header] --fs-size BYTES\n"
                    "       kata-image-layout [--no-dax-header] FS_IMAGE OUT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-dax-header", no_argument, NULL, 'n'},
        {"fs-size", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    bool dax = true;
    const char *want = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            dax = false;
            break;
        case 's':
            want = optarg;
            break;
        default:
            usage();
        }
    }
    if (want) {
        char *end;
        errno = 0;
        unsigned long long bytes = strtoull(want, &end, 10);
        struct layout l;
        /* Round the request up to whole 4 KiB blocks before planning. */
        if (errno || *end || end == want ||
            layout_plan((bytes + 4095) / 4096 * 4096, dax, &l) < 0) {
            fprintf(stderr, "kata-image-layout: --fs-size %s: not a usable size\n", want);
            return 2;
        }
        printf("%" PRIu64 "\n", l.fs_size);
        return 0;
    }
    if (argc - optind != 2)
        usage();
    cleanup_error struct kerr *err = NULL;
    if (assemble(argv[optind], argv[optind + 1], dax, &err) < 0) {
        fprintf(stderr, "kata-image-layout: %s\n", err->msg);
        unlink(argv[optind + 1]);
        return 1;
    }
    return 0;
}
