/* GetIPTables / SetIPTables: the guest's iptables-save / iptables-restore (and the ip6
 * variants), run as upstream runs them, from the loop (command.c) so that a slow program never
 * holds up other calls.
 *
 * Where the programs are: upstream looks in /usr/sbin first and falls back to /sbin. Two of its
 * /usr/sbin names are wrong: "/usr/sbin/iptables-store" (for iptables-restore) and
 * "/usr/sbin/ip6tables-save" (for ip6tables-restore). So SetIPTables in practice runs
 * /sbin/iptables-restore and /sbin/ip6tables-restore, and on a guest that has
 * /usr/sbin/ip6tables-save, an IPv6 SetIPTables runs ip6tables-save --wait 5 (which does not
 * restore anything). We use the same paths, quirks included, so that a guest image behaves
 * the same under both agents; on merged-/usr guests /sbin is /usr/sbin and the quirks
 * vanish except the ip6tables-save one.
 *
 * A missing program: upstream's spawn fails and the call is INTERNAL with the OS error; ours
 * is INTERNAL too, naming the program. Our guest image ships no iptables, so there both calls
 * fail that way.
 *
 * Deadlines: SetIPTables gives the program 5 s to take its stdin (upstream's
 * IPTABLES_RESTORE_WAIT_SEC, also passed as --wait); upstream then waits for the exit without
 * a bound, we bound the whole run (RUN_TIMEOUT) so that no call can hang. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"
#include "utf8.h"
#include "xalloc.h"

#define REQ(type, call) ((type *)(call)->request)

#define RESTORE_WAIT_SEC 5
#define STDIN_TIMEOUT_NS (RESTORE_WAIT_SEC * 1000000000LL)
#define RUN_TIMEOUT_SEC 30
#define RUN_TIMEOUT_NS (RUN_TIMEOUT_SEC * 1000000000LL)

static const char *pick(const char *usr, const char *sbin)
{
    return access(usr, F_OK) == 0 ? usr : sbin;
}

static const char *save_path(bool ipv6)
{
    return ipv6 ? pick("/usr/sbin/ip6tables-save", "/sbin/ip6tables-save")
                : pick("/usr/sbin/iptables-save", "/sbin/iptables-save");
}

static const char *restore_path(bool ipv6)
{
    /* upstream's /usr/sbin names, wrong as they are (see the top of the file) */
    return ipv6 ? pick("/usr/sbin/ip6tables-save", "/sbin/ip6tables-restore")
                : pick("/usr/sbin/iptables-store", "/sbin/iptables-restore");
}

struct run {
    struct ttrpc_call *call;
    struct command *cmd;
    const char *path;
    bool set;
};

static void run_cancelled(struct ttrpc_call *call, void *data)
{
    struct run *r = data;
    command_cancel(r->cmd);
    free(r);
}

/* stderr as upstream prints it: Rust's Debug of a string (quoted, escaped) */
static char *debug_quote(const char *s, size_t len)
{
    char *out = xmalloc(len * 10 + 3);
    size_t o = 0;
    out[o++] = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char ch = *p;
        const char *esc = ch == '"'    ? "\\\""
                          : ch == '\\' ? "\\\\"
                          : ch == '\n' ? "\\n"
                          : ch == '\r' ? "\\r"
                          : ch == '\t' ? "\\t"
                          : ch == '\0' ? "\\0"
                                       : NULL;
        if (esc) {
            o += (size_t)sprintf(out + o, "%s", esc);
            p++;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u{%x}", ch);
            p++;
        } else {
            size_t n = utf8_seq_len(p, (size_t)(end - p));
            if (n == 0) {
                memcpy(out + o, UTF8_REPLACEMENT, 3);
                o += 3;
                p++;
            } else {
                memcpy(out + o, p, n);
                o += n;
                p += n;
            }
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static void run_done(struct command *cmd, const struct command_result *res, void *data)
{
    struct run *r = data;
    struct ttrpc_call *call = r->call;
    call->on_cancel = NULL;
    call->cancel_data = NULL;
    if (res->stdin_timed_out) {
        ttrpc_reply_error(call, RPC_INTERNAL, "timeout waiting for stdin writer to complete");
    } else if (res->timed_out) {
        ttrpc_reply_error(call, RPC_INTERNAL, "%s did not finish within %d s", r->path,
                          RUN_TIMEOUT_SEC);
    } else if (r->set && !(WIFEXITED(res->wstatus) && WEXITSTATUS(res->wstatus) == 0)) {
        cleanup_free char *q = debug_quote(res->err, res->err_len);
        log_warn("iptables", "%s failed: %s", r->path, q);
        ttrpc_reply_error(call, RPC_INTERNAL, "%s failed: %s", r->path, q);
    } else if (r->set) {
        /* upstream answers with what the program printed; its exit status counts only here */
        Grpc__SetIPTablesResponse resp = GRPC__SET_IPTABLES_RESPONSE__INIT;
        resp.data.data = (uint8_t *)res->out;
        resp.data.len = res->out_len;
        ttrpc_reply(call, &resp.base);
    } else {
        Grpc__GetIPTablesResponse resp = GRPC__GET_IPTABLES_RESPONSE__INIT;
        resp.data.data = (uint8_t *)res->out;
        resp.data.len = res->out_len;
        ttrpc_reply(call, &resp.base);
    }
    free(r);
}

static void run(struct ttrpc_call *call, struct sandbox *sb, bool set, bool ipv6,
                const ProtobufCBinaryData *in)
{
    struct run *r = xcalloc(1, sizeof(*r));
    r->call = call;
    r->set = set;
    r->path = set ? restore_path(ipv6) : save_path(ipv6);
    char wait[16];
    snprintf(wait, sizeof(wait), "%d", RESTORE_WAIT_SEC);
    char *argv[] = {(char *)r->path, set ? "--wait" : NULL, set ? wait : NULL, NULL};
    cleanup_error struct kerr *err = NULL;
    log_info("iptables", "%s: running %s", set ? "set_ip_tables" : "get_ip_tables", r->path);
    if (command_start(sb, argv, in ? in->data : NULL, in ? in->len : 0, STDIN_TIMEOUT_NS,
                      RUN_TIMEOUT_NS, run_done, r, &r->cmd, &err) < 0) {
        log_warn("iptables", "%s", err->msg);
        ttrpc_reply_error(call, RPC_INTERNAL, "%s%s", err->msg,
                          err->errnum == ENOENT ? " (the guest has no iptables)" : "");
        free(r);
        return;
    }
    call->on_cancel = run_cancelled;
    call->cancel_data = r;
}

void iptables_get(struct ttrpc_call *call, void *sb)
{
    run(call, sb, false, REQ(Grpc__GetIPTablesRequest, call)->is_ipv6, NULL);
}

void iptables_set(struct ttrpc_call *call, void *sb)
{
    Grpc__SetIPTablesRequest *req = REQ(Grpc__SetIPTablesRequest, call);
    run(call, sb, true, req->is_ipv6, &req->data);
}
