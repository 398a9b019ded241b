/* The networking RPCs (UpdateInterface, UpdateRoutes, AddARPNeighbors, ListInterfaces,
 * ListRoutes), done with rtnetlink on the agent's network namespace. */
#pragma once
#include "ttrpc.h"

void network_update_interface(struct ttrpc_call *call, void *sb);
void network_update_routes(struct ttrpc_call *call, void *sb);
void network_add_arp_neighbors(struct ttrpc_call *call, void *sb);
void network_list_interfaces(struct ttrpc_call *call, void *sb);
void network_list_routes(struct ttrpc_call *call, void *sb);
