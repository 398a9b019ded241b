/* Seccomp from the OCI spec (linux.seccomp), compiled by us into classic BPF.
 *
 * The semantics follow libseccomp as crun and upstream's agent use it (crun is the test
 * oracle): syscall names unknown on the architecture are skipped (profiles name syscalls that
 * do not exist everywhere); an unknown action, operator, architecture or flag is refused; a
 * syscall with an unconditional rule takes that rule's action whatever its conditional rules
 * say; conditional rules of one syscall are alternatives (first match, in libseccomp's
 * order: see goes_before() in seccomp.c), the comparisons of one rule must all hold; 64-bit
 * arguments are compared as two 32-bit halves; a rule whose action is the default action is dropped
 * (libseccomp refuses it); a system call made with another architecture's calling convention (i386,
 * x32) is killed. */
#pragma once
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci.pb-c.h"

struct seccomp_prog {
    struct sock_filter *insns;
    size_t len;
    unsigned flags; /* SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER) */
};

/* The AUDIT_ARCH_* of the architecture this program runs on (0 if it has no table). */
uint32_t seccomp_native_arch(void);

/* The number of a syscall name on an architecture (AUDIT_ARCH_X86_64 or AUDIT_ARCH_AARCH64),
 * -1 if the name is unknown there. */
int seccomp_syscall_number(uint32_t audit_arch, const char *name);

/* Compiles a profile for audit_arch. Errors are INVALID_ARGUMENT naming the bad value. */
int seccomp_compile(const Grpc__LinuxSeccomp *s, uint32_t audit_arch, struct seccomp_prog *ret,
                    struct kerr **err);

/* Loads the program into the calling thread (it needs no_new_privs or CAP_SYS_ADMIN). */
int seccomp_install(const struct seccomp_prog *p, struct kerr **err);

void seccomp_prog_free(struct seccomp_prog *p);
