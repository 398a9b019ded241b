#include "layout.h"

#include <errno.h>
#include <string.h>

#define PFN_MODE_RAM 1
#define PFN_SIGNATURE "NVDIMM_PFN_INFO"

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int layout_plan(uint64_t fs_bytes, bool dax_header, struct layout *ret)
{
    uint64_t start = LAYOUT_ROOTFS_START + (dax_header ? LAYOUT_DAX_HEADER : 0);
    if (fs_bytes == 0 || fs_bytes % 4096 != 0 || fs_bytes > UINT32_MAX * LAYOUT_SECTOR)
        return -EINVAL;
    uint64_t total =
        (start + fs_bytes + LAYOUT_SIZE_ALIGN - 1) / LAYOUT_SIZE_ALIGN * LAYOUT_SIZE_ALIGN;
    *ret = (struct layout){
        .dax_header = dax_header,
        .total = total,
        .fs_start = start,
        .fs_size = total - start,
    };
    return 0;
}

/* CHS for an LBA with the 255-head, 63-sector geometry partitioning tools assume; addresses
 * beyond cylinder 1023 saturate, as they do everywhere (the kernel reads the LBA fields). */
static void chs(uint8_t out[3], uint64_t lba)
{
    uint64_t c = lba / (255 * 63), h = (lba / 63) % 255, s = lba % 63 + 1;
    if (c > 1023) {
        c = 1023;
        h = 254;
        s = 63;
    }
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(s | ((c >> 2) & 0xc0));
    out[2] = (uint8_t)c;
}

void layout_mbr(uint8_t mbr[512], uint32_t disk_signature, uint64_t start_lba, uint64_t sectors)
{
    memset(mbr, 0, 512);
    put_le32(mbr + 440, disk_signature);
    uint8_t *e = mbr + 446;
    e[0] = 0x00; /* not active: nothing boots from it */
    chs(e + 1, start_lba);
    e[4] = 0x83;
    chs(e + 5, start_lba + sectors - 1);
    put_le32(e + 8, (uint32_t)start_lba);
    put_le32(e + 12, (uint32_t)sectors);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
}

uint64_t layout_fletcher64(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t lo = 0, hi = 0;
    for (size_t i = 0; i + 4 <= len; i += 4) {
        lo += (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
              (uint32_t)p[i + 3] << 24;
        hi += lo;
    }
    return (uint64_t)hi << 32 | lo;
}

void layout_pfn_sb(uint8_t sb[LAYOUT_PFN_SB_SIZE], uint64_t dataoff, uint32_t align)
{
    memset(sb, 0, LAYOUT_PFN_SB_SIZE);
    memcpy(sb, PFN_SIGNATURE, sizeof(PFN_SIGNATURE)); /* 16 bytes with the NUL */
    /* uuid (16) and parent_uuid (16) stay zero: the kernel accepts a zero parent */
    put_le16(sb + 52, 0); /* version_major */
    put_le16(sb + 54, 2); /* version_minor: align is meaningful */
    put_le64(sb + 56, dataoff);
    put_le32(sb + 72, PFN_MODE_RAM);
    put_le32(sb + 84, align);
    put_le64(sb + LAYOUT_PFN_CHECKSUM_OFFSET, layout_fletcher64(sb, LAYOUT_PFN_SB_SIZE));
}
