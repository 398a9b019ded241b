/* Where kata-host finds the guest: next to the build tree (build/bin/kata-host ->
 * build/vmlinux.container) or installed ($PREFIX/bin/kata-host ->
 * $PREFIX/share/kata-containers/vmlinux.container). */
#pragma once

/* Returns a malloc'd path of the first existing candidate for `file`, or NULL. */
char *paths_find_artifact(const char *file);
/* A file of QEMU's data directory (firmware) for the QEMU binary at vmm_path:
 * <prefix>/share/qemu/<file> beside <prefix>/bin, else /usr/share/qemu; malloc'd or NULL. */
char *paths_qemu_data(const char *vmm_path, const char *file);
/* Looks a program up in PATH; malloc'd or NULL. */
char *paths_which(const char *prog);
/* Removes a directory tree (no symlink following, stays on one file system and out of every
 * mount below path: those give -EBUSY and are left as they are). */
int paths_remove_tree(const char *path);
