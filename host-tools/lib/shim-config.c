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
#include "shim-config.h"
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
        return make_error(err, EINVAL, "%s:%d: %s must be a number from 1 to %llu, not '%s'", path,
                          line, key, (unsigned long long)max, v);
    *ret = n;
    return 0;
}

static int pick(const char *path, int line, const char *key, const char *value,
                const char *const *names, const int *values, size_t n, int *ret, struct kerr **err)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *ret = values[i];
            return 0;
        }
    return make_error(err, EINVAL, "%s:%d: %s cannot be '%s'", path, line, key, value);
}

#define PICK(names, values, ret)                                                                   \
    pick(path, line, key, value, names, values, sizeof(names) / sizeof(*names), ret, err)

enum key_id {
    K_KERNEL,
    K_INITRD,
    K_IMAGE,
    K_FIRMWARE,
    K_KERNEL_PARAMS,
    K_BOOT,
    K_HYPERVISOR,
    K_ACCEL,
    K_SHARED_FS,
    K_DEFAULT_MEMORY,
    K_DEFAULT_VCPUS,
};

/* The settings, in the order the man page lists them (`--list-options` prints them). */
static const char *const config_keys[] = {
    [K_KERNEL] = "kernel",
    [K_INITRD] = "initrd",
    [K_IMAGE] = "image",
    [K_FIRMWARE] = "firmware",
    [K_KERNEL_PARAMS] = "kernel_params",
    [K_BOOT] = "boot",
    [K_HYPERVISOR] = "hypervisor",
    [K_ACCEL] = "accel",
    [K_SHARED_FS] = "shared_fs",
    [K_DEFAULT_MEMORY] = "default_memory",
    [K_DEFAULT_VCPUS] = "default_vcpus",
};

void shim_config_list(FILE *out)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
        fprintf(out, "config %s\n", config_keys[i]);
}

/* The configuration owns its strings (run_opts borrows them elsewhere, from argv). */
static void set_string(const char **field, char *value)
{
    free((char *)*field);
    *field = value;
}

void shim_config_clear(struct run_opts *o)
{
    set_string(&o->kernel, NULL);
    set_string(&o->initrd, NULL);
    set_string(&o->image, NULL);
    set_string(&o->firmware, NULL);
    set_string(&o->kernel_params, NULL);
}

static int apply(struct run_opts *o, const char *path, int line, const char *key, char *value,
                 struct kerr **err)
{
    static const char *const boots[] = {"initrd", "image", "image-blk"};
    static const int boot_v[] = {BOOT_INITRD, BOOT_IMAGE, BOOT_IMAGE_BLK};
    static const char *const hvs[] = {"qemu", "cloud-hypervisor", "clh", "auto"};
    static const int hv_v[] = {HV_QEMU, HV_CLH, HV_CLH, HV_AUTO};
    static const char *const accels[] = {"kvm", "tcg", "auto"};
    static const int accel_v[] = {ACCEL_KVM, ACCEL_TCG, ACCEL_AUTO};
    static const char *const shares[] = {"virtio-fs", "virtio-9p", "9p"};
    static const int share_v[] = {SHARE_VIRTIOFS, SHARE_9P, SHARE_9P};
    size_t id = 0;
    while (id < sizeof(config_keys) / sizeof(*config_keys) && strcmp(config_keys[id], key) != 0)
        id++;
    uint64_t n;
    int v = 0, r = 0;
    switch ((enum key_id)id) {
    case K_KERNEL:
        set_string(&o->kernel, value);
        return 0;
    case K_INITRD:
        set_string(&o->initrd, value);
        return 0;
    case K_IMAGE:
        set_string(&o->image, value);
        return 0;
    case K_FIRMWARE:
        set_string(&o->firmware, value);
        return 0;
    case K_KERNEL_PARAMS:
        set_string(&o->kernel_params, value);
        return 0;
    case K_BOOT:
        if ((r = PICK(boots, boot_v, &v)) == 0)
            o->boot = (enum boot_kind)v;
        break;
    case K_HYPERVISOR:
        if ((r = PICK(hvs, hv_v, &v)) == 0)
            o->hypervisor = (enum hypervisor)v;
        break;
    case K_ACCEL:
        if ((r = PICK(accels, accel_v, &v)) == 0)
            o->accel = (enum accel_mode)v;
        break;
    case K_SHARED_FS:
        if ((r = PICK(shares, share_v, &v)) == 0)
            o->share = (enum share_kind)v;
        break;
    case K_DEFAULT_MEMORY:
        if ((r = parse_uint(path, line, key, value, 1 << 20, &n, err)) == 0)
            o->vm_memory_mib = n;
        break;
    case K_DEFAULT_VCPUS:
        if ((r = parse_uint(path, line, key, value, 256, &n, err)) == 0)
            o->vm_cpus = (unsigned)n;
        break;
    default:
        r = make_error(err, EINVAL, "%s:%d: unknown setting '%s'", path, line, key);
        break;
    }
    free(value);
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

void shim_config_sandbox(struct run_opts *o, const char *name, const char *run_dir,
                         const char *hostname)
{
    o->name = name;
    o->run_dir = run_dir;
    o->share_always = true;
    o->hostname = hostname;
}
