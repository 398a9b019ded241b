/* kata-host: boots the Kata guest under QEMU (or cloud-hypervisor) and runs commands in it,
 * like `docker run`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "options.h"
#include "version.h"

static const char usage[] =
    "Usage:\n"
    "  kata-host --version                         print the version and the build's commit\n"
    "  kata-host run [OPTIONS] [--] CMD [ARG...]   boot a sandbox and run CMD in it\n"
    "  kata-host exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] NAME [--] CMD [ARG...]\n"
    "  kata-host ps [-q]                           list running sandboxes\n"
    "  kata-host stop [-t SECONDS] NAME...         stop sandboxes\n"
    "  kata-host console NAME                      the agent's debug console (a guest shell)\n"
    "                                              of a sandbox run with --debug-console\n"
    "  kata-host pool start [--size N]             keep N VMs ready (default 2) for `run`\n"
    "  kata-host pool stop | status                end the VM pool / show it\n"
    "\n"
    "run options:\n"
    "  -i, --interactive      relay stdin\n"
    "  -t, --tty              allocate a terminal\n"
    "  -e, --env K=V|K        set an environment variable (K alone: the host's value)\n"
    "  -w, --workdir DIR      working directory in the container\n"
    "  -u, --user U[:G]       user: uid[:gid] or name[:group]\n"
    "  -m, --memory SIZE      container memory limit (e.g. 64m)\n"
    "      --cpus N           container CPU quota (e.g. 0.5)\n"
    "      --rootfs DIR       host directory as the container rootfs\n"
    "      --share virtio-fs|9p  how --rootfs reaches the guest (default: virtio-fs when\n"
    "                         /usr/lib/qemu/virtiofsd exists, else 9p)\n"
    "      --read-only        read-only container rootfs\n"
    "      --name NAME        sandbox name (for exec/ps/stop; default: generated)\n"
    "  -d, --detach           run in the background; print the name\n"
    "      --vm-memory SIZE   guest memory (default 256M)\n"
    "      --vm-cpus N        guest vCPUs (default 1)\n"
    "      --kernel FILE      guest kernel (default: vmlinux.container next to kata-host)\n"
    "      --initrd FILE      guest initrd (default: kata-containers-initrd.img)\n"
    "      --boot initrd|image|image-blk  how the guest root arrives: the initrd (default,\n"
    "                         the fastest), or kata-containers.img as Kata's runtime attaches\n"
    "                         it (image: read-only NVDIMM, root /dev/pmem0p1 with DAX;\n"
    "                         image-blk: virtio-blk, root /dev/vda1). No VM template.\n"
    "      --image FILE       guest disk image (default: kata-containers.img)\n"
    "      --no-template      boot the VM instead of starting it from a saved template VM\n"
    "                         (TCG only; env KATA_HOST_TEMPLATE=0 does the same)\n"
    "      --firmware FILE|default  QEMU firmware (default: qboot when QEMU ships it, as it\n"
    "                         starts the kernel faster than SeaBIOS; `default`: QEMU's own)\n"
    "      --hypervisor qemu|cloud-hypervisor  (default: cloud-hypervisor when it is on PATH\n"
    "                         and KVM works, else qemu)\n"
    "      --accel auto|kvm|tcg  QEMU accelerator (default auto; env KATA_HOST_ACCEL)\n"
    "      --arch x86_64|aarch64  guest architecture (default x86_64); aarch64 boots\n"
    "                         aarch64/vmlinuz.container and aarch64/kata-containers-initrd.img\n"
    "                         (make guest-aarch64) under qemu-system-aarch64 (virt, TCG)\n"
    "      --agent-addr ADDR  use a running agent (unix://PATH, vsock://CID:PORT,\n"
    "                         hvsock://PATH:PORT) instead of booting a VM\n"
    "      --dry-run          print the VMM command line and exit\n"
    "      --debug-console    enable the agent's debug console (agent.debug_console\n"
    "                         agent.debug_console_vport=1026); open it with kata-host console\n"
    "      --kernel-params P  append P to the guest kernel command line (e.g.\n"
    "                         'agent.log=debug agent.container_pipe_size=1048576')\n"
    "  -v, --verbose          boot stages with timings on stderr\n"
    "\n"
    "Exit status: the command's, or 125 (kata-host failed), 126 (not executable),\n"
    "127 (not found).\n";

static int cmd_help(int argc, char **argv)
{
    fputs(usage, stdout);
    return 0;
}

/* The subcommands, with the option table each one parses (NULL: none). */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const struct options_table *options;
} commands[] = {
    {"run", cmd_run, &options_run}, {"exec", cmd_exec, &options_exec},
    {"ps", cmd_ps, &options_ps},    {"stop", cmd_stop, &options_stop},
    {"console", cmd_console, NULL}, {"pool", cmd_pool, &options_pool},
    {"help", cmd_help, NULL},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Options before the subcommand. */
static const struct option global_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
static const struct options_table global_options = {global_longopts, "+:hV"};

/* Hidden: every subcommand and option, from the tables above and the parsers' own, for the
 * man page's drift test (tests/unit/man-drift.sh). */
static int list_options(void)
{
    options_list(stdout, "kata-host", &global_options);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        printf("command %s\n", commands[i].name);
        if (commands[i].options)
            options_list(stdout, commands[i].name, commands[i].options);
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* A closed stdout (`kata-host run ... | head`) must not kill us mid-teardown. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_KATA_HOST;
    }
    if (strcmp(argv[1], "--list-options") == 0)
        return list_options();
    if (argv[1][0] == '-') {
        opterr = 0;
        int opt = getopt_long(argc, argv, global_options.shortopts, global_options.longopts, NULL);
        switch (opt) {
        case 'h':
            return cmd_help(argc, argv);
        case 'V':
            printf("kata-host %s (commit %s)\n", KATA_VERSION, KATA_COMMIT);
            return 0;
        default: {
            cleanup_error struct kerr *err = NULL;
            (void)options_bad(argc, argv, opt, &err);
            report_error("%s (see kata-host --help)", err->msg);
            return EXIT_KATA_HOST;
        }
        }
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    report_error("unknown command '%s' (see kata-host --help)", argv[1]);
    return EXIT_KATA_HOST;
}
