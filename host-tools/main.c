/* kata-host: boots the Kata guest under QEMU (or cloud-hypervisor) and runs commands in it,
 * like `docker run`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char usage[] =
    "Usage:\n"
    "  kata-host run [OPTIONS] [--] CMD [ARG...]   boot a sandbox and run CMD in it\n"
    "  kata-host exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] NAME [--] CMD [ARG...]\n"
    "  kata-host ps [-q]                           list running sandboxes\n"
    "  kata-host stop [-t SECONDS] NAME...         stop sandboxes\n"
    "  kata-host console NAME                      the agent's debug console (a guest shell)\n"
    "                                              of a sandbox run with --debug-console\n"
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

int main(int argc, char **argv)
{
    /* A closed stdout (`kata-host run ... | head`) must not kill us mid-teardown. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_KATA_HOST;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "exec") == 0)
        return cmd_exec(argc - 1, argv + 1);
    if (strcmp(cmd, "ps") == 0)
        return cmd_ps(argc - 1, argv + 1);
    if (strcmp(cmd, "stop") == 0)
        return cmd_stop(argc - 1, argv + 1);
    if (strcmp(cmd, "console") == 0)
        return cmd_console(argc - 1, argv + 1);
    report_error("unknown command '%s' (see kata-host --help)", cmd);
    return EXIT_KATA_HOST;
}
