/* Unit tests of config.json (agent/spec-json.c): the OCI JSON names of the protobuf fields,
 * maps as objects, unset values left out, oneof members written when set, escaping (TAP). */
#include "tests/tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "cleanup.h"
#include "fsutil.h"

static char *to_json(const Grpc__Spec *spec)
{
    char path[] = "/tmp/spec-json.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    struct kerr *err = NULL;
    char *out = NULL;
    if (spec_json_save(spec, path, &err) < 0 || read_file(path, &out, &err) < 0)
        out = NULL;
    error_free(err);
    unlink(path);
    return out;
}

int main(void)
{
    tap_plan(3);

    Grpc__Spec spec = GRPC__SPEC__INIT;
    Grpc__Process proc = GRPC__PROCESS__INIT;
    Grpc__User user = GRPC__USER__INIT;
    Grpc__Root root = GRPC__ROOT__INIT;
    Grpc__Linux lx = GRPC__LINUX__INIT;
    Grpc__LinuxIDMapping map = GRPC__LINUX_IDMAPPING__INIT;
    Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
    Grpc__LinuxCPU cpu = GRPC__LINUX_CPU__INIT;
    Grpc__Spec__AnnotationsEntry ann = GRPC__SPEC__ANNOTATIONS_ENTRY__INIT;
    char *args[] = {"/bin/sh", "-c", "echo \"hi\"\\\n"};
    spec.version = "1.1.0";
    proc.n_args = 3;
    proc.args = args;
    proc.cwd = "/";
    user.uid = 1000;
    proc.user = &user;
    proc.oomscoreadj = -998;
    spec.process = &proc;
    root.path = "/run/kata-containers/c1/rootfs";
    root.readonly = true;
    spec.root = &root;
    ann.key = "io.kubernetes.cri.container-type";
    ann.value = "sandbox";
    Grpc__Spec__AnnotationsEntry *anns[] = {&ann};
    spec.n_annotations = 1;
    spec.annotations = anns;
    map.hostid = 100000;
    map.size = 65536;
    Grpc__LinuxIDMapping *maps[] = {&map};
    lx.n_uidmappings = 1;
    lx.uidmappings = maps;
    cpu.quota = 50000;
    cpu.cpus = "0-1";
    res.cpu = &cpu;
    lx.resources = &res;
    lx.cgroupspath = "/kubepods/c1";
    spec.linux = &lx;

    cleanup_free char *json = to_json(&spec);
    tap_is_str(json,
               "{\"ociVersion\":\"1.1.0\",\"process\":{\"user\":{\"uid\":1000},"
               "\"args\":[\"/bin/sh\",\"-c\",\"echo \\\"hi\\\"\\\\\\u000a\"],\"cwd\":\"/\","
               "\"oomScoreAdj\":-998},\"root\":{\"path\":\"/run/kata-containers/c1/rootfs\","
               "\"readonly\":true},\"annotations\":{\"io.kubernetes.cri.container-type\":"
               "\"sandbox\"},\"linux\":{\"uidMappings\":[{\"hostID\":100000,\"size\":65536}],"
               "\"resources\":{\"cpu\":{\"quota\":50000,\"cpus\":\"0-1\"}},"
               "\"cgroupsPath\":\"/kubepods/c1\"}}\n",
               "OCI names (ociVersion, oomScoreAdj, uidMappings, hostID, cgroupsPath), maps as "
               "objects, unset values left out, strings escaped");

    Grpc__Spec empty = GRPC__SPEC__INIT;
    cleanup_free char *ej = to_json(&empty);
    tap_is_str(ej, "{}\n", "an empty spec is an empty object");

    struct kerr *err = NULL;
    tap_ok(spec_json_save(&spec, "/nonexistent-dir/config.json", &err) < 0 && err && err->msg,
           "an unwritable path is an error");
    error_free(err);
    return tap_done();
}
