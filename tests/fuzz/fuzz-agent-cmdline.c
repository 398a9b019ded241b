/* The agent's kernel command-line configuration (agent/config.c) on arbitrary text: every
 * token is looked at, bad values are reported, and the result must stay within its ranges. */
#include "fuzz.h"

#include "agent/config.h"
#include "cleanup.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cleanup_free char *text = fuzz_cstr(data, size);
    struct agent_config c;
    config_init(&c);
    cleanup_error struct kerr *err = NULL;
    int r = config_parse_cmdline(&c, text, &err);
    FUZZ_CHECK(r == 0 || (r < 0 && err && err->msg), "failure %d without a message", r);
    FUZZ_CHECK(c.server_addr != NULL, "no server address");
    FUZZ_CHECK(c.hotplug_timeout_ns > 0 && c.launch_process_timeout_ns > 0 &&
                   c.cdi_timeout_ns > 0 && c.cdh_api_timeout_ns > 0 && c.image_pull_timeout_ns > 0,
               "a timeout is not positive");
    FUZZ_CHECK(c.log_level >= LOG_CRITICAL && c.log_level <= LOG_TRACE, "log level %d",
               c.log_level);
    config_free(&c);
    return 0;
}
