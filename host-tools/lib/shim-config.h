/* The containerd shim's configuration, in the host library because `kata-host pool start
 * --shim-size` keeps VMs of exactly the shape the shim asks for (shim-config.c says where
 * the file is read from). */
#pragma once
#include <stdio.h>

#include "error.h"
#include "options.h"

int shim_config_load(struct run_opts *opts, struct kerr **err);
/* Frees the strings shim_config_load put into opts. */
void shim_config_clear(struct run_opts *opts);
/* "config KEY" for every setting (--list-options, for the man page's drift test). */
void shim_config_list(FILE *out);
/* What the shim adds to its configuration for one sandbox's VM: its name, its run directory
 * and a shared directory always (containers come later). The hostname does not shape the VM. */
void shim_config_sandbox(struct run_opts *opts, const char *name, const char *run_dir,
                         const char *hostname);
