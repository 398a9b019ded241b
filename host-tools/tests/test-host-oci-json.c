/* OCI config.json -> grpc.Spec (host-tools/lib/oci-json.c), TAP. Real specs (`ctr oci spec`,
 * `crun spec`, `runc spec`) and a hand-written one using every field the agent reads go
 * through the converter and back out through the agent's own config.json writer
 * (agent/spec-json.c); jq -S compares the two documents, zero values dropped on both sides
 * (the writer leaves them out, as Go's omitempty does). Then exact values, the resources
 * object alone, and bad input: every truncation of a real spec, wrong types, out-of-range and
 * fractional integers, NULs, depth, invalid UTF-8. */
#include "tests/tap.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "cleanup.h"
#include "fsutil.h"
#include "oci-json.h"
#include "xalloc.h"

static const char *fixture_dir(void)
{
    const char *src = getenv("KATA_SRC");
    static char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fixtures/oci", src ? src : ".");
    return dir;
}

static char *fixture(const char *name)
{
    cleanup_free char *path = xasprintf("%s/%s", fixture_dir(), name);
    char *text = NULL;
    cleanup_error struct kerr *err = NULL;
    if (read_file(path, &text, &err) < 0) {
        printf("# %s\n", err->msg);
        return NULL;
    }
    return text;
}

static void free_spec(Grpc__Spec **s)
{
    protobuf_c_message_free_unpacked(*s ? &(*s)->base : NULL, NULL);
}
#define cleanup_spec __attribute__((cleanup(free_spec)))

/* Drops what the writer omits: null, false, 0, "", [] and {} object members, innermost first. */
static const char jq_zeroless[] =
    "walk(if type == \"object\" then with_entries(select(.value != null and .value != false "
    "and .value != 0 and .value != \"\" and .value != [] and .value != {})) else . end)";

static int run(const char *cmd)
{
    int r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void round_trip(const char *name)
{
    cleanup_free char *text = fixture(name);
    cleanup_error struct kerr *err = NULL;
    cleanup_spec Grpc__Spec *spec = NULL;
    if (!tap_ok(text && oci_json_parse_spec(text, strlen(text), &spec, &err) == 0,
                "%s converts (%s)", name, err ? err->msg : "ok"))
        return;
    char dir[] = "/tmp/oci-json.XXXXXX";
    if (!mkdtemp(dir)) {
        tap_ok(false, "mkdtemp");
        return;
    }
    cleanup_free char *out = xasprintf("%s/config.json", dir);
    if (!tap_ok(spec_json_save(spec, out, &err) == 0, "%s: the agent's writer saves it", name))
        return;
    cleanup_free char *cmd =
        xasprintf("jq -S '%s' '%s/%s' >%s/want && jq -S '%s' %s >%s/got && "
                  "if ! cmp -s %s/want %s/got; then diff %s/want %s/got | head -40 | sed 's/^/# "
                  "/'; exit 1; fi",
                  jq_zeroless, fixture_dir(), name, dir, jq_zeroless, out, dir, dir, dir, dir, dir);
    tap_ok(run(cmd) == 0, "%s: JSON -> Spec -> agent config.json equals the input (jq -S)", name);
    cleanup_free char *rm = xasprintf("rm -rf %s", dir);
    run(rm);
}

/* The wire form survives: pack, unpack, pack again gives the same bytes. */
static bool repacks(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    cleanup_free uint8_t *a = xmalloc(n ? n : 1), *b = NULL;
    protobuf_c_message_pack(m, a);
    ProtobufCMessage *u = protobuf_c_message_unpack(m->descriptor, NULL, n, a);
    if (!u)
        return false;
    size_t n2 = protobuf_c_message_get_packed_size(u);
    b = xmalloc(n2 ? n2 : 1);
    protobuf_c_message_pack(u, b);
    protobuf_c_message_free_unpacked(u, NULL);
    return n == n2 && memcmp(a, b, n) == 0;
}

static void test_full_values(void)
{
    cleanup_free char *text = fixture("full-spec.json");
    cleanup_error struct kerr *err = NULL;
    cleanup_spec Grpc__Spec *s = NULL;
    if (!tap_ok(text && oci_json_parse_spec(text, strlen(text), &s, &err) == 0,
                "full-spec.json converts"))
        return;
    Grpc__Process *p = s->process;
    tap_ok(p && p->user && p->user->n_additionalgids == 3 &&
               p->user->additionalgids[2] == UINT32_MAX && p->user->uid == 1000 &&
               strcmp(p->user->username, "builder") == 0 && p->consolesize &&
               p->consolesize->height == 40 && p->oomscoreadj == -998 && p->terminal &&
               p->nonewprivileges,
           "process.user (uint32 max in additionalGids), consoleSize, oomScoreAdj, booleans");
    tap_is_str(p && p->n_args == 3 ? p->args[2] : NULL,
               "echo \"h\xc3\xa9llo\" \xe2\x98\x83 \xf0\x9f\x98\x80\tdone",
               "escapes and a surrogate pair decode to UTF-8");
    tap_ok(p && p->n_rlimits == 2 && p->rlimits[1]->hard == UINT64_MAX &&
               p->rlimits[0]->soft == 1024 && strcmp(p->rlimits[0]->type, "RLIMIT_NOFILE") == 0,
           "rlimits, with uint64 max");
    tap_ok(p && p->capabilities && p->capabilities->n_bounding == 3 &&
               p->capabilities->n_ambient == 1 &&
               strcmp(p->capabilities->inheritable[0], "CAP_KILL") == 0,
           "capabilities");
    Grpc__Linux *l = s->linux;
    Grpc__LinuxResources *r = l ? l->resources : NULL;
    tap_ok(r && r->n_devices == 3 && !r->devices[0]->allow && r->devices[0]->major == 0 &&
               r->devices[2]->minor == -1 && strcmp(r->devices[2]->access, "rw") == 0,
           "resources.devices: deny-all first, minor -1");
    tap_ok(r && r->memory && r->memory->limit == 536870912 && r->memory->kernel == -1 &&
               r->memory->swappiness == 60 && r->memory->disableoomkiller && r->cpu &&
               r->cpu->quota == 50000 && r->cpu->period == 100000 &&
               strcmp(r->cpu->cpus, "0-1") == 0 && r->pids && r->pids->limit == 1024,
           "memory, cpu, pids");
    tap_ok(r && r->blockio && r->blockio->weight == 500 && r->blockio->n_weightdevice == 1 &&
               r->blockio->weightdevice[0]->leafweight == 65535 &&
               r->blockio->n_throttlewriteiopsdevice == 1 &&
               r->blockio->throttlewriteiopsdevice[0]->rate == 500 && r->n_hugepagelimits == 2 &&
               strcmp(r->hugepagelimits[1]->pagesize, "1GB") == 0 && r->network &&
               r->network->classid == 1048577 && r->network->n_priorities == 2,
           "blockIO, hugepageLimits (pageSize), network (classID)");
    Grpc__LinuxSeccomp *sc = l ? l->seccomp : NULL;
    tap_ok(sc && sc->n_syscalls == 4 &&
               sc->syscalls[0]->errno_ret_case == GRPC__LINUX_SYSCALL__ERRNO_RET__NOT_SET &&
               sc->syscalls[3]->errno_ret_case == GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET &&
               sc->syscalls[3]->errnoret == 1 && sc->syscalls[1]->n_args == 1 &&
               sc->syscalls[1]->args[0]->value == 4294967295u &&
               strcmp(sc->syscalls[2]->args[0]->op, "SCMP_CMP_MASKED_EQ") == 0,
           "seccomp: errnoRet as the oneof, args");
    tap_ok(l && l->n_uidmappings == 1 && l->uidmappings[0]->hostid == 100000 &&
               l->n_gidmappings == 2 && l->gidmappings[1]->containerid == 65536 &&
               l->n_sysctl == 2 && s->n_annotations == 3 && l->n_namespaces == 7 &&
               strcmp(l->namespaces[6]->path, "/var/run/netns/cni-1") == 0 && l->n_devices == 2 &&
               l->devices[0]->filemode == 438 && l->intelrdt &&
               strcmp(l->rootfspropagation, "rslave") == 0,
           "id mappings, sysctl and annotations maps, namespaces, devices, intelRdt");
    tap_ok(s->hooks && s->hooks->n_prestart == 1 && s->hooks->prestart[0]->timeout == 5 &&
               s->hooks->n_createruntime == 1 && s->hooks->n_poststop == 1 &&
               s->hooks->poststop[0]->n_env == 2 && !s->solaris && !s->windows,
           "hooks of all six kinds; no Solaris/Windows placeholders");
    tap_ok(repacks(&s->base), "the Spec packs, unpacks and packs to the same bytes");
}

static void test_resources(void)
{
    /* what containerd's UpdateTaskRequest carries for `ctr task update --memory-limit ...` */
    const char upd[] =
        "{\"memory\":{\"limit\":268435456,\"swap\":268435456},\"cpu\":{\"shares\":512,"
        "\"quota\":20000,\"period\":100000,\"cpus\":\"\",\"mems\":\"\"},"
        "\"pids\":{\"limit\":100},\"blockIO\":{},\"unified\":{\"memory.high\":\"1G\"}}";
    cleanup_error struct kerr *err = NULL;
    Grpc__LinuxResources *r = NULL;
    int rc = oci_json_parse_resources(upd, strlen(upd), &r, &err);
    tap_ok(rc == 0 && r && r->memory && r->memory->limit == 268435456 && r->cpu &&
               r->cpu->shares == 512 && r->cpu->quota == 20000 && r->pids &&
               r->pids->limit == 100 && r->blockio && r->n_devices == 0,
           "LinuxResources alone, unknown 'unified' ignored (%s)", err ? err->msg : "ok");
    protobuf_c_message_free_unpacked(r ? &r->base : NULL, NULL);
    r = NULL;
    const char neg[] = "{\"memory\":{\"swappiness\":-1}}";
    rc = oci_json_parse_resources(neg, strlen(neg), &r, &err);
    tap_ok(rc == -EINVAL && !r && err &&
               strstr(err->msg, "invalid OCI resources: memory.swappiness: -1 is out of range"),
           "a negative swappiness is refused: %s", err ? err->msg : "accepted");
    error_freep(&err);
    rc = oci_json_parse_resources("[]", 2, &r, &err);
    tap_ok(rc == -EINVAL && err && strstr(err->msg, "(top level): an object expected, found array"),
           "resources must be an object: %s", err ? err->msg : "accepted");
}

static void test_tolerated(void)
{
    const char t[] =
        "{\"ociVersion\":\"1.2.0\",\"hostname\":null,\"domainname\":\"x\",\"process\":{"
        "\"args\":[\"sh\",null],\"user\":{\"uid\":5,\"umask\":18},\"scheduler\":{\"policy\":"
        "\"SCHED_OTHER\"},\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\"}},\"mounts\":[null,{"
        "\"destination\":\"/a\",\"uidMappings\":[{\"containerID\":0}]}],\"solaris\":5,"
        "\"windows\":{\"layerFolders\":[1]},\"linux\":{\"resources\":null,\"personality\":{"
        "\"domain\":\"LINUX\"},\"timeOffsets\":{}},\"vm\":{\"hypervisor\":{\"path\":\"/q\"}}}";
    cleanup_error struct kerr *err = NULL;
    cleanup_spec Grpc__Spec *s = NULL;
    int rc = oci_json_parse_spec(t, strlen(t), &s, &err);
    tap_ok(rc == 0 && s && strcmp(s->version, "1.2.0") == 0 && s->hostname[0] == '\0' &&
               s->process && s->process->n_args == 2 && s->process->args[1][0] == '\0' &&
               s->process->user->uid == 5 && s->n_mounts == 2 && s->mounts[0] &&
               s->mounts[0]->destination[0] == '\0' &&
               strcmp(s->mounts[1]->destination, "/a") == 0 && !s->solaris && !s->windows &&
               s->linux && !s->linux->resources,
           "unknown keys ignored, null means unset (a null element is the zero value), "
           "solaris/windows skipped (%s)",
           err ? err->msg : "ok");
}

static void test_duplicates(void)
{
    const char t[] = "{\"hostname\":\"a\",\"annotations\":{\"k\":\"1\",\"j\":\"x\",\"k\":\"2\"},"
                     "\"hostname\":\"b\"}";
    cleanup_error struct kerr *err = NULL;
    cleanup_spec Grpc__Spec *s = NULL;
    int rc = oci_json_parse_spec(t, strlen(t), &s, &err);
    tap_ok(rc == 0 && strcmp(s->hostname, "b") == 0 && s->n_annotations == 2 &&
               strcmp(s->annotations[0]->key, "j") == 0 &&
               strcmp(s->annotations[1]->key, "k") == 0 &&
               strcmp(s->annotations[1]->value, "2") == 0,
           "a repeated key keeps its last value, in maps too (each key sent once)");
}

static const struct {
    const char *json;
    const char *error;
} bad[] = {
    {"{\"process\":{\"args\":\"sh\"}}", "process.args: an array expected, found string"},
    {"{\"process\":{\"user\":{\"uid\":-1}}}", "process.user.uid: -1 is out of range"},
    {"{\"process\":{\"user\":{\"uid\":4294967296}}}",
     "process.user.uid: 4294967296 is out of range (at most 4294967295)"},
    {"{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":70000}}}}",
     "linux.resources.blockIO.weight: 70000 is out of range (at most 65535)"},
    {"{\"linux\":{\"resources\":{\"blockIO\":{\"weightDevice\":[{\"leafWeight\":65536}]}}}}",
     "linux.resources.blockIO.weightDevice[0].leafWeight: 65536 is out of range"},
    {"{\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775808}}}}",
     "linux.resources.memory.limit: 9223372036854775808 is out of range"},
    {"{\"process\":{\"rlimits\":[{\"hard\":18446744073709551616}]}}",
     "process.rlimits[0].hard: 18446744073709551616 is out of range"},
    {"{\"linux\":{\"resources\":{\"memory\":{\"limit\":1.5}}}}",
     "linux.resources.memory.limit: an integer expected, found 1.5"},
    {"{\"linux\":{\"resources\":{\"pids\":{\"limit\":1e3}}}}",
     "linux.resources.pids.limit: an integer expected, found 1e3"},
    {"{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":\"1024\"}]}}",
     "process.rlimits[0].hard: an integer expected, found string"},
    {"{\"annotations\":{\"a\":\"b\",\"k\":1}}",
     "annotations[\"k\"]: a string expected, found number"},
    {"{\"linux\":{\"sysctl\":[]}}", "linux.sysctl: an object expected, found array"},
    {"{\"root\":{\"readonly\":\"yes\"}}", "root.readonly: a boolean expected, found string"},
    {"{\"mounts\":[1]}", "mounts[0]: an object expected, found number"},
    {"{\"process\":{\"env\":[\"A=1\",2]}}", "process.env[1]: a string expected, found number"},
    {"{\"linux\":{\"seccomp\":{\"syscalls\":[{\"errnoRet\":-1}]}}}",
     "linux.seccomp.syscalls[0].errnoRet: -1 is out of range"},
    {"{\"process\":{\"consoleSize\":{\"height\":true}}}",
     "process.consoleSize.height: an integer expected, found boolean"},
    {"{\"hostname\":\"a\\u0000b\"}", "hostname: string holds a NUL character"},
    {"{\"hostname\":\"\xff\"}", "invalid OCI spec: JSON: invalid UTF-8 in string at byte 13"},
    {"[]", "invalid OCI spec: (top level): an object expected, found array"},
    {"{\"ociVersion\":1e999}", "JSON: number out of range at byte 14"},
    {"{\"process\":{\"args\":[\"sh\"]}} trailing", "end of input expected"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cleanup_error struct kerr *err = NULL;
        Grpc__Spec *s = NULL;
        int rc = oci_json_parse_spec(bad[i].json, strlen(bad[i].json), &s, &err);
        tap_ok(rc == -EINVAL && !s && err && err->status == 3 && strstr(err->msg, bad[i].error),
               "bad spec %zu: %s", i, err ? err->msg : "(accepted)");
        if (s)
            protobuf_c_message_free_unpacked(&s->base, NULL);
    }

    size_t depth = 100000;
    char *deep = xmalloc(depth + 32);
    int n = sprintf(deep, "{\"annotations\":");
    memset(deep + n, '[', depth);
    cleanup_error struct kerr *err = NULL;
    Grpc__Spec *s = NULL;
    int rc = oci_json_parse_spec(deep, (size_t)n + depth, &s, &err);
    tap_ok(rc == -E2BIG && !s && err && strstr(err->msg, "nesting deeper than 64 levels"),
           "100000 nested arrays stop at the depth limit: %s", err ? err->msg : "(accepted)");
    free(deep);
}

/* Every proper prefix of a real spec is refused with a message, without leaks or crashes. */
static void test_truncated(void)
{
    cleanup_free char *text = fixture("ctr-spec.json");
    if (!tap_ok(text != NULL, "ctr-spec.json read"))
        return;
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        cleanup_error struct kerr *err = NULL;
        Grpc__Spec *s = NULL;
        if (oci_json_parse_spec(text, cut, &s, &err) == -EINVAL && !s && err && err->msg &&
            strstr(err->msg, "invalid OCI spec: JSON: "))
            refused++;
        if (s)
            protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    tap_ok(refused == len, "all %zu truncations of ctr-spec.json refused (%zu were)", len, refused);
}

int main(void)
{
    round_trip("ctr-spec.json");
    round_trip("crun-spec.json");
    round_trip("runc-spec.json");
    round_trip("full-spec.json");
    test_full_values();
    test_resources();
    test_tolerated();
    test_duplicates();
    test_bad();
    test_truncated();
    return tap_done();
}
