#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

static void ignore_alarm(int sig)
{
}

static bool run_probe_guest(int kvm, int vm)
{
    /* mov dx, 0x3f8; mov al, 0x4b; out dx, al; hlt */
    static const uint8_t code[] = {0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xf4};
    void *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return false;
    memcpy(mem, code, sizeof(code));
    bool ok = false;
    struct kvm_userspace_memory_region region = {.slot = 0,
                                                 .guest_phys_addr = 0x1000,
                                                 .memory_size = 0x1000,
                                                 .userspace_addr = (uint64_t)(uintptr_t)mem};
    cleanup_close int vcpu = -1;
    long run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 || run_size <= 0 ||
        (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
        munmap(mem, 0x1000);
        return false;
    }
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        munmap(mem, 0x1000);
        return false;
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) == 0 && ioctl(vcpu, KVM_SET_REGS, &regs) == 0) {
        /* A thread-directed timer would be nicer; a process alarm is enough for a probe that
         * runs before any thread exists. */
        struct sigaction sa = {.sa_handler = ignore_alarm}, old;
        sigaction(SIGALRM, &sa, &old);
        alarm(1);
        bool saw_out = false;
        for (int i = 0; i < 4; i++) {
            if (ioctl(vcpu, KVM_RUN, 0) < 0)
                break;
            if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x3f8 &&
                ((uint8_t *)run)[run->io.data_offset] == 0x4b) {
                saw_out = true;
                continue;
            }
            if (run->exit_reason == KVM_EXIT_HLT) {
                ok = saw_out;
                break;
            }
            break;
        }
        alarm(0);
        sigaction(SIGALRM, &old, NULL);
    }
    munmap(run, (size_t)run_size);
    munmap(mem, 0x1000);
    return ok;
}

bool accel_kvm_probe(void)
{
    cleanup_close int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return false;
    if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return false;
    cleanup_close int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return false;
    return run_probe_guest(kvm, vm);
}

enum accel_verdict accel_read_verdict(const char *path)
{
    cleanup_file FILE *f = fopen(path, "re");
    if (!f)
        return ACCEL_VERDICT_UNKNOWN;
    char buf[32] = "";
    if (!fgets(buf, sizeof(buf), f))
        return ACCEL_VERDICT_UNKNOWN;
    if (strncmp(buf, "kvm-ok", 6) == 0)
        return ACCEL_VERDICT_KVM_OK;
    if (strncmp(buf, "kvm-broken", 10) == 0)
        return ACCEL_VERDICT_KVM_BROKEN;
    return ACCEL_VERDICT_UNKNOWN;
}

void accel_record_verdict(const char *path, enum accel_verdict v)
{
    cleanup_free char *tmp = NULL;
    if (asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0)
        return;
    cleanup_file FILE *f = fopen(tmp, "we");
    if (!f)
        return;
    fputs(v == ACCEL_VERDICT_KVM_OK ? "kvm-ok\n" : "kvm-broken\n", f);
    if (fflush(f) == 0)
        rename(tmp, path);
    else
        unlink(tmp);
}

enum accel_mode accel_choose(enum accel_mode requested, const char *verdict_path)
{
    if (requested != ACCEL_AUTO)
        return requested;
    const char *env = getenv("KATA_HOST_ACCEL");
    if (env && strcmp(env, "tcg") == 0)
        return ACCEL_TCG;
    if (env && strcmp(env, "kvm") == 0)
        return ACCEL_KVM;
    if (!accel_kvm_probe())
        return ACCEL_TCG;
    switch (accel_read_verdict(verdict_path)) {
    case ACCEL_VERDICT_KVM_OK:
        return ACCEL_KVM;
    case ACCEL_VERDICT_KVM_BROKEN:
        return ACCEL_TCG;
    default:
        return ACCEL_AUTO;
    }
}

const char *accel_name(enum accel_mode m)
{
    switch (m) {
    case ACCEL_KVM:
        return "kvm";
    case ACCEL_TCG:
        return "tcg";
    default:
        return "auto";
    }
}
