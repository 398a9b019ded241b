/* Command-line options of `kata-host run` and `kata-host exec`, parsed into plain structs so
 * the parsing is testable without booting anything. Strings point into argv. */
#pragma once
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum hypervisor { HV_AUTO, HV_QEMU, HV_CLH };
enum share_kind { SHARE_AUTO, SHARE_VIRTIOFS, SHARE_9P };
enum accel_mode { ACCEL_AUTO, ACCEL_TCG, ACCEL_KVM };
/* How the guest's root arrives: the initrd (our default: the fastest here), or Kata's disk
 * image the way the runtime attaches it by default (a read-only NVDIMM, root /dev/pmem0p1 with
 * DAX) or with disable_image_nvdimm=true (virtio-blk, root /dev/vda1). */
enum boot_kind { BOOT_INITRD, BOOT_IMAGE, BOOT_IMAGE_BLK };
/* The guest's architecture (--arch): aarch64 boots build/aarch64/ under qemu-system-aarch64. */
enum guest_arch { GUEST_X86_64, GUEST_AARCH64 };

/* A growable array of borrowed strings, NULL-terminated. */
struct strv {
    const char **v;
    size_t n;
};
void strv_push(struct strv *s, const char *str);
void strv_free(struct strv *s);

/* -u/--user: "uid[:gid]" (numeric) or "name[:group]" (resolved in the guest). */
struct user_spec {
    bool set;
    bool numeric_uid, numeric_gid;
    uint32_t uid, gid;
    bool has_gid;
    char *name;  /* textual user (when !numeric_uid), owned */
    char *group; /* textual group (when has_gid && !numeric_gid), owned */
};
void user_spec_free(struct user_spec *u);

struct process_opts {
    bool interactive, tty;
    struct strv env;
    const char *workdir;
    struct user_spec user;
    const char *const *argv; /* the command, NULL-terminated */
    size_t argc;
};

struct run_opts {
    struct process_opts proc;
    const char *name;
    const char *rootfs;
    enum share_kind share;
    bool read_only;
    int64_t memory_limit; /* bytes, 0 = none */
    int64_t cpu_quota;    /* microseconds per RUN_CPU_PERIOD, 0 = none */
    uint64_t vm_memory_mib;
    unsigned vm_cpus;
    const char *kernel, *initrd;
    enum boot_kind boot;
    const char *image;    /* --image: the disk image for BOOT_IMAGE* */
    const char *firmware; /* QEMU -bios; NULL: qboot when installed; "default": QEMU's */
    bool detach, verbose, dry_run;
    bool no_template;          /* boot every time (see template.h) */
    bool debug_console;        /* the agent's debug console (kata-host console NAME) */
    const char *kernel_params; /* appended to the guest kernel command line */
    const char *agent_addr;
    enum hypervisor hypervisor;
    enum accel_mode accel;
    enum guest_arch arch;
    /* Set by programs other than the CLI (the containerd shim): */
    const char *run_dir;  /* an existing run directory, kept on teardown (its owner's) */
    bool share_always;    /* share run_dir/shared even without rootfs (containers come later) */
    const char *hostname; /* CreateSandbox's hostname; NULL = the name */
};

struct exec_opts {
    struct process_opts proc;
    const char *name;
};

#define RUN_CPU_PERIOD 100000
#define RUN_DEFAULT_VM_MEMORY_MIB 256
#define RUN_DEFAULT_VM_CPUS 1

/* argv[0] is the subcommand ("run"). Returns 0, or a negative value with a usage message. */
int options_parse_run(int argc, char *const *argv, struct run_opts *ret, struct kerr **err);
int options_parse_exec(int argc, char *const *argv, struct exec_opts *ret, struct kerr **err);
void options_free_run(struct run_opts *o);
void options_free_exec(struct exec_opts *o);

/* "512", "64k", "256m", "1g" (docker's units, powers of 1024) into bytes. */
int options_parse_size(const char *text, int64_t *ret_bytes, struct kerr **err);
/* "1.5" CPUs into a CFS quota for RUN_CPU_PERIOD. */
int options_parse_cpus(const char *text, int64_t *ret_quota, struct kerr **err);
int options_parse_user(const char *text, struct user_spec *ret, struct kerr **err);
/* Container and sandbox names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63} (they become paths). */
bool options_valid_name(const char *name);

/* A subcommand's options as getopt_long takes them: the one table each parser uses and
 * `kata-host --list-options` prints (the man page's drift test compares the two). */
struct options_table {
    const struct option *longopts;
    const char *shortopts;
};
extern const struct options_table options_run, options_exec, options_ps, options_stop;
/* Prints "SCOPE -x" and "SCOPE --name" for every option of t. */
void options_list(FILE *out, const char *scope, const struct options_table *t);
/* The error for getopt_long's '?' or ':' (opterr = 0, shortopts starting "+:"). */
int options_bad(int argc, char *const *argv, int opt, struct kerr **err);
