/* The host's TSC rate, for TCG guests: QEMU's TCG hands the guest the host's TSC, but a guest
 * kernel without kvmclock calibrates it against the PIT/HPET, which costs ~50-70 ms of a TCG
 * boot. Passing the rate as `tsc_early_khz=` skips that; the kernel still refines it against
 * the HPET a second later and keeps the refined value when both agree within 1%. */
#pragma once
#include <stdint.h>

/* The host TSC rate in kHz, measured against CLOCK_MONOTONIC_RAW over ~10 ms, or 0 when it
 * cannot serve as a clock (not x86, or /proc/cpuinfo lacks constant_tsc/nonstop_tsc). */
uint32_t tsc_host_khz(void);
/* tsc_host_khz() remembered in `path` (a tmpfs file, so a reboot forgets it): the rate of an
 * invariant TSC does not change while the host runs, and measuring costs 10 ms per boot. */
#define TSC_CACHE_PATH "/run/kata-host/.tsc-khz"
uint32_t tsc_host_khz_cached(const char *path);
/* The same from two (clock ns, tsc) samples; 0 when they make no sense. */
uint32_t tsc_khz_from_samples(int64_t ns0, uint64_t tsc0, int64_t ns1, uint64_t tsc1);
