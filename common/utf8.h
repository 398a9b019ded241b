/* UTF-8 checks for text that leaves as a protobuf `string` (Go's decoder rejects invalid
 * UTF-8 there): callers replace what does not pass with U+FFFD. */
#pragma once
#include <stddef.h>

#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length of the well-formed UTF-8 sequence at p (at most `avail` bytes), 0 if there is none:
 * no overlong forms, surrogates or code points above U+10FFFF. */
static inline size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    if (avail == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    size_t n = (p[0] & 0xE0) == 0xC0   ? 2
               : (p[0] & 0xF0) == 0xE0 ? 3
               : (p[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (n == 0 || n > avail)
        return 0;
    unsigned cp = p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}
