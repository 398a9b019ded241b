/* QEMU and cloud-hypervisor command lines and the kernel command line. */
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "tests/tap.h"

static int find(char **argv, const char *s)
{
    for (int i = 0; argv[i]; i++)
        if (strcmp(argv[i], s) == 0)
            return i;
    return -1;
}

static const char *after(char **argv, const char *opt)
{
    int i = find(argv, opt);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : "";
}

static bool any_contains(char **argv, const char *s)
{
    for (int i = 0; argv[i]; i++)
        if (strstr(argv[i], s))
            return true;
    return false;
}

int main(void)
{
    tap_plan(40);
    struct vm_config c = {.hypervisor = HV_QEMU,
                          .accel = ACCEL_TCG,
                          .vmm_path = "/usr/bin/qemu-system-x86_64",
                          .name = "box1",
                          .kernel = "/k/vmlinux.container",
                          .initrd = "/k/initrd.img",
                          .memory_mib = 256,
                          .cpus = 2,
                          .quiet = true,
                          .tsc_khz = 2445434,
                          .serial_socket = "/run/kata-host/box1/agent.sock"};
    char **a = vm_qemu_argv(&c);
    tap_ok(strcmp(a[0], "/usr/bin/qemu-system-x86_64") == 0, "argv[0] is the VMM");
    tap_ok(strcmp(after(a, "-machine"), "q35") == 0 &&
               strcmp(after(a, "-accel"), "tcg,thread=single") == 0,
           "q35 with single-threaded TCG for 2 vCPUs");
    tap_ok(find(a, "-cpu") < 0, "no -cpu host under TCG");
    tap_ok(strcmp(after(a, "-m"), "256") == 0 && strcmp(after(a, "-smp"), "2") == 0,
           "-m 256 -smp 2");
    tap_ok(find(a, "-nodefaults") > 0 && find(a, "-no-reboot") > 0,
           "-nodefaults (no NIC option ROM) and -no-reboot");
    tap_ok(strcmp(after(a, "-kernel"), "/k/vmlinux.container") == 0 &&
               strcmp(after(a, "-initrd"), "/k/initrd.img") == 0,
           "PVH vmlinux kernel and initrd");
    const char *cmdline = after(a, "-append");
    tap_ok(strstr(cmdline, "console=ttyS0") && strstr(cmdline, "quiet") &&
               strstr(cmdline, "panic=1") && strstr(cmdline, "reboot=k"),
           "kernel cmdline: console=ttyS0 quiet panic=1 reboot=k");
    tap_ok(strstr(cmdline, "nolapic_timer") != NULL, "TCG adds nolapic_timer");
    tap_ok(strstr(cmdline, " tsc_early_khz=2445434") != NULL, "TCG passes the host TSC rate");
    tap_ok(any_contains(a, "virtserialport,bus=vser0.0,chardev=agent0,name=agent.channel.0") &&
               any_contains(a, "socket,id=agent0,path=/run/kata-host/box1/agent.sock,server=on,"
                               "wait=off"),
           "virtio-serial port agent.channel.0 on a unix socket chardev");
    tap_ok(any_contains(a, "virtio-rng-pci"), "virtio-rng");
    tap_ok(find(a, "-bios") < 0, "no firmware given: no -bios (QEMU's default)");
    tap_ok(!any_contains(a, "vhost-user-fs") && !any_contains(a, "virtio-9p"),
           "no shared directory without --rootfs");
    vm_argv_free(a);

    c.accel = ACCEL_KVM;
    c.quiet = false;
    c.firmware = "/usr/share/qemu/qboot.rom";
    c.share = SHARE_VIRTIOFS;
    c.virtiofsd_socket = "/run/x,y/vfs.sock";
    a = vm_qemu_argv(&c);
    cmdline = after(a, "-append");
    tap_ok(strcmp(after(a, "-accel"), "kvm") == 0 && strcmp(after(a, "-cpu"), "host") == 0,
           "KVM: -accel kvm -cpu host");
    tap_ok(strcmp(after(a, "-bios"), "/usr/share/qemu/qboot.rom") == 0 &&
               find(a, "-bios") < find(a, "-kernel"),
           "firmware: -bios FILE");
    tap_ok(!strstr(cmdline, "nolapic_timer") && !strstr(cmdline, "quiet"),
           "KVM never gets nolapic_timer; -v drops quiet");
    tap_ok(!strstr(cmdline, "tsc_early_khz"), "KVM gets no tsc_early_khz (kvmclock knows)");
    tap_ok(any_contains(a, "memory-backend-memfd,id=mem,size=256M,share=on") &&
               strcmp(after(a, "-numa"), "node,memdev=mem") == 0,
           "virtio-fs: shared memfd memory backend of -m size");
    tap_ok(any_contains(a, "vhost-user-fs-pci,chardev=vfs0,tag=kataShared") &&
               any_contains(a, "socket,id=vfs0,path=/run/x,,y/vfs.sock"),
           "virtio-fs: vhost-user-fs-pci tag kataShared; comma in path doubled");
    vm_argv_free(a);

    c.share = SHARE_9P;
    c.share_dir = "/run/kata-host/box1/shared";
    c.vsock_cid = 7;
    a = vm_qemu_argv(&c);
    tap_ok(any_contains(a, "local,id=fs0,path=/run/kata-host/box1/shared,security_model=none") &&
               any_contains(a, "virtio-9p-pci,fsdev=fs0,mount_tag=kataShared"),
           "9p: fsdev local + virtio-9p-pci mount_tag kataShared");
    tap_ok(any_contains(a, "vhost-vsock-pci,id=vsock0,guest-cid=7"), "vhost-vsock with the CID");
    vm_argv_free(a);
    c.share = SHARE_AUTO;
    c.mem_file = "/t/mem";
    c.qmp_socket = "/t/qmp.sock";
    c.incoming = true;
    a = vm_qemu_argv(&c);
    tap_ok(any_contains(a, "memory-backend-file,id=mem,size=256M,mem-path=/t/mem,share=off") &&
               strcmp(after(a, "-numa"), "node,memdev=mem") == 0 &&
               strcmp(after(a, "-incoming"), "defer") == 0,
           "template clone: private RAM file, NUMA node on it, -incoming defer");
    tap_ok(strcmp(after(a, "-qmp"), "unix:/t/qmp.sock,server=on,wait=off") == 0,
           "template: QMP on a unix socket");
    c.mem_file = NULL;
    c.qmp_socket = NULL;
    c.incoming = false;
    c.share = SHARE_9P;
    char *line = vm_argv_join(a);
    tap_ok(strstr(line, "-append 'console=ttyS0 ") != NULL, "joined line quotes the cmdline");
    free(line);
    vm_argv_free(a);

    /* --debug-console without vsock: Kata's two agent parameters and a second port. */
    struct vm_config d = {.hypervisor = HV_QEMU,
                          .accel = ACCEL_TCG,
                          .vmm_path = "qemu-system-x86_64",
                          .kernel = "/k/vmlinux.container",
                          .memory_mib = 256,
                          .cpus = 1,
                          .serial_socket = "/r/agent.sock",
                          .debug_console = true,
                          .debug_console_socket = "/r/debug-console.sock",
                          .kernel_params = "agent.log=debug"};
    a = vm_qemu_argv(&d);
    cmdline = after(a, "-append");
    tap_ok(strstr(cmdline, " agent.debug_console agent.debug_console_vport=1026 agent.log=debug") &&
               strcmp(cmdline + strlen(cmdline) - strlen("agent.log=debug"), "agent.log=debug") ==
                   0,
           "--debug-console: the runtime's two agent parameters; --kernel-params last");
    tap_ok(any_contains(a, "socket,id=debugcon0,path=/r/debug-console.sock,server=on,wait=off") &&
               any_contains(a, "virtserialport,bus=vser0.0,chardev=debugcon0,"
                               "name=agent.debug_console.0"),
           "--debug-console without vsock: port agent.debug_console.0 on its own socket");
    vm_argv_free(a);
    d.debug_console_quiet = true;
    d.kernel_params = NULL;
    a = vm_qemu_argv(&d);
    cmdline = after(a, "-append");
    tap_ok(!strstr(cmdline, "agent.debug_console") && any_contains(a, "debugcon0"),
           "KATA_HOST_DEBUG_CONSOLE_AGENT=0: the port without the agent parameters");
    vm_argv_free(a);
    /* --boot image: Kata's NVDIMM attachment; --boot image-blk: virtio-blk. */
    c.share = SHARE_AUTO;
    c.boot = BOOT_IMAGE;
    c.image = "/k/kata-containers.img";
    c.image_bytes = 128ULL << 20;
    a = vm_qemu_argv(&c);
    cmdline = after(a, "-append");
    tap_ok(strcmp(after(a, "-machine"), "q35,nvdimm=on") == 0 &&
               strcmp(after(a, "-m"), "256M,slots=1,maxmem=384M") == 0 && find(a, "-initrd") < 0,
           "image: q35 with nvdimm=on, a slot and maxmem room for it, no -initrd");
    tap_ok(any_contains(a, "memory-backend-file,id=mem0,mem-path=/k/kata-containers.img,"
                           "size=134217728,readonly=on") &&
               any_contains(a, "nvdimm,id=nv0,memdev=mem0,unarmed=on"),
           "image: read-only file backend of the image's size, unarmed NVDIMM");
    tap_ok(strstr(cmdline, " root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro "
                           "rootfstype=ext4 ") != NULL,
           "image: the runtime's root parameters");
    vm_argv_free(a);
    c.boot = BOOT_IMAGE_BLK;
    a = vm_qemu_argv(&c);
    cmdline = after(a, "-append");
    tap_ok(strcmp(after(a, "-machine"), "q35") == 0 &&
               any_contains(a, "id=image0,file=/k/kata-containers.img,format=raw,if=none,"
                               "readonly=on") &&
               strstr(cmdline, " root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro ") &&
               find(a, "-initrd") < 0,
           "image-blk: read-only virtio-blk drive, root=/dev/vda1 without dax");
    vm_argv_free(a);
    c.boot = BOOT_INITRD;

    /* --arch aarch64: the virt machine under TCG, PL011 console, none of x86's parameters. */
    struct vm_config r = c; /* TCG, 2 vCPUs and the TSC rate; the agent port */
    r.arch = GUEST_AARCH64;
    r.vmm_path = "/usr/bin/qemu-system-aarch64";
    r.kernel = "/k/aarch64/vmlinuz.container";
    r.initrd = "/k/aarch64/initrd.img";
    r.accel = ACCEL_TCG;
    r.cpus = 1;
    r.quiet = true;
    r.firmware = NULL;
    r.share = SHARE_AUTO;
    r.vsock_cid = 0;
    a = vm_qemu_argv(&r);
    cmdline = after(a, "-append");
    tap_ok(strcmp(after(a, "-machine"), "virt") == 0 && strcmp(after(a, "-cpu"), "max") == 0 &&
               strcmp(after(a, "-accel"), "tcg") == 0,
           "aarch64: virt, -cpu max, TCG");
    tap_ok(strcmp(cmdline, "console=ttyAMA0 quiet panic=1") == 0,
           "aarch64: console=ttyAMA0 quiet panic=1, no x86 or TSC parameters");
    tap_ok(any_contains(a, "virtserialport,bus=vser0.0,chardev=agent0,name=agent.channel.0") &&
               strcmp(after(a, "-initrd"), "/k/aarch64/initrd.img") == 0,
           "aarch64: the same agent port and the initrd");
    vm_argv_free(a);

    struct vm_config h = {.hypervisor = HV_CLH,
                          .accel = ACCEL_KVM,
                          .vmm_path = "/usr/bin/cloud-hypervisor",
                          .kernel = "/k/vmlinux",
                          .initrd = "/k/initrd",
                          .memory_mib = 512,
                          .cpus = 1,
                          .quiet = true,
                          .hvsock_socket = "/run/kata-host/b/clh.vsock",
                          .share = SHARE_VIRTIOFS,
                          .virtiofsd_socket = "/run/kata-host/b/vfs.sock"};
    struct kerr *err = NULL;
    a = vm_clh_argv(&h, &err);
    tap_ok(a && strcmp(a[0], "/usr/bin/cloud-hypervisor") == 0 &&
               strcmp(after(a, "--kernel"), "/k/vmlinux") == 0 &&
               strcmp(after(a, "--initramfs"), "/k/initrd") == 0,
           "cloud-hypervisor: --kernel and --initramfs");
    tap_ok(a && strcmp(after(a, "--vsock"), "cid=3,socket=/run/kata-host/b/clh.vsock") == 0,
           "cloud-hypervisor: hybrid vsock socket, guest CID 3");
    tap_ok(a && strcmp(after(a, "--memory"), "size=512M,shared=on") == 0 &&
               strcmp(after(a, "--fs"), "tag=kataShared,socket=/run/kata-host/b/vfs.sock") == 0,
           "cloud-hypervisor: shared memory and --fs for virtio-fs");
    tap_ok(a && strcmp(after(a, "--cpus"), "boot=1") == 0 &&
               strcmp(after(a, "--serial"), "tty") == 0 &&
               !strstr(after(a, "--cmdline"), "nolapic_timer"),
           "cloud-hypervisor: --cpus boot=1, serial on tty, no TCG-only params");
    vm_argv_free(a);
    h.share = SHARE_9P;
    a = vm_clh_argv(&h, &err);
    tap_ok(!a && err && strstr(err->msg, "9p"), "cloud-hypervisor refuses 9p clearly");
    error_freep(&err);
    h.share = SHARE_AUTO;
    h.hvsock_socket = NULL;
    a = vm_clh_argv(&h, &err);
    tap_ok(!a && err, "cloud-hypervisor needs the vsock socket");
    error_freep(&err);
    return tap_done();
}
