/* The ttRPC request envelope (Ttrpc__Request: service, method, payload, timeout, metadata)
 * and, for an AgentService method, its payload as that method's request message: whatever
 * decodes must encode back to the size it announces and decode again to the same bytes. */
#include "fuzz.h"

#include "agent.pb-c.h"
#include "ttrpc.pb-c.h"

static void roundtrip(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(len ? len : 1);
    FUZZ_CHECK(protobuf_c_message_pack(m, out) == len, "%s packs to another size",
               m->descriptor->name);
    ProtobufCMessage *again = protobuf_c_message_unpack(m->descriptor, NULL, len, out);
    FUZZ_CHECK(again != NULL, "%s does not decode its own encoding", m->descriptor->name);
    size_t len2 = protobuf_c_message_get_packed_size(again);
    uint8_t *out2 = malloc(len2 ? len2 : 1);
    FUZZ_CHECK(len2 == len && protobuf_c_message_pack(again, out2) == len &&
                   memcmp(out, out2, len) == 0,
               "%s re-encodes differently", m->descriptor->name);
    protobuf_c_message_free_unpacked(again, NULL);
    free(out);
    free(out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Ttrpc__Request *req = ttrpc__request__unpack(NULL, size, data);
    if (!req)
        return 0;
    FUZZ_CHECK(req->service && req->method, "decoded envelope without strings");
    roundtrip(&req->base);
    const ProtobufCServiceDescriptor *svc = &grpc__agent_service__descriptor;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(svc, req->method);
    if (md) {
        ProtobufCMessage *in =
            protobuf_c_message_unpack(md->input, NULL, req->payload.len, req->payload.data);
        if (in) {
            roundtrip(in);
            protobuf_c_message_free_unpacked(in, NULL);
        }
    }
    ttrpc__request__free_unpacked(req, NULL);
    return 0;
}
