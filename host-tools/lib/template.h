/* VM templating, as Kata's VM factory does it: boot one VM per configuration, save it once
 * its agent is ready (guest RAM in a tmpfs file, device state in a small migration stream),
 * then start every later VM of that configuration from it: QEMU maps the RAM file privately
 * (copy-on-write) and loads the device state (-incoming, x-ignore-shared). A clone reaches
 * the agent in ~0.1 s instead of a ~1 s TCG boot. Clones share the template's kernel RNG
 * state and clock, so kata-host reseeds the RNG (ReseedRandomDev) and sets the clock
 * (SetGuestDateTime) before anything else. The kernel's address layout stays the template's;
 * /proc/sys/kernel/random/boot_id does not (the kernel makes it at its first read, which comes
 * after the reseed). */
#pragma once
#include <stdbool.h>

#include "error.h"
#include "vm.h"

#define TEMPLATE_BASE_DIR "/run/kata-host/templates"
/* The 9p export path of templated VMs: always empty here; each VM's QEMU sees its own shared
 * directory there (vm.h: ns_bind_src). */
#define TEMPLATE_9P_EXPORT "/run/kata-host/templates-9p-export"

struct template
{
    char *dir;   /* <base>/<key> */
    char *mem;   /* guest RAM */
    char *state; /* device state (migration stream) */
};

/* Whether VMs of this configuration can start from a template: QEMU, TCG (a KVM boot is
 * fast anyway), the serial channel (a vhost-vsock guest CID is per VM), and no shared directory
 * or a 9p one at TEMPLATE_9P_EXPORT (virtio-fs cannot: vhost-user needs shared RAM and QEMU
 * does not migrate it; an unmounted 9p device migrates). */
bool template_usable(const struct vm_config *c);
/* What the template of `c` depends on: its QEMU command line with per-VM paths left out, and
 * the identity (device, inode, size, mtime) of QEMU, firmware, kernel and initrd. */
char *template_inputs(const struct vm_config *c);
/* The name of c's template directory: a hash of its inputs (malloc'd). VMs of equal keys are
 * interchangeable (the VM pool hands out only those of the taker's key). */
char *template_key(const struct vm_config *c);
/* The template for `c` under `base`, built first when missing (one full boot; concurrent
 * callers wait for the same build). boot_timeout_ms bounds the boot. */
int template_get(const struct vm_config *c, const char *base, int boot_timeout_ms,
                 struct template *ret, struct kerr **err);
/* For a clone started with c->incoming and c->qmp_socket: loads the state and runs it. */
int template_restore(const char *qmp_socket, const struct template *t, int timeout_ms,
                     struct kerr **err);
/* Removes a template that did not restore and stops templating for its configuration until
 * the host reboots (the marker sits next to it, in tmpfs); `why` goes into the marker. */
void template_discard(const struct template *t, const char *why);
void template_free(struct template *t);
