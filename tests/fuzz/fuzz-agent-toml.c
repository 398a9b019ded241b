/* agent.config_file's TOML subset (agent/config-file.c) on arbitrary text. */
#include "fuzz.h"

#include "agent/config.h"
#include "cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cleanup_free char *text = fuzz_cstr(data, size);
    struct agent_config c;
    config_init(&c);
    cleanup_error struct kerr *err = NULL;
    int r = config_parse_toml(&c, text, "fuzz.toml", &err);
    FUZZ_CHECK(r == 0 || (r < 0 && err && err->msg), "failure %d without a message", r);
    config_free(&c);
    return 0;
}
