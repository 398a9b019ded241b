/* Publishing task events to containerd. A shim's events go out in the order they happen, from
 * one thread, so a slow containerd never blocks a task call: over ttRPC to containerd's events
 * service ($TTRPC_ADDRESS, containerd.services.events.ttrpc.v1.Events/Forward), or, when that
 * socket cannot be reached, through the -publish-binary containerd gave the shim
 * (`<binary> --address <containerd.sock> publish --namespace NS --topic TOPIC`, the event as a
 * protobuf Any on stdin). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"

struct shim_events;

/* Starts the publisher. ttrpc_address may be NULL (then only the publish binary is used);
 * publish_binary and containerd_address may be NULL (then only ttRPC). */
struct shim_events *shim_events_new(const char *ns, const char *ttrpc_address,
                                    const char *publish_binary, const char *containerd_address,
                                    struct kerr **err);
/* Queues one event (e.g. a Containerd__Events__TaskExit) for `topic` ("/tasks/exit") and returns
 * at once; the message is packed now, so it may be freed after the call. The Any's type URL is
 * the message's full protobuf name, as containerd's typeurl registry names its events. */
void shim_events_publish(struct shim_events *ev, const char *topic, const ProtobufCMessage *event);
/* Sends what is queued (waiting at most timeout_ms) and stops. NULL is fine. */
void shim_events_free(struct shim_events *ev, int timeout_ms);

/* What the publisher did so far (for the shim's debug log and for tests). */
struct shim_events_stats {
    unsigned long forwarded; /* delivered over ttRPC */
    unsigned long published; /* delivered by the publish binary */
    unsigned long dropped;   /* given up: queue full, rejected by containerd, or undeliverable */
};
void shim_events_get_stats(struct shim_events *ev, struct shim_events_stats *ret);
/* Waits up to timeout_ms until everything queued so far has been handled (delivered or
 * dropped); true when it has. The publisher keeps running. */
bool shim_events_flush(struct shim_events *ev, int timeout_ms);
/* Overrides the queue length (default 2048, as containerd's shim library) and the time one
 * Forward call may take (default 5 s, as upstream's); 0 keeps a value. Call before publishing. */
void shim_events_tune(struct shim_events *ev, size_t queue_max, int call_timeout_ms);
