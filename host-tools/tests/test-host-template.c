/* VM templating: what a template depends on, which configurations can have one, and the
 * QMP answer parsing the save/restore relies on. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qmp.h"
#include "template.h"
#include "tests/tap.h"

int main(void)
{
    tap_plan(9);
    char dir[] = "/tmp/test-template.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char kernel[64], initrd[64];
    snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
    snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
    close(open(kernel, O_CREAT | O_WRONLY, 0644));
    close(open(initrd, O_CREAT | O_WRONLY, 0644));
    struct vm_config c = {.hypervisor = HV_QEMU,
                          .accel = ACCEL_TCG,
                          .vmm_path = "/usr/bin/qemu-system-x86_64",
                          .name = "box1",
                          .kernel = kernel,
                          .initrd = initrd,
                          .memory_mib = 256,
                          .cpus = 1,
                          .quiet = true,
                          .serial_socket = "/run/kata-host/box1/agent.sock"};
    tap_ok(template_usable(&c), "QEMU, TCG, serial channel, no share: templated");
    char *a = template_inputs(&c);
    struct vm_config d = c;
    d.name = "box2";
    d.serial_socket = "/run/kata-host/box2/agent.sock";
    d.qmp_socket = "/run/kata-host/box2/qmp.sock";
    d.mem_file = "/run/kata-host/templates/x/mem";
    d.incoming = true;
    char *b = template_inputs(&d);
    tap_ok(strcmp(a, b) == 0, "per-VM names and paths do not change the inputs");
    free(b);
    d = c;
    d.memory_mib = 512;
    b = template_inputs(&d);
    tap_ok(strcmp(a, b) != 0, "another memory size is another template");
    free(b);
    /* A rebuilt initrd (new mtime) must not restore the old guest. */
    struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
    utimensat(AT_FDCWD, initrd, times, 0);
    b = template_inputs(&c);
    tap_ok(strcmp(a, b) != 0 && strstr(b, "initrd ") != NULL,
           "a changed initrd file changes the inputs");
    free(b);
    free(a);
    d = c;
    d.accel = ACCEL_KVM;
    tap_ok(!template_usable(&d), "KVM boots: no template");
    d = c;
    d.share = SHARE_VIRTIOFS;
    tap_ok(!template_usable(&d), "a shared directory: no template");
    d = c;
    d.vsock_cid = 7;
    tap_ok(!template_usable(&d), "vhost-vsock: no template (the guest CID is per VM)");

    char *s = qmp_string("{\"return\": {\"status\": \"inmigrate\", \"running\": false}}", "status");
    tap_ok(s && strcmp(s, "inmigrate") == 0, "qmp_string reads a string value");
    free(s);
    s = qmp_string("{\"return\": {\"running\": false}}", "status");
    tap_ok(s == NULL, "qmp_string: absent key -> NULL");
    unlink(kernel);
    unlink(initrd);
    rmdir(dir);
    return tap_done();
}
