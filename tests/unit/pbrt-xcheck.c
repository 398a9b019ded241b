/* One side of the pbrt cross-check. Linked twice: with pbrt (pbrt-xcheck-ours) and with
 * Debian's libprotobuf-c (pbrt-xcheck-ref); tests/unit/pbrt-crosscheck.sh compares them.
 *   pbrt-xcheck pack          print "NAME HEX" for every sample, packed by this runtime
 *                             (pack, get_packed_size and pack_to_buffer must agree)
 *   pbrt-xcheck decode FILE   for every "NAME HEX" line (written by the other runtime), unpack
 *                             with this runtime, compare with the sample field by field and
 *                             re-pack; print "NAME ok" or "NAME FAIL reason" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pbrt-samples.h"
#include "pbrt-testutil.h"

static uint8_t *pack_checked(const ProtobufCMessage *msg, size_t *ret_len, const char **ret_err)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *out = malloc(n + 1);
    uint8_t pad[8];
    ProtobufCBufferSimple simple = PROTOBUF_C_BUFFER_SIMPLE_INIT(pad);

    *ret_err = NULL;
    if (protobuf_c_message_pack(msg, out) != n)
        *ret_err = "pack length differs from get_packed_size";
    else if (protobuf_c_message_pack_to_buffer(msg, &simple.base) != n || simple.len != n ||
             memcmp(simple.data, out, n) != 0)
        *ret_err = "pack_to_buffer differs from pack";
    PROTOBUF_C_BUFFER_SIMPLE_CLEAR(&simple);
    *ret_len = n;
    return out;
}

static int do_pack(void)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *err;
        uint8_t *out = pack_checked(s[i].msg, &len, &err);
        printf("%s ", s[i].name);
        if (err) {
            printf("ERROR:%s", err);
            rc = 1;
        }
        pbrt_test_hex(out, len, stdout);
        putchar('\n');
        free(out);
    }
    return rc;
}

static const char *decode_one(const struct pbrt_sample *sample, const uint8_t *data, size_t len,
                              char *why, size_t why_len)
{
    ProtobufCMessage *msg = protobuf_c_message_unpack(sample->msg->descriptor, NULL, len, data);
    if (!msg)
        return "unpack returned NULL";
    const char *err = NULL;
    why[0] = '\0';
    if (!pbrt_test_msg_equal(sample->msg, msg, why, why_len)) {
        err = why;
    } else if (!protobuf_c_message_check(msg)) {
        err = "message_check failed";
    } else {
        size_t n;
        uint8_t *again = pack_checked(msg, &n, &err);
        if (!err && (n != len || memcmp(again, data, n) != 0))
            err = "re-packed bytes differ";
        free(again);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return err;
}

static int do_decode(const char *path)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);
    FILE *f = fopen(path, "r");
    static char line[1 << 20];
    static uint8_t data[1 << 19];
    char why[512];

    if (!f) {
        perror(path);
        return 2;
    }
    while (fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        const struct pbrt_sample *sample = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(s[i].name, line) == 0)
                sample = &s[i];
        long len = pbrt_test_unhex(sp + 1, data, sizeof data);
        const char *err;
        if (!sample)
            err = "no such sample here";
        else if (len < 0)
            err = "bad hex";
        else
            err = decode_one(sample, data, (size_t)len, why, sizeof why);
        if (err)
            printf("%s FAIL %s\n", line, err);
        else
            printf("%s ok\n", line);
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "pack") == 0)
        return do_pack();
    if (argc == 3 && strcmp(argv[1], "decode") == 0)
        return do_decode(argv[2]);
    fprintf(stderr, "usage: %s pack | decode FILE\n", argv[0]);
    return 2;
}
