/* containerd-shim-kata-guest-v2: the shim v2 containerd runs for runtime type
 * io.containerd.kata-guest.v2.
 *
 *   <shim> -namespace NS -address SOCK -publish-binary BIN -id ID [-debug] start
 *       Starts the sandbox's shim (or finds the pod's running one for a CRI container), writes
 *       the bundle's `address` file and prints only the ttRPC address, as containerd expects.
 *   <shim> ... -id ID -bundle DIR delete
 *       Cleans up after a shim that died; prints a DeleteResponse.
 *   <shim> ... -sandbox SID serve   (internal: the daemon `start` leaves behind; socket on fd 3)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "dial.h"
#include "fsutil.h"
#include "oci-json.h"
#include "paths.h"
#include "shim.h"
#include "version.h"
#include "xalloc.h"

#define LISTEN_FD 3

struct args {
    const char *ns, *address, *publish_binary, *id, *bundle, *sandbox, *command;
    bool debug;
};

static int usage(void)
{
    fprintf(stderr, "usage: containerd-shim-kata-guest-v2 -namespace NS -address SOCK "
                    "-publish-binary BIN -id ID [-bundle DIR] [-debug] start|delete\n");
    return 2;
}

/* The flags containerd passes (and -sandbox, which `start` passes to the daemon). */
static const struct flag {
    const char *name;
    size_t offset; /* of the const char * in struct args; SIZE_MAX: a switch */
} flags[] = {
    {"namespace", offsetof(struct args, ns)},
    {"address", offsetof(struct args, address)},
    {"publish-binary", offsetof(struct args, publish_binary)},
    {"id", offsetof(struct args, id)},
    {"bundle", offsetof(struct args, bundle)},
    {"sandbox", offsetof(struct args, sandbox)},
    {"debug", SIZE_MAX},
};
static const char *const commands[] = {"start", "delete"};
/* The last two are read by the host library (pool.c, sandbox.c), as for kata-host. */
static const char *const environment[] = {"KATA_GUEST_SHIM_CONFIG", "KATA_GUEST_SHIM_RUN_DIR",
                                          "KATA_HOST_RUN_DIR", "KATA_HOST_POOL"};

/* For the man page's drift test: what this program accepts, in tests/unit/man-drift.sh's
 * "SCOPE NAME" format. */
static void list_options(void)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
        if (strcmp(flags[i].name, "sandbox") != 0) /* internal */
            printf("containerd-shim-kata-guest-v2 -%s\n", flags[i].name);
    printf("containerd-shim-kata-guest-v2 -v\ncontainerd-shim-kata-guest-v2 --version\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
        printf("command %s\n", commands[i]);
    for (size_t i = 0; i < sizeof(environment) / sizeof(*environment); i++)
        printf("env %s\n", environment[i]);
    shim_config_list(stdout);
}

/* Go's flag syntax, which containerd uses: -name value, -name=value, --name value. Unknown
 * flags containerd may add (-socket, -containerd-binary) take a value and are ignored. */
static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof(*a));
    a->ns = "default";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-') {
            if (a->command)
                return -1;
            a->command = arg;
            continue;
        }
        arg += arg[1] == '-' ? 2 : 1;
        cleanup_free char *name = xstrdup(arg);
        char *eq = strchr(name, '=');
        const char *value = NULL;
        if (eq) {
            *eq = '\0';
            value = argv[i] + (eq - name) + (argv[i][1] == '-' ? 3 : 2);
        }
        if (strcmp(name, "v") == 0 || strcmp(name, "version") == 0 ||
            strcmp(name, "list-options") == 0) {
            a->command = name[0] == 'l' ? "list-options" : "version";
            continue;
        }
        const struct flag *f = NULL;
        for (size_t k = 0; k < sizeof(flags) / sizeof(*flags); k++)
            if (strcmp(flags[k].name, name) == 0)
                f = &flags[k];
        if (f && f->offset == SIZE_MAX) {
            a->debug = true;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return -1;
            value = argv[++i];
        }
        if (f)
            *(const char **)((char *)a + f->offset) = value;
    }
    return a->command ? 0 : -1;
}

static bool valid_id(const char *id)
{
    if (!id || !*id || strlen(id) > 256 || strstr(id, "..") || id[0] == '.')
        return false;
    for (const char *p = id; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

static bool socket_alive(const char *path)
{
    int fd = dial_unix(path, NULL);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The pod a container belongs to, from its bundle's CRI annotations. */
static int sandbox_of(const char *bundle, const char *id, char **ret_sandbox, bool *ret_joins,
                      struct kerr **err)
{
    cleanup_free char *path = xasprintf("%s/config.json", bundle);
    cleanup_free char *json = NULL;
    int r = read_file(path, &json, err);
    if (r < 0)
        return r;
    Grpc__Spec *spec = NULL;
    r = oci_json_parse_spec(json, strlen(json), &spec, err);
    if (r < 0)
        return error_wrap(err, r, "%s", path);
    const char *type = NULL, *sandbox = NULL;
    for (size_t i = 0; i < spec->n_annotations; i++) {
        if (strcmp(spec->annotations[i]->key, CRI_CONTAINER_TYPE) == 0)
            type = spec->annotations[i]->value;
        if (strcmp(spec->annotations[i]->key, CRI_SANDBOX_ID) == 0)
            sandbox = spec->annotations[i]->value;
    }
    *ret_joins = type && strcmp(type, "container") == 0 && sandbox && *sandbox;
    *ret_sandbox = xstrdup(*ret_joins ? sandbox : id);
    protobuf_c_message_free_unpacked(&spec->base, NULL);
    if (!valid_id(*ret_sandbox)) {
        r = make_error(err, EINVAL, "invalid sandbox id '%s'", *ret_sandbox);
        free(*ret_sandbox);
        *ret_sandbox = NULL;
        return r;
    }
    return 0;
}

static int write_address_file(const char *bundle, const char *address, struct kerr **err)
{
    cleanup_free char *path = xasprintf("%s/address", bundle);
    cleanup_free char *tmp = xasprintf("%s.tmp", path);
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, address, strlen(address)) != (ssize_t)strlen(address) ||
        rename(tmp, path) < 0)
        return make_error(err, errno, "write %s", path);
    return 0;
}

static int listen_on(const char *path, struct kerr **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return make_error(err, ENAMETOOLONG, "socket path %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return make_error(err, errno, "socket");
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return make_error(err, e, "listen on %s", path);
    }
    return fd;
}

static int cmd_start(const struct args *a, char **argv, struct kerr **err)
{
    if (!valid_id(a->id))
        return make_error(err, EINVAL, "invalid id '%s'", a->id ? a->id : "");
    cleanup_free char *cwd = getcwd(NULL, 0);
    const char *bundle = a->bundle ? a->bundle : cwd;
    if (!bundle)
        return make_error(err, errno, "getcwd");
    cleanup_free char *sandbox = NULL;
    bool joins = false;
    int r = sandbox_of(bundle, a->id, &sandbox, &joins, err);
    if (r < 0)
        return r;
    cleanup_free char *run_dir = shim_run_dir_for(a->ns, sandbox);
    cleanup_free char *sock = shim_socket_path(run_dir);
    cleanup_free char *address = xasprintf("unix://%s", sock);
    if (joins) {
        /* A CRI container runs in its pod's VM: containerd talks to the pod's shim. */
        if (!socket_alive(sock))
            return make_error(err, ENOENT, "the shim of sandbox %s is not running", sandbox);
    } else {
        if (socket_alive(sock))
            return make_error(err, EEXIST, "a shim for sandbox %s already runs", sandbox);
        paths_remove_tree(run_dir); /* left by a shim that died */
        if (mkdir(shim_run_base(), 0711) < 0 && errno != EEXIST)
            return make_error(err, errno, "create %s", shim_run_base());
        if (mkdir(run_dir, 0700) < 0)
            return make_error(err, errno, "create %s", run_dir);
        int lfd = listen_on(sock, err);
        if (lfd < 0)
            return lfd;
        pid_t pid = fork();
        if (pid < 0)
            return make_error(err, errno, "fork");
        if (pid == 0) {
            setsid();
            /* containerd reads our stdout and stderr to EOF: the daemon must not hold them.
             * Its messages go to the bundle's `log` FIFO, which containerd copies into its own
             * log (non-blocking: a containerd that stopped reading never stalls the shim), or,
             * without a reader, to the shim directory. */
            cleanup_free char *fifo = xasprintf("%s/log", bundle);
            cleanup_free char *log = xasprintf("%s/shim.log", run_dir);
            int lf = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (lf < 0)
                lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
            dup2(nul, 0);
            dup2(lf >= 0 ? lf : nul, 1);
            dup2(lf >= 0 ? lf : nul, 2);
            if (lfd == LISTEN_FD)
                fcntl(lfd, F_SETFD, 0); /* dup2 onto itself would keep close-on-exec */
            else
                dup2(lfd, LISTEN_FD);
            char *args[] = {"containerd-shim-kata-guest-v2",
                            "-namespace",
                            (char *)a->ns,
                            "-address",
                            (char *)(a->address ? a->address : ""),
                            "-publish-binary",
                            (char *)(a->publish_binary ? a->publish_binary : ""),
                            "-id",
                            (char *)a->id,
                            "-bundle",
                            (char *)bundle,
                            "-sandbox",
                            sandbox,
                            "serve",
                            NULL};
            execv("/proc/self/exe", args);
            _exit(127);
        }
        close(lfd);
        (void)argv;
    }
    r = write_address_file(bundle, address, err);
    if (r < 0)
        return r;
    printf("%s", address);
    fflush(stdout);
    return 0;
}

/* containerd runs this when the shim's connection is gone: the shim died, so its VM and
 * virtiofsd died with it (they get SIGKILL when their parent does) and its mounts with its
 * mount namespace. What is left is the run directory. */
static int cmd_delete(const struct args *a, struct kerr **err)
{
    cleanup_free char *cwd = getcwd(NULL, 0);
    const char *bundle = a->bundle ? a->bundle : cwd;
    cleanup_free char *sandbox = NULL;
    bool joins = false;
    struct kerr *e2 = NULL;
    if (!bundle || sandbox_of(bundle, a->id, &sandbox, &joins, &e2) < 0)
        sandbox = xstrdup(a->id ? a->id : "");
    error_free(e2);
    if (valid_id(sandbox)) {
        cleanup_free char *run_dir = shim_run_dir_for(a->ns, sandbox);
        cleanup_free char *sock = shim_socket_path(run_dir);
        if (!socket_alive(sock))
            paths_remove_tree(run_dir);
    }
    if (bundle) {
        cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
        umount2(rootfs, MNT_DETACH);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = now.tv_sec;
    ts.nanos = (int32_t)now.tv_nsec;
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    resp.exit_status = 128 + SIGKILL;
    resp.exited_at = &ts;
    size_t len = containerd__task__v2__delete_response__get_packed_size(&resp);
    uint8_t buf[64];
    if (len > sizeof(buf))
        return make_error(err, EOVERFLOW, "DeleteResponse");
    containerd__task__v2__delete_response__pack(&resp, buf);
    if (fwrite(buf, 1, len, stdout) != len)
        return make_error(err, errno, "write the DeleteResponse");
    fflush(stdout);
    return 0;
}

static int cmd_serve(const struct args *a, struct kerr **err)
{
    if (!a->sandbox || !valid_id(a->sandbox) || !valid_id(a->id))
        return make_error(err, EINVAL, "serve: bad -sandbox or -id");
    signal(SIGPIPE, SIG_IGN);
    /* Rootfs and volume mounts live in a namespace of our own: they are invisible on the host
     * and vanish with the shim, however it ends. Slave, so the host's mounts still reach us. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return make_error(err, errno, "private mount namespace");
    static struct shim s;
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.changed, NULL);
    s.ns = a->ns;
    s.id = a->id;
    s.bundle = a->bundle;
    s.containerd_address = a->address;
    s.publish_binary = a->publish_binary;
    s.sandbox_id = xstrdup(a->sandbox);
    s.run_dir = shim_run_dir_for(a->ns, a->sandbox);
    int r = shim_config_load(&s.opts, err);
    if (r < 0)
        return r;
    s.opts.verbose = a->debug;
    const char *ttrpc_address = getenv("TTRPC_ADDRESS");
    s.events = shim_events_new(a->ns, ttrpc_address && *ttrpc_address ? ttrpc_address : NULL,
                               a->publish_binary && *a->publish_binary ? a->publish_binary : NULL,
                               a->address && *a->address ? a->address : NULL, err);
    if (!s.events)
        return -EIO;
    r = shim_serve(&s, LISTEN_FD, err);
    shim_events_free(s.events, 2000);
    shim_config_clear(&s.opts);
    paths_remove_tree(s.run_dir);
    return r;
}

int main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a) < 0)
        return usage();
    cleanup_error struct kerr *err = NULL;
    int r;
    if (strcmp(a.command, "list-options") == 0) {
        list_options();
        return 0;
    }
    if (strcmp(a.command, "version") == 0) {
        printf("containerd-shim-kata-guest-v2 %s (commit %s)\n", KATA_VERSION, KATA_COMMIT);
        return 0;
    } else if (strcmp(a.command, "start") == 0) {
        r = cmd_start(&a, argv, &err);
    } else if (strcmp(a.command, "delete") == 0) {
        r = cmd_delete(&a, &err);
    } else if (strcmp(a.command, "serve") == 0) {
        r = cmd_serve(&a, &err);
    } else {
        return usage();
    }
    if (r < 0) {
        fprintf(stderr, "containerd-shim-kata-guest-v2: %s\n", err ? err->msg : strerror(-r));
        return 1;
    }
    return 0;
}
