/* The hot-plug device matching (agent/uevent.c): a block matcher against a uevent's devpath,
 * subsystem and devname, and the runtime's PCI path turned into a sysfs devpath (bridges
 * followed under a fake sysfs: 0000:00:02.0 is a bridge to bus 0000:01, whose 03.0 is a
 * bridge to 0000:02). Input: kind byte, then key, devpath, subsystem, devname and PCI path
 * separated by NUL bytes. */
#include "fuzz.h"

#include <limits.h>
#include <sys/stat.h>

#include "agent/uevent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static char sysfs[PATH_MAX];

static void make_sysfs(void)
{
    char tmpl[] = "/tmp/fuzz-uevent.XXXXXX";
    if (!mkdtemp(tmpl))
        abort();
    snprintf(sysfs, sizeof(sysfs), "%s", tmpl);
    static const char *const dirs[] = {
        "/devices/pci0000:00/0000:00:02.0/pci_bus/0000:01",
        "/devices/pci0000:00/0000:00:02.0/0000:01:03.0/pci_bus/0000:02",
        /* a bridge with two buses is refused */
        "/devices/pci0000:00/0000:00:04.0/pci_bus/0000:05",
        "/devices/pci0000:00/0000:00:04.0/pci_bus/0000:06",
    };
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        cleanup_free char *p = xasprintf("%s%s", sysfs, dirs[i]);
        if (mkdir_p(p, 0755, NULL) < 0)
            abort();
    }
}

static void remove_sysfs(void)
{
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", sysfs);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", sysfs);
}

/* The next NUL-separated field of [*p, end), "" past the end. */
static const char *field(const char **p, const char *end)
{
    if (*p >= end)
        return "";
    const char *s = *p;
    *p += strlen(s) + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sysfs[0]) {
        make_sysfs();
        atexit(remove_sysfs);
    }
    if (size < 1)
        return 0;
    cleanup_free char *text = fuzz_cstr(data + 1, size - 1);
    const char *p = text, *end = text + size - 1;
    struct blk_matcher m = {.kind = (enum blk_match_kind)(data[0] % 4)};
    snprintf(m.key, sizeof(m.key), "%s", field(&p, end));
    const char *devpath = field(&p, end), *subsystem = field(&p, end), *devname = field(&p, end),
               *pcipath = field(&p, end);

    bool hit = blk_matcher_match(&m, devpath, subsystem, devname);
    FUZZ_CHECK(!hit || (strcmp(subsystem, "block") == 0 && devname[0]),
               "matched a non-block event");
    char desc[512];
    blk_matcher_describe(&m, desc, sizeof(desc));

    char out[256];
    cleanup_error struct kerr *err = NULL;
    if (pci_path_to_devpath(sysfs, pcipath, out, sizeof(out), &err) == 0) {
        FUZZ_CHECK(strncmp(out, "/devices/pci0000:00/0000:00:", 28) == 0, "devpath %s", out);
        FUZZ_CHECK(strlen(out) < sizeof(out), "devpath too long");
    } else {
        FUZZ_CHECK(err && err->msg, "failure without a message");
    }
    return 0;
}
