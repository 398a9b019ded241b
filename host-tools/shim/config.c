/* The shim's configuration: a small TOML file of `key = value` lines (strings quoted, numbers
 * bare, `#` comments, [section] headers allowed and ignored), with the key names of Kata's own
 * configuration.toml where Kata has the setting. TOML because that is what Kata's users
 * already write for this runtime; only the flat subset, because every setting is a scalar.
 *
 * Read from $KATA_GUEST_SHIM_CONFIG, else /etc/kata-guest/shim.toml when it exists; without
 * either the guest files are found next to the binary (build/ in the tree,
 * $(PREFIX)/share/kata-containers/ installed) and the VM gets the defaults of kata-host run. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "shim.h"
#include "xalloc.h"

#define SHIM_CONFIG_DEFAULT "/etc/kata-guest/shim.toml"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A quoted string (basic, no escapes but \" and \\) or a bare word; NULL when malformed. */
static char *parse_value(char *v)
{
    if (*v != '"') {
        char *hash = strchr(v, '#');
        if (hash)
            *hash = '\0';
        v = trim(v);
        return *v ? xstrdup(v) : NULL;
    }
    char *out = xmalloc(strlen(v) + 1), *o = out;
    for (char *p = v + 1; *p; p++) {
        if (*p == '"') {
            char *rest = trim(p + 1);
            if (*rest && *rest != '#')
                break;
            *o = '\0';
            return out;
        }
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        *o++ = *p;
    }
    free(out);
    return NULL;
}

static int parse_uint(const char *path, int line, const char *key, const char *v, uint64_t max,
                      uint64_t *ret, struct kerr **err)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n == 0 || n > max || *v == '-')
        return make_error(err, EINVAL, "%s:%d: %s must be a number from 1 to %llu, not '%s'",
                          path, line, key, (unsigned long long)max, v);
    *ret = n;
    return 0;
}

static int apply(struct run_opts *o, const char *path, int line, const char *key, char *value,
                 struct kerr **err)
{
    uint64_t n;
    int r = 0;
    if (strcmp(key, "kernel") == 0)
        o->kernel = value;
    else if (strcmp(key, "initrd") == 0)
        o->initrd = value;
    else if (strcmp(key, "image") == 0)
        o->image = value;
    else if (strcmp(key, "firmware") == 0)
        o->firmware = value;
    else if (strcmp(key, "kernel_params") == 0)
        o->kernel_params = value;
    else if (strcmp(key, "boot") == 0) {
        if (strcmp(value, "initrd") == 0)
            o->boot = BOOT_INITRD;
        else if (strcmp(value, "image") == 0)
            o->boot = BOOT_IMAGE;
        else if (strcmp(value, "image-blk") == 0)
            o->boot = BOOT_IMAGE_BLK;
        else
            r = make_error(err, EINVAL, "%s:%d: boot must be initrd, image or image-blk", path,
                           line);
        free(value);
    } else if (strcmp(key, "hypervisor") == 0) {
        if (strcmp(value, "qemu") == 0)
            o->hypervisor = HV_QEMU;
        else if (strcmp(value, "cloud-hypervisor") == 0 || strcmp(value, "clh") == 0)
            o->hypervisor = HV_CLH;
        else if (strcmp(value, "auto") == 0)
            o->hypervisor = HV_AUTO;
        else
            r = make_error(err, EINVAL, "%s:%d: hypervisor must be qemu, cloud-hypervisor or auto",
                           path, line);
        free(value);
    } else if (strcmp(key, "accel") == 0) {
        if (strcmp(value, "kvm") == 0)
            o->accel = ACCEL_KVM;
        else if (strcmp(value, "tcg") == 0)
            o->accel = ACCEL_TCG;
        else if (strcmp(value, "auto") == 0)
            o->accel = ACCEL_AUTO;
        else
            r = make_error(err, EINVAL, "%s:%d: accel must be kvm, tcg or auto", path, line);
        free(value);
    } else if (strcmp(key, "shared_fs") == 0) {
        if (strcmp(value, "virtio-fs") == 0)
            o->share = SHARE_VIRTIOFS;
        else if (strcmp(value, "virtio-9p") == 0 || strcmp(value, "9p") == 0)
            o->share = SHARE_9P;
        else
            r = make_error(err, EINVAL, "%s:%d: shared_fs must be virtio-fs or virtio-9p", path,
                           line);
        free(value);
    } else if (strcmp(key, "default_memory") == 0) {
        r = parse_uint(path, line, key, value, 1 << 20, &n, err);
        if (r == 0)
            o->vm_memory_mib = n;
        free(value);
    } else if (strcmp(key, "default_vcpus") == 0) {
        r = parse_uint(path, line, key, value, 256, &n, err);
        if (r == 0)
            o->vm_cpus = (unsigned)n;
        free(value);
    } else {
        r = make_error(err, EINVAL, "%s:%d: unknown setting '%s'", path, line, key);
        free(value);
    }
    return r;
}

int shim_config_load(struct run_opts *o, struct kerr **err)
{
    o->vm_memory_mib = RUN_DEFAULT_VM_MEMORY_MIB;
    o->vm_cpus = RUN_DEFAULT_VM_CPUS;
    o->share = SHARE_AUTO;
    const char *path = getenv("KATA_GUEST_SHIM_CONFIG");
    bool explicit_path = path && *path;
    if (!explicit_path)
        path = SHIM_CONFIG_DEFAULT;
    cleanup_file FILE *f = fopen(path, "re");
    if (!f) {
        if (!explicit_path && errno == ENOENT)
            return 0;
        return make_error(err, errno, "configuration %s: %s", path, strerror(errno));
    }
    char buf[4096];
    for (int line = 1; fgets(buf, sizeof(buf), f); line++) {
        char *s = trim(buf);
        if (!*s || *s == '#' || *s == '[')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return make_error(err, EINVAL, "%s:%d: expected key = value", path, line);
        *eq = '\0';
        char *key = trim(s);
        char *value = parse_value(trim(eq + 1));
        if (!value)
            return make_error(err, EINVAL, "%s:%d: bad value for '%s'", path, line, key);
        int r = apply(o, path, line, key, value, err);
        if (r < 0)
            return r;
    }
    return 0;
}
