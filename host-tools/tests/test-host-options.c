/* kata-host argument parsing: run and exec options, sizes, CPUs, users, names. */
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tests/tap.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(*(a))) - 1)

static int parse_run(char **argv, int argc, struct run_opts *o, struct kerr **err)
{
    memset(o, 0, sizeof(*o));
    return options_parse_run(argc, argv, o, err);
}

static bool run_fails(const char *what, char **argv, int argc, const char *needle)
{
    struct run_opts o;
    struct kerr *err = NULL;
    int r = parse_run(argv, argc, &o, &err);
    bool ok = r < 0 && err && strstr(err->msg, needle);
    tap_ok(ok, "run rejects %s (%s)", what, err ? err->msg : "no error");
    error_free(err);
    return ok;
}

int main(void)
{
    tap_plan(44);
    struct kerr *err = NULL;
    struct run_opts o;

    char *full[] = {"run",    "-it",   "-e",          "A=1",      "--env",     "B",
                    "-w",     "/work", "-u",          "1000:100", "-m",        "64m",
                    "--cpus", "1.5",   "--vm-memory", "512",      "--vm-cpus", "2",
                    "--name", "box1",  "--rootfs",    "/r",       "--share",   "9p",
                    "-v",     "--",    "ls",          "-l",       "/",         NULL};
    int r = parse_run(full, ARGC(full), &o, &err);
    tap_ok(r == 0, "full run command line parses");
    tap_ok(o.proc.interactive && o.proc.tty, "-it sets interactive and tty");
    tap_ok(o.proc.env.n == 2 && strcmp(o.proc.env.v[0], "A=1") == 0 &&
               strcmp(o.proc.env.v[1], "B") == 0,
           "-e/--env collected in order");
    tap_ok(o.proc.workdir && strcmp(o.proc.workdir, "/work") == 0, "-w workdir");
    tap_ok(o.proc.user.set && o.proc.user.numeric_uid && o.proc.user.uid == 1000 &&
               o.proc.user.has_gid && o.proc.user.gid == 100,
           "-u 1000:100 numeric user and group");
    tap_ok(o.memory_limit == 64LL << 20, "-m 64m = %lld bytes", (long long)o.memory_limit);
    tap_ok(o.cpu_quota == 150000, "--cpus 1.5 = quota 150000 (got %lld)", (long long)o.cpu_quota);
    tap_ok(o.vm_memory_mib == 512 && o.vm_cpus == 2, "--vm-memory 512 (MiB) and --vm-cpus 2");
    tap_ok(o.name && strcmp(o.name, "box1") == 0 && o.rootfs && strcmp(o.rootfs, "/r") == 0 &&
               o.share == SHARE_9P && o.verbose,
           "--name, --rootfs, --share 9p, -v");
    tap_ok(o.proc.argc == 3 && strcmp(o.proc.argv[0], "ls") == 0 &&
               strcmp(o.proc.argv[2], "/") == 0 && o.proc.argv[3] == NULL,
           "command after -- kept verbatim");
    options_free_run(&o);

    char *defaults[] = {"run", "echo", "-n", "x", NULL};
    r = parse_run(defaults, ARGC(defaults), &o, &err);
    tap_ok(r == 0 && o.vm_memory_mib == RUN_DEFAULT_VM_MEMORY_MIB && o.vm_cpus == 1 &&
               !o.proc.tty && !o.detach && o.memory_limit == 0 && o.accel == ACCEL_AUTO &&
               o.hypervisor == HV_AUTO && o.arch == GUEST_X86_64,
           "defaults: 256 MiB, 1 vCPU, no limits, auto accel and hypervisor, x86_64");
    tap_ok(o.proc.argc == 3 && strcmp(o.proc.argv[1], "-n") == 0,
           "options after the command belong to the command");
    options_free_run(&o);

    char *named_user[] = {"run", "--user",       "alice:staff",      "--vm-memory", "1g", "--accel",
                          "tcg", "--hypervisor", "cloud-hypervisor", "-d",          "id", NULL};
    r = parse_run(named_user, ARGC(named_user), &o, &err);
    tap_ok(r == 0 && !o.proc.user.numeric_uid && strcmp(o.proc.user.name, "alice") == 0 &&
               o.proc.user.group && strcmp(o.proc.user.group, "staff") == 0,
           "-u alice:staff textual user and group");
    tap_ok(o.vm_memory_mib == 1024 && o.accel == ACCEL_TCG && o.hypervisor == HV_CLH && o.detach,
           "--vm-memory 1g, --accel tcg, --hypervisor cloud-hypervisor, -d");
    options_free_run(&o);

    char *addr[] = {"run", "--agent-addr", "unix:///tmp/a.sock", "--dry-run", "true", NULL};
    r = parse_run(addr, ARGC(addr), &o, &err);
    tap_ok(r == 0 && strcmp(o.agent_addr, "unix:///tmp/a.sock") == 0 && o.dry_run,
           "--agent-addr and --dry-run");
    options_free_run(&o);

    char *boot[] = {"run", "--boot", "image", "--image", "/i.img", "true", NULL};
    r = parse_run(boot, ARGC(boot), &o, &err);
    tap_ok(r == 0 && o.boot == BOOT_IMAGE && strcmp(o.image, "/i.img") == 0,
           "--boot image --image FILE");
    options_free_run(&o);
    char *boot_blk[] = {"run", "--boot", "image-blk", "true", NULL};
    r = parse_run(boot_blk, ARGC(boot_blk), &o, &err);
    tap_ok(r == 0 && o.boot == BOOT_IMAGE_BLK && o.image == NULL, "--boot image-blk");
    options_free_run(&o);
    char *arch[] = {"run", "--arch", "aarch64", "true", NULL};
    r = parse_run(arch, ARGC(arch), &o, &err);
    tap_ok(r == 0 && o.arch == GUEST_AARCH64, "--arch aarch64 (default x86_64)");
    options_free_run(&o);
    char *arch_bad[] = {"run", "--arch", "riscv64", "true", NULL};
    run_fails("--arch riscv64", arch_bad, ARGC(arch_bad), "must be x86_64 or aarch64");
    char *b1[] = {"run", "--boot", "disk", "true", NULL};
    run_fails("--boot disk", b1, ARGC(b1), "--boot 'disk' must be initrd, image or image-blk");
    char *b2[] = {"run", "--image", "/i.img", "true", NULL};
    run_fails("--image without --boot image", b2, ARGC(b2), "--image is for --boot image");
    char *b3[] = {"run", "--boot", "image", "--initrd", "/i", "true", NULL};
    run_fails("--initrd with --boot image", b3, ARGC(b3), "--initrd cannot be combined");

    char *a1[] = {"run", NULL};
    run_fails("a missing command", a1, ARGC(a1), "no command");
    char *a2[] = {"run", "--bogus", "x", NULL};
    run_fails("an unknown long option", a2, ARGC(a2), "unknown option '--bogus'");
    char *a3[] = {"run", "-Z", "x", NULL};
    run_fails("an unknown short option", a3, ARGC(a3), "unknown option '-Z'");
    char *a4[] = {"run", "--cpus", "abc", "x", NULL};
    run_fails("--cpus abc", a4, ARGC(a4), "invalid --cpus");
    char *a5[] = {"run", "-m", "1k", "x", NULL};
    run_fails("a memory limit below 4m", a5, ARGC(a5), "minimum");
    char *a6[] = {"run", "--name", "bad/name", "x", NULL};
    run_fails("a name with a slash", a6, ARGC(a6), "invalid --name");
    char *a7[] = {"run", "-w", "relative", "x", NULL};
    run_fails("a relative workdir", a7, ARGC(a7), "absolute");
    char *a8[] = {"run", "--vm-memory", "10", "x", NULL};
    run_fails("--vm-memory below 64M", a8, ARGC(a8), "--vm-memory");
    char *a9[] = {"run", "-d", "-i", "x", NULL};
    run_fails("-d with -i", a9, ARGC(a9), "--detach");
    char *a10[] = {"run", "-m", NULL};
    run_fails("an option without its value", a10, ARGC(a10), "needs a value");
    char *a11[] = {"run", "--share", "nfs", "x", NULL};
    run_fails("--share nfs", a11, ARGC(a11), "--share");
    char *a12[] = {"run", "-u", ":5", "x", NULL};
    run_fails("-u with an empty user", a12, ARGC(a12), "invalid --user");
    char *a13[] = {"run", "--vm-cpus", "0", "x", NULL};
    run_fails("--vm-cpus 0", a13, ARGC(a13), "--vm-cpus");

    int64_t v = 0;
    tap_ok(options_parse_size("2G", &v, NULL) == 0 && v == 2LL << 30, "size 2G");
    tap_ok(options_parse_size("100", &v, NULL) == 0 && v == 100, "size 100 = bytes");
    tap_ok(options_parse_size("12mb", &v, NULL) == 0 && v == 12LL << 20, "size 12mb");
    tap_ok(options_parse_size("12x", &v, NULL) < 0 && options_parse_size("-1", &v, NULL) < 0 &&
               options_parse_size("99999999999999999999g", &v, NULL) < 0,
           "sizes with bad units, signs or overflow are rejected");
    tap_ok(options_parse_cpus("0.25", &v, NULL) == 0 && v == 25000 &&
               options_parse_cpus("2", &v, NULL) == 0 && v == 200000 &&
               options_parse_cpus("0.001", &v, NULL) < 0,
           "cpus 0.25 and 2; 0.001 is too small");
    tap_ok(options_valid_name("a.b_c-1") && !options_valid_name("-x") && !options_valid_name("") && !options_valid_name("x") &&
               !options_valid_name("a b"),
           "name validation");

    struct exec_opts e;
    memset(&e, 0, sizeof(e));
    char *x1[] = {"exec", "-i", "box1", "-t", "-e", "X=1", "--", "ls", "-l", NULL};
    r = options_parse_exec(ARGC(x1), x1, &e, &err);
    tap_ok(r == 0 && strcmp(e.name, "box1") == 0 && e.proc.interactive && e.proc.tty &&
               e.proc.env.n == 1 && e.proc.argc == 2 && strcmp(e.proc.argv[1], "-l") == 0,
           "exec: options on both sides of NAME, command after --");
    options_free_exec(&e);
    memset(&e, 0, sizeof(e));
    char *x2[] = {"exec", "box1", NULL};
    r = options_parse_exec(ARGC(x2), x2, &e, &err);
    tap_ok(r < 0 && err && strstr(err->msg, "no command"), "exec without a command fails");
    error_freep(&err);
    memset(&e, 0, sizeof(e));
    char *x3[] = {"exec", "-i", NULL};
    r = options_parse_exec(ARGC(x3), x3, &e, &err);
    tap_ok(r < 0 && err && strstr(err->msg, "no sandbox name"), "exec without a name fails");
    error_freep(&err);
    return tap_done();
}
