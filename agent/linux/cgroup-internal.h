/* Shared between the cgroup front (cgroup.c) and its v1/v2 backends. */
#pragma once
#include "cgroup.h"

struct cgroup_v1_ctl {
    char *name; /* "memory", "cpu", ... */
    char *dir;  /* <root>/<name>/<path> */
};

struct cgroup {
    bool v2;
    char *root; /* mount point of the tree(s) */
    char *path; /* relative, no leading '/' */
    char *dir;  /* v2: <root>/<path> */
    size_t n_v1;
    struct cgroup_v1_ctl *v1;
    int oom_fd;         /* -1 until cgroup_oom_fd() */
    int oom_control_fd; /* v1: memory.oom_control, kept open while the eventfd is armed */
    uint64_t oom_kills; /* last oom_kill count seen (v2 memory.events, v1 memory.oom_control) */
};

int cgroup_v2_create(struct cgroup *cg, struct kerr **err);
int cgroup_v2_apply(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err);
int cgroup_v2_freeze(struct cgroup *cg, bool frozen, struct kerr **err);

int cgroup_v1_create(struct cgroup *cg, struct kerr **err);
int cgroup_v1_apply(struct cgroup *cg, const Grpc__LinuxResources *res, struct kerr **err);
int cgroup_v1_freeze(struct cgroup *cg, bool frozen, struct kerr **err);

/* Opens a cgroup directory as an O_PATH-less directory fd usable with write_file_at. */
int cgroup_open_dir(const char *dir, struct kerr **err);
/* Validates a hugepage size string ("2MB", "1GB") used inside a file name. */
int cgroup_check_pagesize(const char *s, struct kerr **err);
