/* The on-disk layout of Kata's guest image (osbuilder's image_builder.sh; facts in
 * kata-runtime-facts.md §2.1), written from first principles:
 *
 *   [0, 2 MiB)   DAX header: an MBR whose p1 starts at 3 MiB, and at 4 KiB the nd_pfn info
 *                block that makes the kernel's pmem driver start /dev/pmem0 at 2 MiB
 *   [2 MiB, …)   the plain image: an MBR whose p1 starts at 1 MiB (absolute 3 MiB), the ext4
 *                file system in p1
 *
 * /dev/vda (virtio-blk) reads the first MBR, /dev/pmem0 (NVDIMM, pfn) the second; both find
 * p1 at absolute 3 MiB, which is 2 MiB aligned for DAX. Without the header the image is the
 * plain part alone (p1 at 1 MiB). Pure functions on caller buffers: the unit tests call them
 * directly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAYOUT_MIB (1024ULL * 1024)
#define LAYOUT_SECTOR 512ULL
/* Where p1 starts inside the plain image, the DAX header's size, and the pfn alignment. */
#define LAYOUT_ROOTFS_START (1 * LAYOUT_MIB)
#define LAYOUT_DAX_HEADER (2 * LAYOUT_MIB)
#define LAYOUT_DAX_ALIGN (2 * LAYOUT_MIB)
/* QEMU maps the NVDIMM below hot-plugged DIMMs, which must start on a 128 MiB boundary. */
#define LAYOUT_SIZE_ALIGN (128 * LAYOUT_MIB)
#define LAYOUT_PFN_SB_OFFSET 4096
#define LAYOUT_PFN_SB_SIZE 4096
#define LAYOUT_PFN_CHECKSUM_OFFSET 4088
/* Any fixed value keeps builds identical; "kata" read little-endian. */
#define LAYOUT_DISK_SIGNATURE 0x6174616bU

struct layout {
    bool dax_header;
    uint64_t total;    /* file size, a multiple of LAYOUT_SIZE_ALIGN */
    uint64_t fs_start; /* absolute offset of p1 */
    uint64_t fs_size;  /* p1's size (the file system may be smaller) */
};

/* The smallest layout holding a file system of fs_bytes; -EINVAL when it cannot. */
int layout_plan(uint64_t fs_bytes, bool dax_header, struct layout *ret);

/* A 512-byte MBR with one primary Linux partition (type 0x83) of the given sectors. */
void layout_mbr(uint8_t mbr[512], uint32_t disk_signature, uint64_t start_lba, uint64_t sectors);

/* Linux's nd_fletcher64 over len bytes (a multiple of 4), little-endian 32-bit words. */
uint64_t layout_fletcher64(const void *buf, size_t len);

/* The 4 KiB struct nd_pfn_sb of osbuilder's nsdax tool: signature NVDIMM_PFN_INFO, version
 * 0.2, PFN_MODE_RAM, dataoff and align as given, checksum filled in. */
void layout_pfn_sb(uint8_t sb[LAYOUT_PFN_SB_SIZE], uint64_t dataoff, uint32_t align);
