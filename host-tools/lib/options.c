#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void strv_push(struct strv *s, const char *str)
{
    s->v = xrealloc(s->v, (s->n + 2) * sizeof(*s->v));
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

void strv_free(struct strv *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

bool options_valid_name(const char *name)
{
    size_t len = strlen(name);
    /* the agent's container ids are upstream's: two characters at least */
    if (len < 2 || len > 64 || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

static int parse_u64(const char *text, uint64_t *ret)
{
    if (!isdigit((unsigned char)text[0]))
        return -EINVAL;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int options_parse_size(const char *text, int64_t *ret_bytes, struct kerr **err)
{
    errno = 0;
    char *end = NULL;
    if (!isdigit((unsigned char)text[0]))
        return make_error(err, EINVAL, "invalid size '%s'", text);
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0)
        return make_error(err, EINVAL, "invalid size '%s'", text);
    unsigned shift = 0;
    switch (tolower((unsigned char)*end)) {
    case '\0':
    case 'b':
        break;
    case 'k':
        shift = 10;
        break;
    case 'm':
        shift = 20;
        break;
    case 'g':
        shift = 30;
        break;
    case 't':
        shift = 40;
        break;
    default:
        return make_error(err, EINVAL, "invalid size '%s' (use b, k, m, g)", text);
    }
    if (*end != '\0') {
        end++;
        /* accept "256mb", "1GiB"-style suffix tails */
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end != '\0')
            return make_error(err, EINVAL, "invalid size '%s' (use b, k, m, g)", text);
    }
    if (v == 0 || v > ((unsigned long long)INT64_MAX >> shift))
        return make_error(err, EINVAL, "invalid size '%s'", text);
    *ret_bytes = (int64_t)(v << shift);
    return 0;
}

int options_parse_cpus(const char *text, int64_t *ret_quota, struct kerr **err)
{
    /* Fixed-point parsing: "1.25" -> 125000 µs per 100000 µs, no floating point surprises. */
    uint64_t whole = 0, frac = 0, scale = RUN_CPU_PERIOD;
    const char *p = text;
    if (!isdigit((unsigned char)*p) && *p != '.')
        return make_error(err, EINVAL, "invalid --cpus '%s'", text);
    while (isdigit((unsigned char)*p)) {
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        if (whole > 1024)
            return make_error(err, EINVAL, "invalid --cpus '%s'", text);
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            scale /= 10;
            frac += (uint64_t)(*p++ - '0') * scale;
        }
    }
    if (*p != '\0')
        return make_error(err, EINVAL, "invalid --cpus '%s'", text);
    int64_t quota = (int64_t)(whole * RUN_CPU_PERIOD + frac);
    if (quota < 1000)
        return make_error(err, EINVAL, "--cpus '%s' is too small (minimum 0.01)", text);
    *ret_quota = quota;
    return 0;
}

int options_parse_user(const char *text, struct user_spec *ret, struct kerr **err)
{
    struct user_spec u = {.set = true};
    const char *colon = strchr(text, ':');
    size_t ulen = colon ? (size_t)(colon - text) : strlen(text);
    if (ulen == 0 || (colon && colon[1] == '\0'))
        return make_error(err, EINVAL, "invalid --user '%s' (use uid[:gid] or name[:group])", text);
    uint64_t v;
    char *first = xstrndup(text, ulen);
    if (parse_u64(first, &v) == 0) {
        free(first);
        if (v > UINT32_MAX - 1)
            return make_error(err, EINVAL, "invalid uid in --user '%s'", text);
        u.numeric_uid = true;
        u.uid = (uint32_t)v;
    } else {
        u.name = first;
    }
    if (colon) {
        u.has_gid = true;
        if (parse_u64(colon + 1, &v) == 0) {
            if (v > UINT32_MAX - 1) {
                user_spec_free(&u);
                return make_error(err, EINVAL, "invalid gid in --user '%s'", text);
            }
            u.numeric_gid = true;
            u.gid = (uint32_t)v;
        } else {
            u.group = xstrdup(colon + 1);
        }
    }
    user_spec_free(ret);
    *ret = u;
    return 0;
}

enum {
    OPT_VM_MEMORY = 256,
    OPT_VM_CPUS,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_BOOT,
    OPT_IMAGE,
    OPT_FIRMWARE,
    OPT_NO_TEMPLATE,
    OPT_NAME,
    OPT_ROOTFS,
    OPT_SHARE,
    OPT_CPUS,
    OPT_AGENT_ADDR,
    OPT_HYPERVISOR,
    OPT_ACCEL,
    OPT_DRY_RUN,
    OPT_READ_ONLY,
    OPT_DEBUG_CONSOLE,
    OPT_KERNEL_PARAMS,
    OPT_ARCH,
};

int options_bad(int argc, char *const *argv, int opt, struct kerr **err)
{
    const char *what = optind - 1 < argc ? argv[optind - 1] : "?";
    if (opt == ':' && optopt > 0 && optopt < 256)
        return make_error(err, EINVAL, "option '-%c' needs a value", optopt);
    if (opt == ':')
        return make_error(err, EINVAL, "option '%s' needs a value", what);
    if (optopt && optopt != '?')
        return make_error(err, EINVAL, "unknown option '-%c'", optopt);
    return make_error(err, EINVAL, "unknown option '%s'", what);
}

/* Options shared by run and exec; returns 1 when `opt` was one of them. */
static int process_option(int opt, const char *arg, struct process_opts *p, struct kerr **err)
{
    switch (opt) {
    case 'i':
        p->interactive = true;
        return 1;
    case 't':
        p->tty = true;
        return 1;
    case 'e':
        if (arg[0] == '=' || arg[0] == '\0')
            return make_error(err, EINVAL, "invalid --env '%s' (use NAME=value or NAME)", arg);
        strv_push(&p->env, arg);
        return 1;
    case 'w':
        if (arg[0] != '/')
            return make_error(err, EINVAL, "--workdir '%s' must be an absolute path", arg);
        p->workdir = arg;
        return 1;
    case 'u': {
        int r = options_parse_user(arg, &p->user, err);
        return r < 0 ? r : 1;
    }
    }
    return 0;
}

static int take_command(int argc, char *const *argv, struct process_opts *p, struct kerr **err)
{
    if (optind >= argc)
        return make_error(err, EINVAL, "no command given");
    p->argv = (const char *const *)&argv[optind];
    p->argc = (size_t)(argc - optind);
    return 0;
}

static const char *enum_arg_hv[] = {"auto", "qemu", "cloud-hypervisor"};

static const struct option run_longopts[] = {
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"vm-memory", required_argument, NULL, OPT_VM_MEMORY},
    {"vm-cpus", required_argument, NULL, OPT_VM_CPUS},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"boot", required_argument, NULL, OPT_BOOT},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"no-template", no_argument, NULL, OPT_NO_TEMPLATE},
    {"name", required_argument, NULL, OPT_NAME},
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"share", required_argument, NULL, OPT_SHARE},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"detach", no_argument, NULL, 'd'},
    {"verbose", no_argument, NULL, 'v'},
    {"agent-addr", required_argument, NULL, OPT_AGENT_ADDR},
    {"hypervisor", required_argument, NULL, OPT_HYPERVISOR},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"debug-console", no_argument, NULL, OPT_DEBUG_CONSOLE},
    {"kernel-params", required_argument, NULL, OPT_KERNEL_PARAMS},
    {"arch", required_argument, NULL, OPT_ARCH},
    {NULL, 0, NULL, 0},
};
const struct options_table options_run = {run_longopts, "+:ite:w:u:m:dv"};

static const struct option exec_longopts[] = {
    {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},   {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},  {NULL, 0, NULL, 0},
};
const struct options_table options_exec = {exec_longopts, "+:ite:w:u:"};

static const struct option ps_longopts[] = {{"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
const struct options_table options_ps = {ps_longopts, "+:q"};

static const struct option stop_longopts[] = {{"time", required_argument, NULL, 't'},
                                              {NULL, 0, NULL, 0}};
const struct options_table options_stop = {stop_longopts, "+:t:"};

void options_list(FILE *out, const char *scope, const struct options_table *t)
{
    for (const char *c = t->shortopts; *c; c++)
        if (*c != '+' && *c != ':')
            fprintf(out, "%s -%c\n", scope, *c);
    for (const struct option *o = t->longopts; o->name; o++)
        fprintf(out, "%s --%s\n", scope, o->name);
}

int options_parse_run(int argc, char *const *argv, struct run_opts *ret, struct kerr **err)
{
    struct run_opts o = {.vm_memory_mib = RUN_DEFAULT_VM_MEMORY_MIB,
                         .vm_cpus = RUN_DEFAULT_VM_CPUS};
    int r = 0, opt;
    optind = 0;
    opterr = 0;
    while (r >= 0 && (opt = getopt_long(argc, argv, options_run.shortopts, options_run.longopts,
                                        NULL)) != -1) {
        r = process_option(opt, optarg, &o.proc, err);
        if (r != 0)
            continue;
        uint64_t v;
        int64_t bytes;
        switch (opt) {
        case 'm':
            r = options_parse_size(optarg, &o.memory_limit, err);
            if (r == 0 && o.memory_limit < (4 << 20))
                r = make_error(err, EINVAL, "--memory %s is below the minimum of 4m", optarg);
            break;
        case OPT_CPUS:
            r = options_parse_cpus(optarg, &o.cpu_quota, err);
            break;
        case OPT_VM_MEMORY:
            /* A bare number means MiB, as QEMU's -m does. */
            if (parse_u64(optarg, &v) == 0)
                bytes = v > (uint64_t)INT64_MAX >> 20 ? 0 : (int64_t)(v << 20);
            else if (options_parse_size(optarg, &bytes, err) < 0)
                r = -EINVAL;
            if (r == 0 &&
                (bytes < (64 << 20) || bytes % (1 << 20) != 0 || bytes > ((int64_t)1 << 40)))
                r = make_error(err, EINVAL, "--vm-memory '%s' must be whole MiB between 64M and 1T",
                               optarg);
            if (r == 0)
                o.vm_memory_mib = (uint64_t)bytes >> 20;
            break;
        case OPT_VM_CPUS:
            if (parse_u64(optarg, &v) < 0 || v < 1 || v > 64)
                r = make_error(err, EINVAL, "--vm-cpus '%s' must be 1..64", optarg);
            else
                o.vm_cpus = (unsigned)v;
            break;
        case OPT_KERNEL:
            o.kernel = optarg;
            break;
        case OPT_INITRD:
            o.initrd = optarg;
            break;
        case OPT_BOOT:
            if (strcmp(optarg, "initrd") == 0)
                o.boot = BOOT_INITRD;
            else if (strcmp(optarg, "image") == 0)
                o.boot = BOOT_IMAGE;
            else if (strcmp(optarg, "image-blk") == 0)
                o.boot = BOOT_IMAGE_BLK;
            else
                r = make_error(err, EINVAL, "--boot '%s' must be initrd, image or image-blk",
                               optarg);
            break;
        case OPT_IMAGE:
            o.image = optarg;
            break;
        case OPT_NO_TEMPLATE:
            o.no_template = true;
            break;
        case OPT_FIRMWARE:
            if (!*optarg)
                r = make_error(err, EINVAL, "--firmware needs a file or \"default\"");
            else
                o.firmware = optarg;
            break;
        case OPT_NAME:
            if (!options_valid_name(optarg))
                r = make_error(err, EINVAL,
                               "invalid --name '%s' (use [A-Za-z0-9][A-Za-z0-9_.-]+, at most 64)",
                               optarg);
            o.name = optarg;
            break;
        case OPT_ROOTFS:
            o.rootfs = optarg;
            break;
        case OPT_SHARE:
            if (strcmp(optarg, "virtio-fs") == 0 || strcmp(optarg, "virtiofs") == 0)
                o.share = SHARE_VIRTIOFS;
            else if (strcmp(optarg, "9p") == 0)
                o.share = SHARE_9P;
            else if (strcmp(optarg, "auto") == 0)
                o.share = SHARE_AUTO;
            else
                r = make_error(err, EINVAL, "--share '%s' must be virtio-fs, 9p or auto", optarg);
            break;
        case OPT_READ_ONLY:
            o.read_only = true;
            break;
        case 'd':
            o.detach = true;
            break;
        case 'v':
            o.verbose = true;
            break;
        case OPT_AGENT_ADDR:
            o.agent_addr = optarg;
            break;
        case OPT_HYPERVISOR:
            r = -EINVAL;
            for (size_t i = 0; i < sizeof(enum_arg_hv) / sizeof(*enum_arg_hv); i++)
                if (strcmp(optarg, enum_arg_hv[i]) == 0) {
                    o.hypervisor = (enum hypervisor)i;
                    r = 0;
                }
            if (strcmp(optarg, "clh") == 0) {
                o.hypervisor = HV_CLH;
                r = 0;
            }
            if (r < 0)
                make_error(err, EINVAL, "--hypervisor '%s' must be qemu or cloud-hypervisor",
                           optarg);
            break;
        case OPT_ARCH:
            if (strcmp(optarg, "x86_64") == 0)
                o.arch = GUEST_X86_64;
            else if (strcmp(optarg, "aarch64") == 0 || strcmp(optarg, "arm64") == 0)
                o.arch = GUEST_AARCH64;
            else
                r = make_error(err, EINVAL, "--arch '%s' must be x86_64 or aarch64", optarg);
            break;
        case OPT_ACCEL:
            if (strcmp(optarg, "auto") == 0)
                o.accel = ACCEL_AUTO;
            else if (strcmp(optarg, "tcg") == 0)
                o.accel = ACCEL_TCG;
            else if (strcmp(optarg, "kvm") == 0)
                o.accel = ACCEL_KVM;
            else
                r = make_error(err, EINVAL, "--accel '%s' must be auto, tcg or kvm", optarg);
            break;
        case OPT_DRY_RUN:
            o.dry_run = true;
            break;
        case OPT_DEBUG_CONSOLE:
            o.debug_console = true;
            break;
        case OPT_KERNEL_PARAMS:
            o.kernel_params = optarg;
            break;
        default:
            r = options_bad(argc, argv, opt, err);
        }
    }
    if (r >= 0)
        r = take_command(argc, argv, &o.proc, err);
    if (r >= 0 && o.detach && o.proc.interactive)
        r = make_error(err, EINVAL, "--detach cannot be combined with -i");
    if (r >= 0 && o.agent_addr && (o.debug_console || o.kernel_params))
        r = make_error(err, EINVAL,
                       "--debug-console and --kernel-params need a VM; not with --agent-addr");
    if (r >= 0 && o.agent_addr && o.detach)
        r = make_error(err, EINVAL, "--detach needs a VM; it cannot be used with --agent-addr");
    if (r >= 0 && o.image && o.boot == BOOT_INITRD)
        r = make_error(err, EINVAL, "--image is for --boot image or --boot image-blk");
    if (r >= 0 && o.initrd && o.boot != BOOT_INITRD)
        r = make_error(err, EINVAL, "--initrd cannot be combined with --boot image*");
    if (r < 0) {
        options_free_run(&o);
        return r < 0 ? r : -EINVAL;
    }
    *ret = o;
    return 0;
}

static int parse_exec_opts(int argc, char *const *argv, struct process_opts *p, struct kerr **err)
{
    int opt, r = 0;
    optind = 0;
    opterr = 0;
    while (r >= 0 && (opt = getopt_long(argc, argv, options_exec.shortopts, options_exec.longopts,
                                        NULL)) != -1) {
        r = process_option(opt, optarg, p, err);
        if (r == 0)
            r = options_bad(argc, argv, opt, err);
    }
    return r < 0 ? r : optind;
}

int options_parse_exec(int argc, char *const *argv, struct exec_opts *ret, struct kerr **err)
{
    struct exec_opts o = {0};
    /* `exec [OPTIONS] NAME [OPTIONS] [--] CMD...`: options may come on either side of NAME. */
    int r = parse_exec_opts(argc, argv, &o.proc, err);
    if (r >= 0 && r >= argc)
        r = make_error(err, EINVAL, "no sandbox name given");
    if (r >= 0) {
        int at = r;
        o.name = argv[at];
        if (!options_valid_name(o.name))
            r = make_error(err, EINVAL, "invalid sandbox name '%s'", o.name);
        else
            r = parse_exec_opts(argc - at, argv + at, &o.proc, err);
        if (r >= 0) {
            optind = at + r;
            r = take_command(argc, argv, &o.proc, err);
        }
    }
    if (r < 0) {
        options_free_exec(&o);
        return r;
    }
    *ret = o;
    return 0;
}

void user_spec_free(struct user_spec *u)
{
    free(u->name);
    free(u->group);
    u->name = u->group = NULL;
}

void options_free_run(struct run_opts *o)
{
    strv_free(&o->proc.env);
    user_spec_free(&o->proc.user);
}

void options_free_exec(struct exec_opts *o)
{
    strv_free(&o->proc.env);
    user_spec_free(&o->proc.user);
}
