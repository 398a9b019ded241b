#include <stdlib.h>

#include "agent.h"
#include "xalloc.h"

static void unlink_parked(struct parked *p)
{
    struct park_list *l = p->list;
    if (p->prev)
        p->prev->next = p->next;
    else
        l->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        l->tail = p->prev;
}

static void park_cancel(struct ttrpc_call *call, void *data)
{
    struct parked *p = data;
    unlink_parked(p);
    free(p);
}

void park(struct park_list *list, struct ttrpc_call *call, uint32_t len)
{
    struct parked *p = xcalloc(1, sizeof(*p));
    p->list = list;
    p->call = call;
    p->len = len;
    p->prev = list->tail;
    if (list->tail)
        list->tail->next = p;
    else
        list->head = p;
    list->tail = p;
    call->on_cancel = park_cancel;
    call->cancel_data = p;
}

struct ttrpc_call *park_pop(struct park_list *list, uint32_t *ret_len)
{
    struct parked *p = list->head;
    if (!p)
        return NULL;
    unlink_parked(p);
    struct ttrpc_call *call = p->call;
    if (ret_len)
        *ret_len = p->len;
    free(p);
    call->on_cancel = NULL;
    call->cancel_data = NULL;
    return call;
}
