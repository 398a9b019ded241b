/* agent/linux/seccomp: the OCI-profile-to-BPF compiler. The programs run through a small
 * classic-BPF interpreter written here (for both architectures, whatever the host), the
 * 64-bit comparisons are checked against C's own on boundary values, and one program is
 * loaded into the kernel in a forked child. TAP output. */
#include "tests/tap.h"
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/linux/seccomp.h"
#include "cleanup.h"
#include "ttrpc.h"
#include "xalloc.h"

/* ---------------------------------------------------------------- interpreter */

/* Runs a program as the kernel would; returns its return value, or 0xdead0000 | pc for a
 * program the kernel would refuse or that runs off its end. */
static uint32_t run(const struct seccomp_prog *p, const struct seccomp_data *d)
{
    uint32_t a = 0;
    for (size_t pc = 0; pc < p->len; pc++) {
        const struct sock_filter *f = &p->insns[pc];
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (f->k > sizeof(*d) - 4 || f->k % 4)
                return 0xdead0000 | (uint32_t)pc;
            memcpy(&a, (const char *)d + f->k, 4);
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            a &= f->k;
            break;
        case BPF_RET | BPF_K:
            return f->k;
        case BPF_JMP | BPF_JA:
            pc += f->k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == f->k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGT | BPF_K:
            pc += a > f->k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += a >= f->k ? f->jt : f->jf;
            break;
        default:
            return 0xdead0000 | (uint32_t)pc;
        }
    }
    return 0xdead0000 | 0xffff;
}

static uint32_t call(const struct seccomp_prog *p, uint32_t arch, int nr, uint64_t a0, uint64_t a1)
{
    struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1}};
    return run(p, &d);
}

/* ---------------------------------------------------------------- profile builder */

static Grpc__LinuxSeccomp *profile(const char *def)
{
    Grpc__LinuxSeccomp *s = xmalloc(sizeof(*s));
    grpc__linux_seccomp__init(s);
    s->defaultaction = (char *)def;
    s->syscalls = xcalloc(1024, sizeof(*s->syscalls));
    return s;
}

/* rule(s, action, errnoret or -1, "name,name", nargs, {index, op, value, value2}...) */
static Grpc__LinuxSyscall *rule(Grpc__LinuxSeccomp *s, const char *action, long errnoret,
                                const char *names, int nargs, ...)
{
    Grpc__LinuxSyscall *r = xmalloc(sizeof(*r));
    grpc__linux_syscall__init(r);
    r->action = (char *)action;
    if (errnoret >= 0) {
        r->errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
        r->errnoret = (uint32_t)errnoret;
    }
    r->names = xcalloc(64, sizeof(char *));
    char *copy = xstrdup(names);
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","))
        r->names[r->n_names++] = t;
    r->args = xcalloc(8, sizeof(*r->args));
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        Grpc__LinuxSeccompArg *a = xmalloc(sizeof(*a));
        grpc__linux_seccomp_arg__init(a);
        a->index = va_arg(ap, unsigned);
        a->op = va_arg(ap, char *);
        a->value = va_arg(ap, uint64_t);
        a->valuetwo = va_arg(ap, uint64_t);
        r->args[r->n_args++] = a;
    }
    va_end(ap);
    s->syscalls[s->n_syscalls++] = r;
    return r;
}

static void push_str(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(char *));
    (*v)[(*n)++] = (char *)s;
}

static void profile_free(Grpc__LinuxSeccomp *s)
{
    for (size_t i = 0; i < s->n_syscalls; i++) {
        Grpc__LinuxSyscall *r = s->syscalls[i];
        if (r->n_names)
            free(r->names[0]); /* the strtok copy */
        free(r->names);
        for (size_t j = 0; j < r->n_args; j++)
            free(r->args[j]);
        free(r->args);
        free(r);
    }
    free(s->syscalls);
    free(s->architectures);
    free(s->flags);
    free(s);
}

static int compile(const Grpc__LinuxSeccomp *s, uint32_t arch, struct seccomp_prog *p, char **msg)
{
    cleanup_error struct kerr *err = NULL;
    int r = seccomp_compile(s, arch, p, &err);
    if (msg)
        *msg = r < 0 ? xasprintf("%d %s", error_status(err), err->msg) : NULL;
    return r;
}

#define ERRNO(e) (SECCOMP_RET_ERRNO | (e))
static const uint32_t archs[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64};
static const char *arch_name(uint32_t a)
{
    return a == AUDIT_ARCH_X86_64 ? "x86_64" : "aarch64";
}
static int nr_of(uint32_t arch, const char *name)
{
    return seccomp_syscall_number(arch, name);
}

/* ---------------------------------------------------------------- tests */

static void test_tables(void)
{
    tap_ok(nr_of(AUDIT_ARCH_X86_64, "getpid") == 39, "x86_64 getpid is 39");
    tap_ok(nr_of(AUDIT_ARCH_X86_64, "open") == 2, "x86_64 open is 2");
    tap_ok(nr_of(AUDIT_ARCH_AARCH64, "getpid") == 172, "aarch64 getpid is 172");
    tap_ok(nr_of(AUDIT_ARCH_AARCH64, "fcntl") == 25, "aarch64 fcntl is 25 (alias resolved)");
    tap_ok(nr_of(AUDIT_ARCH_AARCH64, "open") == -1, "aarch64 has no open");
    tap_ok(nr_of(AUDIT_ARCH_X86_64, "no_such_call") == -1, "unknown name: -1");
    tap_ok(nr_of(AUDIT_ARCH_X86_64, "clone3") == 435 && nr_of(AUDIT_ARCH_AARCH64, "clone3") == 435,
           "clone3 is 435 on both");
#ifdef __x86_64__
    tap_ok(seccomp_native_arch() == AUDIT_ARCH_X86_64 &&
               nr_of(AUDIT_ARCH_X86_64, "getppid") == SYS_getppid,
           "native table agrees with the C library");
#endif
}

static void test_actions(void)
{
    Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
    rule(s, "SCMP_ACT_ERRNO", 7, "getppid,no_such_call", 0);
    rule(s, "SCMP_ACT_ERRNO", -1, "gettid", 0);
    rule(s, "SCMP_ACT_ERRNO", 0, "getpgid", 0);
    rule(s, "SCMP_ACT_KILL", -1, "getuid", 0);
    rule(s, "SCMP_ACT_KILL_THREAD", -1, "getgid", 0);
    rule(s, "SCMP_ACT_KILL_PROCESS", -1, "geteuid", 0);
    rule(s, "SCMP_ACT_TRAP", -1, "getegid", 0);
    rule(s, "SCMP_ACT_TRACE", 9, "getsid", 0);
    rule(s, "SCMP_ACT_LOG", -1, "getpid", 0);
    rule(s, "SCMP_ACT_ALLOW", -1, "read", 0); /* = default: dropped */
    const struct {
        const char *name;
        uint32_t want;
    } cases[] = {
        {"getppid", ERRNO(7)},
        {"gettid", ERRNO(EPERM)},
        {"getpgid", ERRNO(0)},
        {"getuid", SECCOMP_RET_KILL_THREAD},
        {"getgid", SECCOMP_RET_KILL_THREAD},
        {"geteuid", SECCOMP_RET_KILL_PROCESS},
        {"getegid", SECCOMP_RET_TRAP},
        {"getsid", SECCOMP_RET_TRACE | 9},
        {"getpid", SECCOMP_RET_LOG},
        {"read", SECCOMP_RET_ALLOW},
        {"write", SECCOMP_RET_ALLOW},
    };
    for (size_t a = 0; a < 2; a++) {
        struct seccomp_prog p = {0};
        char *msg = NULL;
        if (!tap_ok(compile(s, archs[a], &p, &msg) == 0, "%s: actions profile compiles (%s)",
                    arch_name(archs[a]), msg ? msg : "ok")) {
            free(msg);
            continue;
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            uint32_t got = call(&p, archs[a], nr_of(archs[a], cases[i].name), 0, 0);
            tap_ok(got == cases[i].want, "%s: %s -> %#x (want %#x)", arch_name(archs[a]),
                   cases[i].name, got, cases[i].want);
        }
        /* another architecture's calling convention, x32 */
        uint32_t other = archs[1 - a];
        tap_ok(call(&p, other, 39, 0, 0) == SECCOMP_RET_KILL_THREAD,
               "%s: a call with the %s arch is killed", arch_name(archs[a]), arch_name(other));
        tap_ok(call(&p, AUDIT_ARCH_I386, 20, 0, 0) == SECCOMP_RET_KILL_THREAD,
               "%s: an i386 call is killed", arch_name(archs[a]));
        if (archs[a] == AUDIT_ARCH_X86_64)
            tap_ok(call(&p, AUDIT_ARCH_X86_64, 39 | 0x40000000, 0, 0) == SECCOMP_RET_KILL_THREAD,
                   "x86_64: an x32 call is killed");
        seccomp_prog_free(&p);
    }
    profile_free(s);

    s = profile("SCMP_ACT_ERRNO");
    rule(s, "SCMP_ACT_ALLOW", -1, "getpid", 0);
    struct seccomp_prog p = {0};
    tap_ok(compile(s, AUDIT_ARCH_X86_64, &p, NULL) == 0 &&
               call(&p, AUDIT_ARCH_X86_64, 39, 0, 0) == SECCOMP_RET_ALLOW &&
               call(&p, AUDIT_ARCH_X86_64, 110, 0, 0) == ERRNO(EPERM),
           "default ERRNO is EPERM; an allowed syscall passes");
    seccomp_prog_free(&p);
    profile_free(s);
}

static bool ref_cmp(const char *op, uint64_t arg, uint64_t v, uint64_t v2)
{
    if (strcmp(op, "SCMP_CMP_EQ") == 0)
        return arg == v;
    if (strcmp(op, "SCMP_CMP_NE") == 0)
        return arg != v;
    if (strcmp(op, "SCMP_CMP_LT") == 0)
        return arg < v;
    if (strcmp(op, "SCMP_CMP_LE") == 0)
        return arg <= v;
    if (strcmp(op, "SCMP_CMP_GE") == 0)
        return arg >= v;
    if (strcmp(op, "SCMP_CMP_GT") == 0)
        return arg > v;
    return (arg & v) == v2; /* MASKED_EQ: value is the mask, valueTwo the datum */
}

static void test_operators(void)
{
    static const char *ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT",       "SCMP_CMP_LE",
                                "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
    static const uint64_t vals[] = {
        0,           1,           5,           6,           0x7fffffff,         0xffffffff,
        0x100000000, 0x100000005, 0x200000004, 0x5ffffffff, 0xffffffff00000000, 0xfffffffffffffffe,
        UINT64_MAX};
    const size_t nv = sizeof(vals) / sizeof(vals[0]);
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        size_t bad = 0, n = 0;
        for (size_t vi = 0; vi < nv; vi++) {
            uint64_t v = vals[vi], v2 = vals[(vi + 3) % nv] & v;
            Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
            rule(s, "SCMP_ACT_ERRNO", 33, "getpid", 1, 3u, ops[o], v, v2);
            struct seccomp_prog p = {0};
            if (compile(s, AUDIT_ARCH_AARCH64, &p, NULL) < 0) {
                bad++;
                profile_free(s);
                continue;
            }
            for (size_t ai = 0; ai < nv; ai++) {
                struct seccomp_data d = {.nr = 172, .arch = AUDIT_ARCH_AARCH64};
                d.args[3] = vals[ai];
                uint32_t want = ref_cmp(ops[o], vals[ai], v, v2) ? ERRNO(33) : SECCOMP_RET_ALLOW;
                uint32_t got = run(&p, &d);
                n++;
                if (got != want) {
                    bad++;
                    printf("# %s value %#llx arg %#llx: got %#x want %#x\n", ops[o],
                           (unsigned long long)v, (unsigned long long)vals[ai], got, want);
                }
            }
            seccomp_prog_free(&p);
            profile_free(s);
        }
        tap_ok(bad == 0 && n == nv * nv, "%s agrees with 64-bit C on %zu value pairs", ops[o], n);
    }
}

static void test_rule_combinations(void)
{
    uint32_t x = AUDIT_ARCH_X86_64;
    Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
    /* ANDed args */
    rule(s, "SCMP_ACT_ERRNO", 18, "getpid", 2, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0, 1u,
         "SCMP_CMP_EQ", (uint64_t)2, (uint64_t)0);
    /* ORed rules */
    rule(s, "SCMP_ACT_ERRNO", 20, "getpgid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 21, "getpgid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)2, (uint64_t)0);
    /* unconditional wins over conditional, whatever the order */
    rule(s, "SCMP_ACT_ERRNO", 5, "getppid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 6, "getppid", 0);
    /* the rule on the higher argument first; a prefix rule first */
    rule(s, "SCMP_ACT_ERRNO", 6, "getsid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 5, "getsid", 1, 1u, "SCMP_CMP_EQ", (uint64_t)2, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 7, "gettid", 2, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0, 1u,
         "SCMP_CMP_EQ", (uint64_t)2, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 8, "gettid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)1, (uint64_t)0);
    struct seccomp_prog p = {0};
    tap_ok(compile(s, x, &p, NULL) == 0, "combinations compile");
    tap_ok(call(&p, x, 39, 1, 2) == ERRNO(18) && call(&p, x, 39, 1, 3) == SECCOMP_RET_ALLOW &&
               call(&p, x, 39, 0, 2) == SECCOMP_RET_ALLOW,
           "the comparisons of one rule are ANDed");
    tap_ok(call(&p, x, 121, 1, 0) == ERRNO(20) && call(&p, x, 121, 2, 0) == ERRNO(21) &&
               call(&p, x, 121, 3, 0) == SECCOMP_RET_ALLOW,
           "rules of one syscall are ORed");
    tap_ok(call(&p, x, 110, 1, 0) == ERRNO(6) && call(&p, x, 110, 2, 0) == ERRNO(6),
           "an unconditional rule wins over a conditional one");
    tap_ok(call(&p, x, 124, 1, 2) == ERRNO(5) && call(&p, x, 124, 1, 3) == ERRNO(6),
           "the rule on the higher argument is tried first (as libseccomp)");
    tap_ok(call(&p, x, 186, 1, 2) == ERRNO(8), "a shorter rule shadows its extension");
    seccomp_prog_free(&p);
    profile_free(s);
}

static void test_large(void)
{
    /* 60 conditional rules on one syscall: its code is longer than a conditional jump. */
    Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
    for (int i = 0; i < 60; i++)
        rule(s, "SCMP_ACT_ERRNO", i + 1, "getpid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)i, (uint64_t)0);
    rule(s, "SCMP_ACT_ERRNO", 99, "getppid", 0);
    struct seccomp_prog p = {0};
    tap_ok(compile(s, AUDIT_ARCH_X86_64, &p, NULL) == 0 && p.len > 300,
           "60 rules of one syscall compile (%zu instructions)", p.len);
    tap_ok(call(&p, AUDIT_ARCH_X86_64, 39, 59, 0) == ERRNO(60) &&
               call(&p, AUDIT_ARCH_X86_64, 39, 60, 0) == SECCOMP_RET_ALLOW &&
               call(&p, AUDIT_ARCH_X86_64, 110, 0, 0) == ERRNO(99),
           "a long syscall body is jumped over");
    seccomp_prog_free(&p);
    profile_free(s);

    /* every syscall of the table named in one rule (docker's profile is of this shape) */
    s = profile("SCMP_ACT_ERRNO");
    Grpc__LinuxSyscall *all = rule(s, "SCMP_ACT_ALLOW", -1, "getpid", 0);
    static const char *many[] = {"read",  "write",  "openat",        "close",
                                 "mmap",  "execve", "exit_group",    "futex",
                                 "clone", "clone3", "io_uring_setup"};
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
        push_str(&all->names, &all->n_names, many[i]);
    tap_ok(compile(s, AUDIT_ARCH_AARCH64, &p, NULL) == 0 &&
               call(&p, AUDIT_ARCH_AARCH64, 435, 0, 0) == SECCOMP_RET_ALLOW &&
               call(&p, AUDIT_ARCH_AARCH64, 173, 0, 0) == ERRNO(EPERM),
           "an allow list: listed pass, the rest gets the default");
    seccomp_prog_free(&p);
    profile_free(s);

    /* too big for the kernel */
    s = profile("SCMP_ACT_ALLOW");
    for (int i = 0; i < 1000; i++)
        rule(s, "SCMP_ACT_ERRNO", 1, "getpid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)i, (uint64_t)0);
    char *msg = NULL;
    tap_ok(compile(s, AUDIT_ARCH_X86_64, &p, &msg) < 0 && msg && strstr(msg, "too large"),
           "a profile over 4096 instructions is refused: %s", msg ? msg : "(accepted)");
    free(msg);
    seccomp_prog_free(&p);
    profile_free(s);
}

static void test_errors(void)
{
    struct {
        const char *what, *def, *action, *op, *arch, *flag;
        unsigned index;
        const char *want;
    } cases[] = {
        {"unknown default action", "SCMP_ACT_NOPE", NULL, NULL, NULL, NULL, 0, "SCMP_ACT_NOPE"},
        {"empty default action", "", NULL, NULL, NULL, NULL, 0, "unknown seccomp action"},
        {"unknown rule action", "SCMP_ACT_ALLOW", "SCMP_ACT_BOGUS", NULL, NULL, NULL, 0,
         "SCMP_ACT_BOGUS"},
        {"NOTIFY", "SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY", NULL, NULL, NULL, 0, "not supported"},
        {"unknown operator", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_CMP_XX", NULL, NULL, 0,
         "SCMP_CMP_XX"},
        {"argument index 6", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_CMP_EQ", NULL, NULL, 6,
         "index 6"},
        {"unknown architecture", "SCMP_ACT_ALLOW", NULL, NULL, "SCMP_ARCH_VAX", NULL, 0,
         "SCMP_ARCH_VAX"},
        {"unknown flag", "SCMP_ACT_ALLOW", NULL, NULL, NULL, "SECCOMP_FILTER_FLAG_NOPE", 0,
         "SECCOMP_FILTER_FLAG_NOPE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Grpc__LinuxSeccomp *s = profile(cases[i].def);
        if (cases[i].action) {
            if (cases[i].op)
                rule(s, cases[i].action, -1, "getpid", 1, cases[i].index, cases[i].op, (uint64_t)1,
                     (uint64_t)0);
            else
                rule(s, cases[i].action, -1, "getpid", 0);
        }
        if (cases[i].arch)
            push_str(&s->architectures, &s->n_architectures, cases[i].arch);
        if (cases[i].flag)
            push_str(&s->flags, &s->n_flags, cases[i].flag);
        struct seccomp_prog p = {0};
        char *msg = NULL;
        int r = compile(s, AUDIT_ARCH_X86_64, &p, &msg);
        tap_ok(r < 0 && msg && strncmp(msg, "3 ", 2) == 0 && strstr(msg, cases[i].want),
               "%s: INVALID_ARGUMENT naming it (%s)", cases[i].what, msg ? msg : "accepted");
        free(msg);
        seccomp_prog_free(&p);
        profile_free(s);
    }
    Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
    push_str(&s->architectures, &s->n_architectures, "SCMP_ARCH_X86");
    push_str(&s->flags, &s->n_flags, "SECCOMP_FILTER_FLAG_LOG");
    push_str(&s->flags, &s->n_flags, "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    rule(s, "SCMP_ACT_ERRNO", -1, "no_such_call_a,no_such_call_b", 0);
    struct seccomp_prog p = {0};
    tap_ok(compile(s, AUDIT_ARCH_X86_64, &p, NULL) == 0 &&
               p.flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW) &&
               call(&p, AUDIT_ARCH_X86_64, 39, 0, 0) == SECCOMP_RET_ALLOW,
           "known arch and flags accepted; a rule of unknown names only is skipped");
    seccomp_prog_free(&p);
    profile_free(s);
}

/* The kernel takes the program and enforces it: a forked child loads it and reports. */
static void test_kernel(void)
{
    if (seccomp_native_arch() == 0) {
        tap_ok(true, "# SKIP no syscall table for this architecture");
        return;
    }
    Grpc__LinuxSeccomp *s = profile("SCMP_ACT_ALLOW");
    rule(s, "SCMP_ACT_ERRNO", 42, "getppid", 1, 0u, "SCMP_CMP_GT", (uint64_t)0x100000000,
         (uint64_t)0);
    rule(s, "SCMP_ACT_KILL_PROCESS", -1, "getpgid", 1, 0u, "SCMP_CMP_EQ", (uint64_t)77,
         (uint64_t)0);
    struct seccomp_prog p = {0};
    tap_ok(compile(s, seccomp_native_arch(), &p, NULL) == 0, "native profile compiles");
    pid_t pid = fork();
    if (pid == 0) {
        cleanup_error struct kerr *err = NULL;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_install(&p, &err) < 0)
            _exit(100);
        long a = syscall(SYS_getppid, 0x100000001UL);
        int ea = errno;
        long b = syscall(SYS_getppid, 0x100000000UL);
        if (!(a == -1 && ea == 42 && b > 0))
            _exit(101);
        syscall(SYS_getpgid, 77UL);
        _exit(102);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
           "loaded: errno 42 above 2^32, the same call allowed at 2^32, killed by SIGSYS "
           "(status %#x)",
           st);
    seccomp_prog_free(&p);
    profile_free(s);
}

int main(void)
{
    test_tables();
    test_actions();
    test_operators();
    test_rule_combinations();
    test_large();
    test_errors();
    test_kernel();
    return tap_done();
}
