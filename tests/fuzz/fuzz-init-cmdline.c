/* kata-init's kernel command-line parser (init/cmdline.c) on arbitrary text: tokenizing,
 * lookups, the boolean and word-list values and the whole init_config. */
#include "fuzz.h"

#include <errno.h>

#include "cleanup.h"
#include "init/cmdline.h"
#include "init/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cleanup_free char *text = fuzz_cstr(data, size);

    const char *cur = text;
    char *key, *value;
    size_t n = 0;
    while (cmdline_next(&cur, &key, &value) == 1) {
        FUZZ_CHECK(key != NULL, "token without a key");
        FUZZ_CHECK(cur >= text && cur <= text + strlen(text), "cursor left the line");
        bool b;
        int r = cmdline_parse_bool(value ? value : "", &b); /* bare flag: "" */
        FUZZ_CHECK(r == 0 || r == -EINVAL, "parse_bool returned %d", r);
        char **words = cmdline_split_words(value ? value : key);
        for (char **w = words; w && *w; w++)
            FUZZ_CHECK(**w != '\0', "empty word");
        strv_free(words);
        free(key);
        free(value);
        FUZZ_CHECK(++n <= size + 1, "more tokens than bytes");
    }
    free(cmdline_get(text, "kata.agent"));
    free(cmdline_get(text, "agent.log"));

    struct init_config c = {0};
    cleanup_error struct kerr *err = NULL;
    if (init_config_parse(text, &c, &err) == 0) {
        FUZZ_CHECK(c.agent_argv && c.agent_argv[0], "no agent argv");
        init_config_clear(&c);
    } else {
        FUZZ_CHECK(err && err->msg, "failure without an error message");
    }
    return 0;
}
