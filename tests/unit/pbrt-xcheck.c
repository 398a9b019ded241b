/* One side of the pbrt cross-check. Linked twice: with pbrt (pbrt-xcheck-ours) and with
 * Debian's libprotobuf-c (pbrt-xcheck-ref); tests/unit/pbrt-crosscheck.sh compares them.
 *   pbrt-xcheck pack          print "NAME HEX" for every sample, packed by this runtime
 *                             (pack, get_packed_size and pack_to_buffer must agree)
 *   pbrt-xcheck decode FILE   for every "NAME HEX" line (written by the other runtime), unpack
 *                             with this runtime, compare with the sample field by field and
 *                             re-pack; print "NAME ok" or "NAME FAIL reason"
 *   pbrt-xcheck fuzz N        unpack N deterministic mutations of the samples' bytes (the same
 *                             inputs in both programs, since both pack the samples alike);
 *                             print one line per input: "reject FLAG NAME" or "accept FLAG NAME
 *                             HEX" with the re-packed message; FLAG is "boolwire" when the input
 *                             has a bool field with a non-varint wire type (see testutil)
 *   pbrt-xcheck repack FILE   for every "accept FLAG NAME HEX" line, unpack as NAME's type and
 *                             print "accept FLAG NAME HEX" re-packed by this runtime */
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

static const struct pbrt_sample *sample_by_name(const char *name)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    return NULL;
}

static int do_repack(const char *path)
{
    FILE *f = fopen(path, "r");
    static char line[1 << 20];
    static uint8_t data[1 << 19];

    if (!f) {
        perror(path);
        return 2;
    }
    while (fgets(line, sizeof line, f)) {
        char flag[16], name[64], *hex;
        if (sscanf(line, "accept %15s %63s", flag, name) != 2 ||
            !(hex = strchr(line + 8 + strlen(flag), ' ')))
            continue;
        const struct pbrt_sample *sample = sample_by_name(name);
        long len = pbrt_test_unhex(hex + 1, data, sizeof data);
        ProtobufCMessage *m = NULL;
        if (sample && len >= 0)
            m = protobuf_c_message_unpack(sample->msg->descriptor, NULL, (size_t)len, data);
        if (!m) {
            printf("reject %s %s\n", flag, name);
            continue;
        }
        size_t n;
        const char *err;
        uint8_t *again = pack_checked(m, &n, &err);
        printf("accept %s %s ", flag, name);
        pbrt_test_hex(again, n, stdout);
        putchar('\n');
        free(again);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    fclose(f);
    return 0;
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

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int do_fuzz(long iterations)
{
    const struct pbrt_sample *s;
    size_t n = pbrt_samples(&s);

    for (long it = 0; it < iterations; it++) {
        const struct pbrt_sample *sample = &s[(size_t)it % n];
        size_t len;
        const char *err;
        uint8_t *buf = pack_checked(sample->msg, &len, &err);
        buf = realloc(buf, len + 1);
        for (int edits = 1 + (int)(rng() % 3); edits > 0 && len > 0; edits--) {
            size_t at = rng() % len;
            switch (rng() % 4) {
            case 0:
                buf[at] ^= (uint8_t)(1u << rng() % 8);
                break;
            case 1:
                buf[at] = (uint8_t)rng();
                break;
            case 2:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default:
                len = at;
                break;
            }
        }
        ProtobufCMessage *m = protobuf_c_message_unpack(sample->msg->descriptor, NULL, len, buf);
        const char *flag =
            pbrt_test_has_odd_bool(sample->msg->descriptor, buf, len, 0) ? "boolwire" : "plain";
        if (m) {
            size_t n2;
            uint8_t *again = pack_checked(m, &n2, &err);
            printf("accept %s %s ", flag, sample->name);
            pbrt_test_hex(again, n2, stdout);
            putchar('\n');
            free(again);
            protobuf_c_message_free_unpacked(m, NULL);
        } else {
            printf("reject %s %s\n", flag, sample->name);
        }
        free(buf);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "pack") == 0)
        return do_pack();
    if (argc == 3 && strcmp(argv[1], "decode") == 0)
        return do_decode(argv[2]);
    if (argc == 3 && strcmp(argv[1], "repack") == 0)
        return do_repack(argv[2]);
    if (argc == 3 && strcmp(argv[1], "fuzz") == 0)
        return do_fuzz(atol(argv[2]));
    fprintf(stderr, "usage: %s pack | decode FILE | fuzz N\n", argv[0]);
    return 2;
}
