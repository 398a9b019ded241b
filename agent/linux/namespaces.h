/* Which namespaces a process creates (clone flags) and which it joins (fds to setns). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "oci.pb-c.h"

/* Join order: the user namespace first, so the others are joined with its capabilities. */
enum ns_kind { NS_USER, NS_PID, NS_IPC, NS_UTS, NS_NET, NS_CGROUP, NS_MNT, NS_COUNT };

struct ns_plan {
    int clone_flags; /* CLONE_NEW* created by clone() itself */
    bool new_cgroup; /* unshared by the child once it is in its cgroup */
    bool new_user;
    bool new_uts;
    bool new_mnt;
    int join_fd[NS_COUNT]; /* -1, or an fd of a namespace to join */
};

/* OCI type name ("pid", "network", "mount", ...) -> kind, -1 if unknown. */
int ns_kind_from_name(const char *name);
/* Container init: from Linux.Namespaces (create when no path, join the path otherwise). */
int ns_plan_for_init(const Grpc__Spec *spec, struct ns_plan *ret, struct kerr **err);
/* Exec: join every namespace of init_pid that differs from the caller's. */
int ns_plan_for_exec(pid_t init_pid, struct ns_plan *ret, struct kerr **err);
void ns_plan_close(struct ns_plan *p);

/* Caller side: a pid namespace applies to children only, so the caller switches its
 * namespace for children before clone() and back right after. *ret_restore_fd is -1 when
 * nothing changed. */
int ns_pid_enter(const struct ns_plan *p, int *ret_restore_fd, struct kerr **err);
int ns_pid_restore(int *restore_fd, struct kerr **err);
/* Child side: setns every joined namespace except pid, then unshare the cgroup one. */
int ns_join_child(struct ns_plan *p, struct kerr **err);
