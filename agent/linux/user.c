#include "user.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "ttrpc.h"
#include "xalloc.h"

static bool parse_id(const char *s, unsigned *ret)
{
    if (str_empty(s))
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || s[0] == '-' || v > 0xfffffffeUL)
        return false;
    *ret = (unsigned)v;
    return true;
}

/* Splits one line of a colon-separated database into at most `max` fields in place. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

struct pw_entry {
    char *name;
    unsigned uid, gid;
    char *home;
};

/* Finds a passwd entry by name or (when by_uid) by uid. Returns 1 found, 0 not found. */
static int find_passwd(const char *path, const char *name, bool by_uid, unsigned uid,
                       struct pw_entry *ret)
{
    cleanup_file FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *fl[7];
        if (line[0] == '#' || split_fields(line, fl, 7) < 7)
            continue;
        unsigned u, g;
        if (!parse_id(fl[2], &u) || !parse_id(fl[3], &g))
            continue;
        if (by_uid ? u != uid : strcmp(fl[0], name) != 0)
            continue;
        ret->name = xstrdup(fl[0]);
        ret->uid = u;
        ret->gid = g;
        ret->home = xstrdup(fl[5]);
        return 1;
    }
    return 0;
}

static bool member_of(char *members, const char *user)
{
    char *save = NULL;
    for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, user) == 0)
            return true;
    return false;
}

static void add_gid(struct user_ids *ids, gid_t g)
{
    for (size_t i = 0; i < ids->n_groups; i++)
        if (ids->groups[i] == g)
            return;
    ids->groups = xrealloc(ids->groups, (ids->n_groups + 1) * sizeof(gid_t));
    ids->groups[ids->n_groups++] = g;
}

/* Looks up a group by name (sets *ret_gid) and, when `member` is set, adds every group that
 * lists it as a member. Returns 1 when the named group was found. */
static int scan_groups(const char *path, const char *group_name, unsigned *ret_gid,
                       const char *member, struct user_ids *ids)
{
    cleanup_file FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    int found = 0;
    cleanup_free char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *fl[4];
        if (line[0] == '#' || split_fields(line, fl, 4) < 4)
            continue;
        unsigned g;
        if (!parse_id(fl[2], &g))
            continue;
        if (group_name && !found && strcmp(fl[0], group_name) == 0) {
            *ret_gid = g;
            found = 1;
        }
        if (member && member_of(fl[3], member))
            add_gid(ids, g);
    }
    return found;
}

int user_resolve(const Grpc__User *u, const char *passwd_path, const char *group_path,
                 struct user_ids *ret, struct kerr **err)
{
    struct user_ids ids = {0};
    if (u == NULL) {
        *ret = ids;
        return 0;
    }
    ids.uid = u->uid;
    ids.gid = u->gid;
    if (!str_empty(u->username)) {
        cleanup_free char *spec = xstrdup(u->username);
        char *group = strchr(spec, ':');
        if (group)
            *group++ = '\0';
        unsigned num;
        struct pw_entry pw = {0};
        bool numeric = parse_id(spec, &num);
        int found = find_passwd(passwd_path, spec, numeric, num, &pw);
        if (!found && !numeric)
            return make_status(err, RPC_INVALID_ARGUMENT, ENOENT,
                               "unable to find user %s: no matching entries in passwd file", spec);
        ids.uid = found ? pw.uid : num;
        ids.gid = found ? pw.gid : 0;
        ids.home = found ? pw.home : NULL;
        if (group && *group) {
            unsigned g;
            if (parse_id(group, &g)) {
                ids.gid = g;
            } else if (!scan_groups(group_path, group, &g, NULL, NULL)) {
                free(pw.name);
                user_ids_free(&ids);
                return make_status(err, RPC_INVALID_ARGUMENT, ENOENT,
                                   "unable to find group %s: no matching entries in group file",
                                   group);
            } else {
                ids.gid = g;
            }
        }
        /* Like a login: the groups that list the user as a member become supplementary. */
        if (found)
            scan_groups(group_path, NULL, NULL, pw.name, &ids);
        free(pw.name);
    }
    for (size_t i = 0; i < u->n_additionalgids; i++)
        add_gid(&ids, u->additionalgids[i]);
    *ret = ids;
    return 0;
}

void user_ids_free(struct user_ids *ids)
{
    free(ids->groups);
    free(ids->home);
    ids->groups = NULL;
    ids->home = NULL;
    ids->n_groups = 0;
}

int user_apply(const struct user_ids *ids, struct kerr **err)
{
    if (setgroups(ids->n_groups, ids->groups) < 0)
        return make_error(err, errno, "setgroups");
    if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
        return make_error(err, errno, "setresgid %u", (unsigned)ids->gid);
    if (setresuid(ids->uid, ids->uid, ids->uid) < 0)
        return make_error(err, errno, "setresuid %u", (unsigned)ids->uid);
    return 0;
}
