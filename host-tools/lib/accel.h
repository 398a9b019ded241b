/* Choosing the accelerator. /dev/kvm existing proves little: on nested hosts (like the CI
 * machines) KVM runs a trivial guest but hangs a real kernel. So:
 *   --accel tcg|kvm (or KATA_HOST_ACCEL) forces the choice;
 *   auto uses KVM only when /dev/kvm runs a tiny real-mode guest correctly AND a previous
 *   full boot under KVM on this host (since its last reboot) reached the agent. When no
 *   verdict exists yet, the caller boots once with KVM under a short deadline and records
 *   the outcome with accel_record_verdict(); a hang falls back to TCG. */
#pragma once
#include <stdbool.h>

#include "options.h"

enum accel_verdict { ACCEL_VERDICT_UNKNOWN, ACCEL_VERDICT_KVM_OK, ACCEL_VERDICT_KVM_BROKEN };

/* Opens /dev/kvm, creates a VM and a vCPU, and runs a few real-mode instructions (an OUT to a
 * port and HLT) under a 1 s alarm. True when KVM answered as expected. */
bool accel_kvm_probe(void);
/* Where the verdict lives: a tmpfs file, so it is forgotten at reboot. */
#define ACCEL_VERDICT_PATH "/run/kata-host/.kvm-verdict"
enum accel_verdict accel_read_verdict(const char *path);
void accel_record_verdict(const char *path, enum accel_verdict v);

/* The decision for `requested` (ACCEL_AUTO may come back as ACCEL_AUTO meaning "try KVM with
 * a deadline, then fall back"). */
enum accel_mode accel_choose(enum accel_mode requested, const char *verdict_path);
const char *accel_name(enum accel_mode m);
