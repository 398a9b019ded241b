/* AddSwap / AddSwapPath: the runtime runs mkswap on the host and hot-plugs the file as a
 * virtio-blk disk; the agent only turns it on. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/swap.h>

#include "agent.h"
#include "cleanup.h"
#include "log.h"

static void reply_swapon(struct ttrpc_call *call, const char *path)
{
    if (swapon(path, 0) < 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "swapon %s: %s", path, strerror(errno));
        return;
    }
    log_info("swap", "swap on %s", path);
    ttrpc_reply(call, NULL);
}

void swap_add(struct sandbox *sb, struct ttrpc_call *call)
{
    Grpc__AddSwapRequest *req = (Grpc__AddSwapRequest *)call->request;
    cleanup_error struct kerr *err = NULL;
    if (req->n_pcipath == 0) {
        ttrpc_reply_error(call, RPC_INTERNAL, "Empty PCI path");
        return;
    }
    char pcipath[128] = "";
    size_t o = 0;
    for (size_t i = 0; i < req->n_pcipath && o < sizeof(pcipath); i++)
        o += (size_t)snprintf(pcipath + o, sizeof(pcipath) - o, "%s%02x", i ? "/" : "",
                              req->pcipath[i]);
    char dev[160];
    struct blk_matcher need;
    int r = hotplug_blk_pci(sb, pcipath, dev, sizeof(dev), &need, &err);
    if (hotplug_check(sb, call, r, &need, err, swap_add))
        reply_swapon(call, dev);
}

void swap_add_path(struct ttrpc_call *call, void *sb)
{
    Grpc__AddSwapPathRequest *req = (Grpc__AddSwapPathRequest *)call->request;
    reply_swapon(call, req->path);
}
