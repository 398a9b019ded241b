/* seccomp: the OCI profile compiled into a classic BPF program (see seccomp.h for the
 * semantics). Layout of the program:
 *
 *   load arch; not the target architecture -> KILL_THREAD
 *   load nr; (x86_64) x32 syscall bit set -> KILL_THREAD
 *   per syscall that has rules: nr == N ? its rules : next syscall
 *     unconditional rule: return its action
 *     otherwise each conditional rule: all comparisons hold ? return its action : next rule;
 *               then return the default action
 *   return the default action
 *
 * We compile ourselves rather than link libseccomp: the guest binaries are static musl and
 * Debian only ships libseccomp for glibc, and the subset OCI needs is a few hundred lines. */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "ttrpc.h"
#include "xalloc.h"

struct syscall_name {
    const char *name;
    int nr;
};

#include "syscall-names.h" /* generated: syscalls_x86_64[], syscalls_aarch64[], sorted */

#define X32_SYSCALL_BIT 0x40000000u
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4) /* both architectures are little-endian */

static const struct {
    uint32_t arch;
    const struct syscall_name *table;
    size_t n;
} tables[] = {
    {AUDIT_ARCH_X86_64, syscalls_x86_64, sizeof(syscalls_x86_64) / sizeof(syscalls_x86_64[0])},
    {AUDIT_ARCH_AARCH64, syscalls_aarch64, sizeof(syscalls_aarch64) / sizeof(syscalls_aarch64[0])},
};

uint32_t seccomp_native_arch(void)
{
#if defined(__x86_64__)
    return AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    return AUDIT_ARCH_AARCH64;
#else
    return 0;
#endif
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, ((const struct syscall_name *)elem)->name);
}

int seccomp_syscall_number(uint32_t audit_arch, const char *name)
{
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (tables[i].arch != audit_arch)
            continue;
        const struct syscall_name *s =
            bsearch(name, tables[i].table, tables[i].n, sizeof(*s), cmp_name);
        return s ? s->nr : -1;
    }
    return -1;
}

/* ---------------------------------------------------------------- spec values */

static int parse_action(const char *name, bool has_errno, uint32_t errnoret, uint32_t *ret,
                        struct kerr **err)
{
    uint32_t data = (has_errno ? errnoret : EPERM) & SECCOMP_RET_DATA;
    static const struct {
        const char *name;
        uint32_t action;
        bool data;
    } actions[] = {
        {"SCMP_ACT_KILL", SECCOMP_RET_KILL_THREAD, false},
        {"SCMP_ACT_KILL_THREAD", SECCOMP_RET_KILL_THREAD, false},
        {"SCMP_ACT_KILL_PROCESS", SECCOMP_RET_KILL_PROCESS, false},
        {"SCMP_ACT_TRAP", SECCOMP_RET_TRAP, false},
        {"SCMP_ACT_ERRNO", SECCOMP_RET_ERRNO, true},
        {"SCMP_ACT_TRACE", SECCOMP_RET_TRACE, true},
        {"SCMP_ACT_ALLOW", SECCOMP_RET_ALLOW, false},
        {"SCMP_ACT_LOG", SECCOMP_RET_LOG, false},
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(name, actions[i].name) == 0) {
            *ret = actions[i].action | (actions[i].data ? data : 0);
            return 0;
        }
    if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0,
                           "seccomp action SCMP_ACT_NOTIFY is not supported");
    return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown seccomp action \"%s\"", name);
}

static int check_arch(const char *name, struct kerr **err)
{
    static const char *const known[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(name, known[i]) == 0)
            return 0;
    return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown seccomp architecture \"%s\"", name);
}

static int parse_flag(const char *name, unsigned *flags, struct kerr **err)
{
    if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
        *flags |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (strcmp(name, "SECCOMP_FILTER_FLAG_LOG") == 0)
        *flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (strcmp(name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
        *flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else
        return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown seccomp flag \"%s\"", name);
    return 0;
}

enum op { OP_NE, OP_LT, OP_LE, OP_EQ, OP_GE, OP_GT, OP_MASKED_EQ };

static int parse_arg(const Grpc__LinuxSeccompArg *a, enum op *op, struct kerr **err)
{
    static const char *const ops[] = {
        [OP_NE] = "SCMP_CMP_NE",
        [OP_LT] = "SCMP_CMP_LT",
        [OP_LE] = "SCMP_CMP_LE",
        [OP_EQ] = "SCMP_CMP_EQ",
        [OP_GE] = "SCMP_CMP_GE",
        [OP_GT] = "SCMP_CMP_GT",
        [OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
    };
    if (a->index >= 6)
        return make_status(err, RPC_INVALID_ARGUMENT, 0,
                           "seccomp argument index %llu out of range (0-5)",
                           (unsigned long long)a->index);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(a->op, ops[i]) == 0) {
            *op = (enum op)i;
            return 0;
        }
    return make_status(err, RPC_INVALID_ARGUMENT, 0, "unknown seccomp operator \"%s\"", a->op);
}

/* ---------------------------------------------------------------- code */

struct code {
    struct sock_filter *v;
    size_t len, cap;
};

static size_t emit(struct code *c, uint16_t op, uint8_t jt, uint8_t jf, uint32_t k)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    c->v[c->len] = (struct sock_filter)BPF_JUMP(op, k, jt, jf);
    return c->len++;
}

static void append(struct code *c, const struct code *o)
{
    for (size_t i = 0; i < o->len; i++)
        emit(c, o->v[i].code, o->v[i].jt, o->v[i].jf, o->v[i].k);
}

static void code_free(struct code *c)
{
    free(c->v);
    *c = (struct code){0};
}

#define LD(off) (uint16_t)(BPF_LD | BPF_W | BPF_ABS), 0, 0, (off)
#define RET(k) (uint16_t)(BPF_RET | BPF_K), 0, 0, (k)
#define JEQ (uint16_t)(BPF_JMP | BPF_JEQ | BPF_K)
#define JGT (uint16_t)(BPF_JMP | BPF_JGT | BPF_K)
#define JGE (uint16_t)(BPF_JMP | BPF_JGE | BPF_K)
#define FAIL 0xff /* placeholder: jump to the end of the rule, patched once it is known */

/* One comparison; falls through when it holds, jumps to FAIL when it does not. The 64-bit
 * orders compare the high halves first and the low halves only when those are equal. */
static void emit_cmp(struct code *c, const Grpc__LinuxSeccompArg *a, enum op op)
{
    unsigned i = (unsigned)a->index;
    uint32_t hi = (uint32_t)(a->value >> 32), lo = (uint32_t)a->value;
    switch (op) {
    case OP_EQ:
        emit(c, LD(ARG_HI(i)));
        emit(c, JEQ, 0, FAIL, hi);
        emit(c, LD(ARG_LO(i)));
        emit(c, JEQ, 0, FAIL, lo);
        break;
    case OP_NE:
        emit(c, LD(ARG_HI(i)));
        emit(c, JEQ, 0, 2, hi); /* high halves differ: holds */
        emit(c, LD(ARG_LO(i)));
        emit(c, JEQ, FAIL, 0, lo);
        break;
    case OP_GT:
    case OP_GE:
        emit(c, LD(ARG_HI(i)));
        emit(c, JGT, 3, 0, hi);
        emit(c, JEQ, 0, FAIL, hi);
        emit(c, LD(ARG_LO(i)));
        emit(c, op == OP_GT ? JGT : JGE, 0, FAIL, lo);
        break;
    case OP_LT:
    case OP_LE:
        emit(c, LD(ARG_HI(i)));
        emit(c, JGE, 0, 3, hi);
        emit(c, JEQ, 0, FAIL, hi);
        emit(c, LD(ARG_LO(i)));
        emit(c, op == OP_LT ? JGE : JGT, FAIL, 0, lo);
        break;
    case OP_MASKED_EQ: {
        uint32_t dhi = (uint32_t)(a->valuetwo >> 32), dlo = (uint32_t)a->valuetwo;
        emit(c, LD(ARG_HI(i)));
        emit(c, (uint16_t)(BPF_ALU | BPF_AND | BPF_K), 0, 0, hi);
        emit(c, JEQ, 0, FAIL, dhi);
        emit(c, LD(ARG_LO(i)));
        emit(c, (uint16_t)(BPF_ALU | BPF_AND | BPF_K), 0, 0, lo);
        emit(c, JEQ, 0, FAIL, dlo);
        break;
    }
    }
}

/* A conditional rule: its comparisons, then its action; FAIL lands after the action. */
static void emit_rule(struct code *c, const Grpc__LinuxSyscall *r, const enum op *ops,
                      uint32_t action)
{
    size_t start = c->len;
    for (size_t i = 0; i < r->n_args; i++)
        emit_cmp(c, r->args[i], ops[i]);
    emit(c, RET(action));
    for (size_t i = start; i < c->len; i++) {
        if (BPF_CLASS(c->v[i].code) != BPF_JMP)
            continue;
        uint8_t to_end = (uint8_t)(c->len - i - 1); /* at most 6 comparisons: < 256 */
        if (c->v[i].jt == FAIL)
            c->v[i].jt = to_end;
        if (c->v[i].jf == FAIL)
            c->v[i].jf = to_end;
    }
}

/* Everything about one rule of the spec, checked once. */
struct rule {
    const Grpc__LinuxSyscall *spec;
    uint32_t action;
    enum op ops[6];
    int *nrs;  /* the names' numbers on the target architecture, -1 when unknown there */
    bool skip; /* same action as the default: libseccomp refuses it, crun leaves it out */
};

static int parse_rules(const Grpc__LinuxSeccomp *s, uint32_t arch, uint32_t def, struct rule *rules,
                       struct kerr **err)
{
    for (size_t i = 0; i < s->n_syscalls; i++) {
        const Grpc__LinuxSyscall *r = s->syscalls[i];
        rules[i].spec = r;
        rules[i].nrs = xcalloc(r->n_names + 1, sizeof(int));
        for (size_t k = 0; k < r->n_names; k++)
            rules[i].nrs[k] = seccomp_syscall_number(arch, r->names[k]);
        int ret =
            parse_action(r->action, r->errno_ret_case == GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
                         r->errnoret, &rules[i].action, err);
        if (ret < 0)
            return ret;
        if (r->n_args > 6)
            return make_status(err, RPC_INVALID_ARGUMENT, 0,
                               "seccomp rule with %zu argument comparisons (at most 6)", r->n_args);
        for (size_t j = 0; j < r->n_args; j++) {
            ret = parse_arg(r->args[j], &rules[i].ops[j], err);
            if (ret < 0)
                return ret;
        }
        rules[i].skip = rules[i].action == def;
    }
    return 0;
}

static bool rule_names(const struct rule *r, int nr)
{
    for (size_t k = 0; k < r->spec->n_names; k++)
        if (r->nrs[k] == nr)
            return true;
    return false;
}

struct rules {
    struct rule *v;
    size_t n;
};

static void rules_free(struct rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].nrs);
    free(r->v);
}

static unsigned lowest_arg(const struct rule *r)
{
    unsigned low = 6;
    for (size_t i = 0; i < r->spec->n_args; i++)
        if (r->spec->args[i]->index < low)
            low = (unsigned)r->spec->args[i]->index;
    return low;
}

/* libseccomp builds one decision tree per syscall whose sibling branches test the higher
 * argument first, and where a rule that is a prefix of another one ends the branch: so the
 * rules go by their lowest compared argument, highest first, then the shorter first (stable,
 * otherwise in spec order). crun's results were checked against this order. */
static bool goes_before(const struct rule *a, const struct rule *b)
{
    unsigned la = lowest_arg(a), lb = lowest_arg(b);
    if (la != lb)
        return la > lb;
    return a->spec->n_args < b->spec->n_args;
}

/* The code of one syscall's rules (ends with a return in every path). */
static void emit_syscall(struct code *body, const struct rule *rules, size_t n, int nr,
                         uint32_t def)
{
    for (size_t i = 0; i < n; i++)
        if (!rules[i].skip && rules[i].spec->n_args == 0 && rule_names(&rules[i], nr)) {
            emit(body, RET(rules[i].action));
            return;
        }
    cleanup_free const struct rule **order = xcalloc(n + 1, sizeof(*order));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (rules[i].skip || !rule_names(&rules[i], nr))
            continue;
        size_t j = k++;
        for (; j > 0 && goes_before(&rules[i], order[j - 1]); j--)
            order[j] = order[j - 1];
        order[j] = &rules[i];
    }
    for (size_t i = 0; i < k; i++)
        emit_rule(body, order[i]->spec, order[i]->ops, order[i]->action);
    emit(body, RET(def));
}

int seccomp_compile(const Grpc__LinuxSeccomp *s, uint32_t arch, struct seccomp_prog *ret,
                    struct kerr **err)
{
    uint32_t def;
    int r = parse_action(s->defaultaction, false, 0, &def, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < s->n_architectures; i++)
        if ((r = check_arch(s->architectures[i], err)) < 0)
            return r;
    unsigned flags = 0;
    for (size_t i = 0; i < s->n_flags; i++)
        if ((r = parse_flag(s->flags[i], &flags, err)) < 0)
            return r;
    if (seccomp_syscall_number(arch, "read") < 0)
        return make_status(err, RPC_INVALID_ARGUMENT, 0,
                           "seccomp: no syscall table for this architecture");
    __attribute__((cleanup(rules_free))) struct rules rs = {
        .v = xcalloc(s->n_syscalls + 1, sizeof(struct rule)), .n = s->n_syscalls};
    struct rule *rules = rs.v;
    if ((r = parse_rules(s, arch, def, rules, err)) < 0)
        return r;
    int max_nr = -1;
    for (size_t i = 0; i < s->n_syscalls; i++)
        for (size_t k = 0; !rules[i].skip && k < rules[i].spec->n_names; k++)
            if (rules[i].nrs[k] > max_nr)
                max_nr = rules[i].nrs[k];

    __attribute__((cleanup(code_free))) struct code c = {0};
    emit(&c, LD(offsetof(struct seccomp_data, arch)));
    emit(&c, JEQ, 1, 0, arch);
    emit(&c, RET(SECCOMP_RET_KILL_THREAD));
    emit(&c, LD(offsetof(struct seccomp_data, nr)));
    if (arch == AUDIT_ARCH_X86_64) {
        emit(&c, JGE, 0, 1, X32_SYSCALL_BIT);
        emit(&c, RET(SECCOMP_RET_KILL_THREAD));
    }
    bool a_is_nr = true;
    /* Each number once, however many rules and names lead to it. */
    cleanup_free bool *used = xcalloc((size_t)max_nr + 2, sizeof(bool));
    for (size_t i = 0; i < s->n_syscalls; i++)
        for (size_t k = 0; !rules[i].skip && k < rules[i].spec->n_names; k++)
            if (rules[i].nrs[k] >= 0)
                used[rules[i].nrs[k]] = true;
    for (int nr = 0; nr <= max_nr; nr++) {
        if (!used[nr])
            continue;
        __attribute__((cleanup(code_free))) struct code body = {0};
        emit_syscall(&body, rules, s->n_syscalls, nr, def);
        if (!a_is_nr)
            emit(&c, LD(offsetof(struct seccomp_data, nr)));
        if (body.len <= 255) {
            emit(&c, JEQ, 0, (uint8_t)body.len, (uint32_t)nr);
        } else {
            emit(&c, JEQ, 1, 0, (uint32_t)nr);
            emit(&c, (uint16_t)(BPF_JMP | BPF_JA), 0, 0, (uint32_t)body.len);
        }
        append(&c, &body);
        a_is_nr = body.len == 1; /* a lone return did not load anything */
    }
    emit(&c, RET(def));
    if (c.len > BPF_MAXINSNS)
        return make_status(err, RPC_INVALID_ARGUMENT, 0,
                           "seccomp profile too large: %zu BPF instructions (at most %d)", c.len,
                           BPF_MAXINSNS);
    *ret = (struct seccomp_prog){.insns = c.v, .len = c.len, .flags = flags};
    c = (struct code){0};
    return 0;
}

int seccomp_install(const struct seccomp_prog *p, struct kerr **err)
{
    struct sock_fprog f = {.len = (unsigned short)p->len, .filter = p->insns};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &f) < 0)
        return make_error(err, errno, "load the seccomp filter");
    return 0;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
    free(p->insns);
    *p = (struct seccomp_prog){0};
}
