/* OCI runtime spec JSON (a bundle's config.json, containerd's UpdateTaskRequest.resources)
 * into the agent's protobuf types (oci.proto), as Kata's runtime carries them: the OCI JSON
 * key of each protobuf field is the one the agent writes back in its own config.json
 * (agent/spec-json.c), null means unset, Solaris/Windows parts are skipped. */
#pragma once
#include <stddef.h>

#include "error.h"
#include "oci.pb-c.h"

/* Parses an OCI runtime spec (config.json) into the agent's protobuf Spec. Unknown keys are ignored
 * (forward compatible, as runc/crun do); wrong types are INVALID errors naming the JSON path. */
int oci_json_parse_spec(const char *json, size_t len, Grpc__Spec **ret, struct kerr **err);
/* The OCI LinuxResources object alone (UpdateTaskRequest.resources). */
int oci_json_parse_resources(const char *json, size_t len, Grpc__LinuxResources **ret,
                             struct kerr **err);
/* The OCI Process object alone (ExecProcessRequest.spec: an exec's process). */
int oci_json_parse_process(const char *json, size_t len, Grpc__Process **ret, struct kerr **err);
/* All results free with protobuf_c_message_free_unpacked(msg, NULL). */
