/* Process identity: uid/gid/additional gids from Process.User, with User.Username
 * ("name", "uid", "name:group", "uid:gid") resolved against the container's /etc/passwd and
 * /etc/group, parsed here (no NSS: the agent is static and the files belong to the image). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "oci.pb-c.h"

struct user_ids {
    uid_t uid;
    gid_t gid;
    size_t n_groups;
    gid_t *groups; /* xmalloc'd */
    char *home;    /* from passwd when the user was found there, else NULL */
};

/* passwd_path/group_path: the files to read ("/etc/passwd" inside the container). A missing
 * file is like an empty one. */
int user_resolve(const Grpc__User *u, const char *passwd_path, const char *group_path,
                 struct user_ids *ret, struct kerr **err);
void user_ids_free(struct user_ids *ids);
/* setgroups + setresgid + setresuid. */
int user_apply(const struct user_ids *ids, struct kerr **err);
