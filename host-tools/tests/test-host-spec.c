/* The default OCI spec and process kata-host sends. */
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "spec.h"
#include "tests/tap.h"

static bool has_str(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static const Grpc__Mount *find_mount(const Grpc__Spec *s, const char *dest)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i]->destination, dest) == 0)
            return s->mounts[i];
    return NULL;
}

static bool has_ns(const Grpc__Linux *l, const char *type)
{
    for (size_t i = 0; i < l->n_namespaces; i++)
        if (strcmp(l->namespaces[i]->type, type) == 0)
            return true;
    return false;
}

static bool env_is(const Grpc__Process *p, const char *kv)
{
    return has_str(p->env, p->n_env, kv);
}

int main(void)
{
    tap_plan(22);
    setenv("KH_TEST_PASS", "from-host", 1);
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    struct process_opts proc = {.argv = argv, .argc = 3, .workdir = "/tmp"};
    strv_push(&proc.env, "FOO=bar");
    strv_push(&proc.env, "KH_TEST_PASS");
    strv_push(&proc.env, "KH_TEST_UNSET_VAR");
    struct spec_input in = {.proc = &proc,
                            .hostname = "box1",
                            .root_path = "/opt/kata/rootfs",
                            .cgroups_path = "/kata/box1",
                            .memory_limit = 64 << 20,
                            .cpu_quota = 50000};
    Grpc__Spec *s = spec_default(&in);
    tap_ok(strcmp(s->root->path, "/opt/kata/rootfs") == 0 && !s->root->readonly,
           "root path and writable rootfs");
    tap_ok(strcmp(s->hostname, "box1") == 0, "hostname");
    const Grpc__Linux *l = s->linux;
    tap_ok(has_ns(l, "pid") && has_ns(l, "ipc") && has_ns(l, "uts") && has_ns(l, "mount") &&
               has_ns(l, "cgroup"),
           "pid, ipc, uts, mount and cgroup namespaces");
    tap_ok(!has_ns(l, "network") && !has_ns(l, "user"),
           "no network namespace (the VM's network is the container's) and no user namespace");
    const Grpc__Mount *cg = find_mount(s, "/sys/fs/cgroup");
    tap_ok(cg && strcmp(cg->type, "cgroup") == 0 && has_str(cg->options, cg->n_options, "ro"),
           "/sys/fs/cgroup is a read-only cgroup mount");
    const Grpc__Mount *sys = find_mount(s, "/sys");
    tap_ok(sys && has_str(sys->options, sys->n_options, "ro"), "/sys read-only");
    tap_ok(find_mount(s, "/proc") && find_mount(s, "/dev") && find_mount(s, "/dev/pts") &&
               find_mount(s, "/dev/shm") && find_mount(s, "/dev/mqueue"),
           "standard mounts /proc /dev /dev/pts /dev/shm /dev/mqueue");
    tap_ok(has_str(l->maskedpaths, l->n_maskedpaths, "/proc/kcore") &&
               has_str(l->maskedpaths, l->n_maskedpaths, "/sys/firmware") &&
               has_str(l->readonlypaths, l->n_readonlypaths, "/proc/sys"),
           "masked and read-only paths as runc spec");
    tap_ok(l->resources->memory && l->resources->memory->limit == 64 << 20,
           "memory limit in resources");
    tap_ok(l->resources->cpu && l->resources->cpu->quota == 50000 &&
               l->resources->cpu->period == 100000,
           "cpu quota/period in resources");
    tap_ok(strcmp(l->cgroupspath, "/kata/box1") == 0, "cgroups path");
    const Grpc__Process *p = s->process;
    tap_ok(p->n_args == 3 && strcmp(p->args[2], "echo hi") == 0, "args");
    tap_ok(strcmp(p->cwd, "/tmp") == 0, "cwd from -w");
    tap_ok(env_is(p, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") &&
               env_is(p, "HOSTNAME=box1") && env_is(p, "FOO=bar") &&
               env_is(p, "KH_TEST_PASS=from-host"),
           "env: PATH, HOSTNAME, -e K=V and -e K (host value)");
    tap_ok(!has_str(p->env, p->n_env, "TERM=xterm") && p->n_env == 4,
           "no TERM without -t, unset host variables skipped");
    tap_ok(p->capabilities && p->capabilities->n_bounding == 3 &&
               has_str(p->capabilities->bounding, 3, "CAP_KILL") &&
               has_str(p->capabilities->effective, 3, "CAP_NET_BIND_SERVICE"),
           "runc's default capabilities");
    tap_ok(p->n_rlimits == 1 && strcmp(p->rlimits[0]->type, "RLIMIT_NOFILE") == 0 &&
               p->rlimits[0]->hard == 1024 && p->nonewprivileges,
           "RLIMIT_NOFILE 1024 and no_new_privileges");

    /* The spec survives an encode/decode round trip (what the agent receives). */
    size_t len = grpc__spec__get_packed_size(s);
    uint8_t *buf = malloc(len);
    grpc__spec__pack(s, buf);
    Grpc__Spec *back = grpc__spec__unpack(NULL, len, buf);
    tap_ok(back && back->n_mounts == s->n_mounts && back->linux->n_namespaces == 5 &&
               back->linux->resources->memory->limit == 64 << 20 &&
               strcmp(back->process->args[0], "sh") == 0,
           "spec round-trips through protobuf (%zu bytes)", len);
    grpc__spec__free_unpacked(back, NULL);
    free(buf);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* -t and a numeric user; a textual user goes in StringUser and Username. */
    proc.tty = true;
    struct kerr *err = NULL;
    options_parse_user("1000:1001", &proc.user, &err);
    Grpc__Process *tp = spec_process(&proc, "h", 40, 120);
    tap_ok(tp->terminal && tp->consolesize && tp->consolesize->height == 40 &&
               tp->consolesize->width == 120 && env_is(tp, "TERM=xterm"),
           "-t: terminal, console size and TERM");
    tap_ok(tp->user->uid == 1000 && tp->user->gid == 1001 && !spec_string_user(&proc.user),
           "numeric user in Process.User, no StringUser");
    protobuf_c_message_free_unpacked(&tp->base, NULL);
    options_parse_user("nobody", &proc.user, &err);
    tp = spec_process(&proc, NULL, 0, 0);
    Grpc__StringUser *su = spec_string_user(&proc.user);
    tap_ok(su && strcmp(su->uid, "nobody") == 0 && strcmp(tp->user->username, "nobody") == 0,
           "textual user in StringUser.uid and User.username");
    tap_ok(!tp->consolesize && !env_is(tp, "HOSTNAME=h"), "no size when unknown");
    protobuf_c_message_free_unpacked(&tp->base, NULL);
    protobuf_c_message_free_unpacked(&su->base, NULL);
    user_spec_free(&proc.user);
    strv_free(&proc.env);
    return tap_done();
}
