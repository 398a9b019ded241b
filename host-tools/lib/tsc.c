#include "tsc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define TSC_WINDOW_NS 10000000LL
/* A (clock, tsc, clock) read that took longer than this was interrupted: read again. */
#define TSC_READ_SLACK_NS 2000

uint32_t tsc_khz_from_samples(int64_t ns0, uint64_t tsc0, int64_t ns1, uint64_t tsc1)
{
    if (ns1 <= ns0 || tsc1 <= tsc0)
        return 0;
    double khz = (double)(tsc1 - tsc0) * 1e6 / (double)(ns1 - ns0);
    /* 100 MHz .. 20 GHz: anything else is a broken counter, not a CPU. */
    if (khz < 100000.0 || khz > 20000000.0)
        return 0;
    return (uint32_t)(khz + 0.5);
}

#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static int64_t mono_raw_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A TSC read paired with the clock read around it; false when preempted in between. */
static bool paired_sample(int64_t *ns, uint64_t *tsc)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        int64_t a = mono_raw_ns();
        uint64_t t = read_tsc();
        int64_t b = mono_raw_ns();
        if (b - a <= TSC_READ_SLACK_NS) {
            *ns = a + (b - a) / 2;
            *tsc = t;
            return true;
        }
    }
    return false;
}

static bool invariant_tsc(void)
{
    cleanup_file FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return false;
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        return strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
    }
    return false;
}

uint32_t tsc_host_khz(void)
{
    if (!invariant_tsc())
        return 0;
    int64_t ns0, ns1;
    uint64_t tsc0, tsc1;
    if (!paired_sample(&ns0, &tsc0))
        return 0;
    struct timespec pause = {0, TSC_WINDOW_NS};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
        ;
    if (!paired_sample(&ns1, &tsc1))
        return 0;
    return tsc_khz_from_samples(ns0, tsc0, ns1, tsc1);
}
#else
uint32_t tsc_host_khz(void)
{
    return 0;
}
#endif

uint32_t tsc_host_khz_cached(const char *path)
{
    {
        cleanup_file FILE *f = fopen(path, "re");
        unsigned long v = 0;
        if (f && fscanf(f, "%lu", &v) == 1 && v >= 100000 && v <= 20000000)
            return (uint32_t)v;
    }
    uint32_t khz = tsc_host_khz();
    if (khz == 0)
        return 0;
    cleanup_free char *tmp = NULL;
    if (asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0)
        return khz;
    cleanup_file FILE *f = fopen(tmp, "we");
    if (!f)
        return khz;
    fprintf(f, "%u\n", (unsigned)khz);
    if (fflush(f) == 0)
        rename(tmp, path);
    else
        unlink(tmp);
    return khz;
}
