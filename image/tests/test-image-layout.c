/* image/layout.c: the plan's sizes, the MBR's fields, the nd_pfn info block and its
 * fletcher64, against values worked out by hand from the kernel's definitions. */
#include <stdint.h>
#include <string.h>

#include "image/layout.h"
#include "tests/tap.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int main(void)
{
    struct layout l;
    tap_ok(layout_plan(40 * LAYOUT_MIB, true, &l) == 0 && l.total == 128 * LAYOUT_MIB &&
               l.fs_start == 3 * LAYOUT_MIB && l.fs_size == 125 * LAYOUT_MIB,
           "40 MiB with the DAX header: 128 MiB image, p1 at 3 MiB, 125 MiB long");
    tap_ok(layout_plan(125 * LAYOUT_MIB + 4096, true, &l) == 0 && l.total == 256 * LAYOUT_MIB,
           "one block more than fits goes to the next 128 MiB step");
    tap_ok(layout_plan(40 * LAYOUT_MIB, false, &l) == 0 && l.total == 128 * LAYOUT_MIB &&
               l.fs_start == LAYOUT_MIB && l.fs_size == 127 * LAYOUT_MIB,
           "without the header p1 starts at 1 MiB");
    tap_ok(layout_plan(0, true, &l) < 0 && layout_plan(1000, true, &l) < 0,
           "an empty or partial-block file system is refused");

    uint8_t mbr[512];
    layout_mbr(mbr, 0x11223344, 6144, 256000);
    tap_ok(le32(mbr + 440) == 0x11223344 && mbr[510] == 0x55 && mbr[511] == 0xaa,
           "MBR: disk signature and boot signature");
    tap_ok(mbr[446] == 0 && mbr[450] == 0x83 && le32(mbr + 454) == 6144 &&
               le32(mbr + 458) == 256000,
           "MBR: p1 is a Linux partition at LBA 6144 of 256000 sectors");
    /* LBA 6144 = cylinder 0, head 97, sector 34 with 255 heads and 63 sectors. */
    tap_ok(mbr[447] == 97 && mbr[448] == 34 && mbr[449] == 0, "MBR: CHS of the start");
    static const uint8_t zero[48];
    tap_ok(memcmp(mbr + 462, zero, 48) == 0, "MBR: entries 2-4 are empty");

    /* Words 1, 2, 3: lo = 1, 3, 6; hi = 1, 4, 10. */
    const uint8_t words[12] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
    tap_ok(layout_fletcher64(words, sizeof(words)) == (10ULL << 32 | 6), "fletcher64 by hand");
    /* 0xffffffff twice: lo wraps to 0xfffffffe, hi = 0xffffffff + 0xfffffffe mod 2^32. */
    const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    tap_ok(layout_fletcher64(ones, sizeof(ones)) == (0xfffffffdULL << 32 | 0xfffffffe),
           "fletcher64 sums wrap at 32 bits");

    uint8_t sb[LAYOUT_PFN_SB_SIZE];
    layout_pfn_sb(sb, 2 * LAYOUT_MIB, 2 * LAYOUT_MIB);
    tap_ok(memcmp(sb, "NVDIMM_PFN_INFO\0", 16) == 0, "pfn: signature");
    tap_ok(sb[52] == 0 && sb[53] == 0 && sb[54] == 2 && sb[55] == 0, "pfn: version 0.2");
    tap_ok(le64(sb + 56) == 2 * LAYOUT_MIB && le32(sb + 72) == 1 && le32(sb + 84) == 2 * LAYOUT_MIB,
           "pfn: dataoff 2 MiB, mode RAM, align 2 MiB");
    uint64_t stored = le64(sb + LAYOUT_PFN_CHECKSUM_OFFSET);
    memset(sb + LAYOUT_PFN_CHECKSUM_OFFSET, 0, 8);
    tap_ok(stored != 0 && stored == layout_fletcher64(sb, sizeof(sb)),
           "pfn: checksum over the block with the field zeroed");
    return tap_done();
}
