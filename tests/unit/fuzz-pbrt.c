/* libFuzzer target for pbrt (built with clang when present: make fuzz-pbrt). The first input
 * byte picks the message type among the samples' types, the rest is decoded. Whatever decodes
 * must re-pack to the size get_packed_size announced and decode again to an equal message. */
#include <stdio.h>
#include <stdlib.h>
#include "pbrt-samples.h"
#include "pbrt-testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);

    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = s[data[0] % n].msg->descriptor;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
    if (!m)
        return 0;
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(len ? len : 1);
    if (protobuf_c_message_pack(m, out) != len)
        abort();
    ProtobufCMessage *again = protobuf_c_message_unpack(d, NULL, len, out);
    char why[512] = "";
    if (!again || !pbrt_test_msg_equal(m, again, why, sizeof why)) {
        fprintf(stderr, "re-decoded message differs: %s\n", again ? why : "rejected");
        abort();
    }
    protobuf_c_message_free_unpacked(again, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    free(out);
    return 0;
}
