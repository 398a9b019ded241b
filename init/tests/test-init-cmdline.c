/* Kernel command line handling in kata-init. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init/cmdline.h"
#include "init/strv.h"
#include "tests/tap.h"

/* Joins all parameters as "key=value|flag|..." to compare tokenizing in one string. */
static char *tokens(const char *text)
{
    static char out[512];
    out[0] = '\0';
    const char *cursor = text;
    char *k, *v;
    while (cmdline_next(&cursor, &k, &v) > 0) {
        strcat(out, k);
        if (v) {
            strcat(out, "=");
            strcat(out, v);
        }
        strcat(out, "|");
        free(k);
        free(v);
    }
    return out;
}

static void test_tokenizer(void)
{
    tap_is_str(tokens("console=ttyS0 quiet  panic=1\n"), "console=ttyS0|quiet|panic=1|",
               "blanks separate parameters, trailing newline ignored");
    tap_is_str(tokens("kata.agent=\"/bin/sh /x.sh\" quiet"), "kata.agent=/bin/sh /x.sh|quiet|",
               "a quoted value keeps its blanks and loses its quotes");
    tap_is_str(tokens("\"a=b c\" d"), "a=b c|d|", "a parameter quoted as a whole");
    tap_is_str(tokens("a=x\"y\"z"), "a=x\"y\"z|", "inner quotes are kept");
    tap_is_str(tokens("a=1 -- b=2"), "a=1|", "parsing stops at a lone --");
    tap_is_str(tokens("a=1 --b=2"), "a=1|--b=2|", "--b=2 is a parameter, not the separator");
    tap_is_str(tokens(""), "", "empty command line");
    tap_is_str(tokens("   \t "), "", "only blanks");
    tap_is_str(tokens("a= b"), "a=|b|", "empty value");
    tap_is_str(tokens("x=\"unterminated y"), "x=unterminated y|",
               "an unterminated quote runs to the end");
}

static void test_get(void)
{
    char *v = cmdline_get("a=1 b a=2", "a");
    tap_is_str(v, "2", "the last occurrence wins");
    free(v);
    v = cmdline_get("a=1 b", "b");
    tap_is_str(v, "", "a bare flag reads as an empty value");
    free(v);
    v = cmdline_get("ab=1", "a");
    tap_ok(v == NULL, "a key is matched whole, not by prefix");
    free(v);
}

static void test_bool(void)
{
    static const char *const truths[] = {"", "1", "true", "YES", "on", "7"};
    static const char *const lies[] = {"0", "false", "No", "off"};
    bool all = true, b;
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++)
        all = all && cmdline_parse_bool(truths[i], &b) == 0 && b;
    tap_ok(all, "true spellings");
    all = true;
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++)
        all = all && cmdline_parse_bool(lies[i], &b) == 0 && !b;
    tap_ok(all, "false spellings");
    tap_ok(cmdline_parse_bool("maybe", &b) < 0, "a word that is no boolean is an error");
    tap_ok(cmdline_parse_bool("1x", &b) < 0, "trailing garbage after a number is an error");
}

static void test_split(void)
{
    char **w = cmdline_split_words("  /bin/sh  -c\tx ");
    tap_ok(strv_length(w) == 3, "three words");
    tap_is_str(w ? w[0] : NULL, "/bin/sh", "first word");
    tap_is_str(w ? w[2] : NULL, "x", "last word");
    strv_free(w);
    tap_ok(cmdline_split_words("   ") == NULL, "no words gives NULL");
}

static void test_config(void)
{
    struct init_config c = {0};
    struct kerr *err = NULL;
    tap_ok(init_config_parse("console=ttyS0 quiet", &c, &err) == 0, "plain line parses");
    tap_is_str(c.agent_argv[0], "/usr/bin/kata-agent", "default agent path");
    tap_ok(c.agent_argv[1] == NULL, "default agent has no arguments");
    tap_ok(!c.cgroup_v1 && !c.debug, "defaults: cgroup v2, no debug");
    tap_ok(c.defer_setup, "the built-in agent serves before the late setup");
    init_config_clear(&c);

    tap_ok(init_config_parse("kata.agent=\"/bin/sh /t/reap.sh 3\" kata.init_debug "
                             "systemd.unified_cgroup_hierarchy=0",
                             &c, &err) == 0,
           "full line parses");
    tap_ok(strv_length(c.agent_argv) == 3, "agent argv has 3 words");
    tap_is_str(c.agent_argv[1], "/t/reap.sh", "agent argument");
    tap_ok(c.cgroup_v1, "unified_cgroup_hierarchy=0 selects v1");
    tap_ok(c.debug, "bare kata.init_debug enables debug");
    tap_ok(!c.defer_setup, "an agent named by kata.agent= gets the whole setup first");
    init_config_clear(&c);

    tap_ok(init_config_parse("kata.agent=/t/a.sh kata.init_defer_setup", &c, &err) == 0 &&
               c.defer_setup,
           "kata.init_defer_setup turns the handshake on for a named agent");
    init_config_clear(&c);
    tap_ok(init_config_parse("kata.agent=/a kata.init_debug=1 kata.agent=/b kata.init_debug=0", &c,
                             &err) == 0 &&
               strcmp(c.agent_argv[0], "/b") == 0 && !c.debug,
           "a repeated parameter: the last one wins");
    init_config_clear(&c);
    tap_ok(init_config_parse("kata.init_defer_setup=0", &c, &err) == 0 && !c.defer_setup,
           "kata.init_defer_setup=0 turns it off for the built-in agent");
    init_config_clear(&c);
    tap_ok(init_config_parse("kata.init_defer_setup=later", &c, &err) < 0 && err &&
               strstr(err->msg, "kata.init_defer_setup=later"),
           "a bad kata.init_defer_setup is refused with its value");
    error_freep(&err);

    tap_ok(init_config_parse("systemd.unified_cgroup_hierarchy=1", &c, &err) == 0 && !c.cgroup_v1,
           "unified_cgroup_hierarchy=1 keeps v2");
    init_config_clear(&c);
    tap_ok(init_config_parse("systemd.unified_cgroup_hierarchy=false", &c, &err) == 0 &&
               c.cgroup_v1,
           "unified_cgroup_hierarchy=false selects v1");
    init_config_clear(&c);

    tap_ok(init_config_parse("systemd.unified_cgroup_hierarchy=0 cgroup_no_v1=all", &c, &err) ==
                   0 &&
               !c.cgroup_v1,
           "cgroup_no_v1=all keeps v2 even with unified_cgroup_hierarchy=0");
    init_config_clear(&c);
    tap_ok(init_config_parse("systemd.unified_cgroup_hierarchy=0 cgroup_no_v1=memory", &c, &err) ==
                   0 &&
               c.cgroup_v1,
           "cgroup_no_v1 naming one controller leaves v1 selectable");
    init_config_clear(&c);
    /* Kata's runtime, default image boot (kata-runtime-facts.md §1.4), nr_cpus=4. */
    static const char runtime_line[] =
        "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 "
        "i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests net.ifnames=0 "
        "pci=lastbus=0 root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro "
        "rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 "
        "nr_cpus=4 selinux=0 systemd.unit=kata-containers.target "
        "systemd.mask=systemd-networkd.service systemd.mask=systemd-networkd.socket "
        "scsi_mod.scan=none agent.cdh_api_timeout=50 cgroup_no_v1=all "
        "systemd.unified_cgroup_hierarchy=1";
    tap_ok(init_config_parse(runtime_line, &c, &err) == 0 && !c.cgroup_v1 && !c.debug &&
               c.defer_setup && strcmp(c.agent_argv[0], "/usr/bin/kata-agent") == 0,
           "the runtime's whole command line: built-in agent, cgroup v2, systemd.* ignored");
    init_config_clear(&c);

    tap_ok(init_config_parse("kata.agent=bin/agent", &c, &err) < 0 && err &&
               strstr(err->msg, "absolute"),
           "a relative agent path is refused with a message");
    tap_ok(c.agent_argv == NULL, "nothing allocated on error");
    error_freep(&err);
    tap_ok(init_config_parse("kata.agent=", &c, &err) < 0 && err, "an empty agent is refused");
    error_freep(&err);
    tap_ok(init_config_parse("kata.init_debug=perhaps", &c, &err) < 0 && err &&
               strstr(err->msg, "kata.init_debug"),
           "a bad boolean names the parameter");
    error_freep(&err);
    tap_ok(init_config_parse("systemd.unified_cgroup_hierarchy=x", &c, &err) < 0 && err,
           "a bad cgroup switch is refused");
    error_freep(&err);
}

int main(void)
{
    test_tokenizer();
    test_get();
    test_bool();
    test_split();
    test_config();
    return tap_done();
}
