/* The shim's TOML configuration: every setting reaches run_opts, and a bad file is a clear
 * error naming file, line and setting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "tests/tap.h"

static char path[] = "/tmp/test-shim-config.XXXXXX";

static int load_text(const char *text, struct run_opts *o, struct kerr **err)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    memset(o, 0, sizeof(*o));
    return shim_config_load(o, err);
}

static void expect_error(const char *text, const char *want, const char *what)
{
    struct run_opts o;
    struct kerr *err = NULL;
    int r = load_text(text, &o, &err);
    tap_ok(r < 0 && err && strstr(err->msg, want), "%s: '%s'", what, err ? err->msg : "no error");
    error_free(err);
    shim_config_clear(&o);
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    setenv("KATA_GUEST_SHIM_CONFIG", path, 1);

    struct run_opts o;
    struct kerr *err = NULL;
    int r = load_text("# Kata-style file\n"
                      "[hypervisor.qemu]\n"
                      "kernel = \"/k/vmlinux\"   # trailing comment\n"
                      "initrd = \"/k/initrd.img\"\n"
                      "image = \"/k/image\"\n"
                      "firmware = \"default\"\n"
                      "kernel_params = \"quiet \\\"x\\\" agent.log=debug\"\n"
                      "boot = \"image-blk\"\n"
                      "hypervisor = \"qemu\"\n"
                      "accel = \"tcg\"\n"
                      "shared_fs = \"virtio-fs\"\n"
                      "default_memory = 512\n"
                      "default_vcpus = 2\n",
                      &o, &err);
    tap_ok(r == 0, "a complete file loads (%s)", err ? err->msg : "ok");
    tap_ok(o.kernel && strcmp(o.kernel, "/k/vmlinux") == 0, "kernel");
    tap_ok(o.initrd && strcmp(o.initrd, "/k/initrd.img") == 0, "initrd");
    tap_ok(o.image && strcmp(o.image, "/k/image") == 0, "image");
    tap_ok(o.firmware && strcmp(o.firmware, "default") == 0, "firmware");
    tap_ok(o.kernel_params && strcmp(o.kernel_params, "quiet \"x\" agent.log=debug") == 0,
           "kernel_params with escaped quotes: %s", o.kernel_params ? o.kernel_params : "");
    tap_ok(o.boot == BOOT_IMAGE_BLK, "boot");
    tap_ok(o.hypervisor == HV_QEMU, "hypervisor");
    tap_ok(o.accel == ACCEL_TCG, "accel");
    tap_ok(o.share == SHARE_VIRTIOFS, "shared_fs");
    tap_ok(o.vm_memory_mib == 512, "default_memory");
    tap_ok(o.vm_cpus == 2, "default_vcpus");
    error_freep(&err);
    shim_config_clear(&o);
    r = load_text("kernel = \"/a\"\nkernel = \"/b\"\n", &o, &err);
    tap_ok(r == 0 && o.kernel && strcmp(o.kernel, "/b") == 0, "the last of a repeated key counts");
    shim_config_clear(&o);

    r = load_text("", &o, &err);
    tap_ok(r == 0 && o.vm_memory_mib == RUN_DEFAULT_VM_MEMORY_MIB &&
               o.vm_cpus == RUN_DEFAULT_VM_CPUS && o.share == SHARE_AUTO && !o.kernel,
           "an empty file gives the defaults");
    error_freep(&err);

    expect_error("colour = \"blue\"\n", ":1: unknown setting 'colour'", "unknown key");
    expect_error("\n\nboot = \"floppy\"\n", ":3: boot cannot be 'floppy'", "bad enum value");
    expect_error("default_memory = 0\n", "default_memory must be a number from 1", "zero memory");
    expect_error("default_vcpus = -1\n", "default_vcpus must be a number from 1 to 256",
                 "negative vcpus");
    expect_error("default_vcpus = 999\n", "from 1 to 256", "too many vcpus");
    expect_error("kernel = \"unterminated\n", ":1: bad value for 'kernel'", "unterminated string");
    expect_error("kernel = \"a\" junk\n", "bad value for 'kernel'", "junk after a string");
    expect_error("just words\n", ":1: expected key = value", "no '='");

    unlink(path);
    memset(&o, 0, sizeof(o));
    r = shim_config_load(&o, &err);
    tap_ok(r < 0 && err && strstr(err->msg, path), "a named file that is missing is an error (%s)",
           err ? err->msg : "none");
    error_freep(&err);
    unsetenv("KATA_GUEST_SHIM_CONFIG");
    return tap_done();
}
