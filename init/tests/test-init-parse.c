/* The pure parsers and formatters behind kata-init: wait statuses, mountinfo, /proc/cgroups,
 * /etc/hostname, /proc/PID/stat, input events; and the small file helpers. */
#include <errno.h>
#include <linux/input.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/cgroups.h"
#include "fsutil.h"
#include "init/mounts.h"
#include "init/net.h"
#include "init/powerbutton.h"
#include "init/shutdown.h"
#include "init/status.h"
#include "init/strv.h"
#include "tests/tap.h"

/* Real wait statuses from real children rather than hand-built bit patterns. */
static int child_status(int exit_code, int signal)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (signal) {
            raise(signal);
        }
        _exit(exit_code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void test_status(void)
{
    char buf[96];
    int st = child_status(3, 0);
    status_describe(st, buf, sizeof(buf));
    tap_is_str(buf, "exited with status 3", "exit status wording");
    tap_ok(status_exit_code(st) == 3, "exit code passes through");
    st = child_status(0, 0);
    status_describe(st, buf, sizeof(buf));
    tap_is_str(buf, "exited with status 0", "clean exit wording");
    st = child_status(0, SIGKILL);
    status_describe(st, buf, sizeof(buf));
    tap_is_str(buf, "killed by signal 9 (SIGKILL)", "signal wording");
    tap_ok(status_exit_code(st) == 137, "signal gives 128+N");
    st = child_status(0, SIGTERM);
    status_describe(st, buf, sizeof(buf));
    tap_is_str(buf, "killed by signal 15 (SIGTERM)", "SIGTERM wording");
}

static void test_mountinfo(void)
{
    const char *text = "22 1 0:21 / / rw shared:1 - rootfs rootfs rw\n"
                       "23 22 0:5 / /proc rw,nosuid - proc proc rw\n"
                       "30 22 0:30 / /run/my\\040dir rw - tmpfs tmpfs rw\n"
                       "31 22 0:31 / /a\\134b rw - tmpfs tmpfs rw\n"
                       "garbage\n"
                       "32 22 0:32 / /last rw - tmpfs tmpfs rw";
    char **t = mountinfo_targets(text);
    tap_ok(strv_length(t) == 5, "five mount points (the garbage line is skipped)");
    tap_is_str(t[0], "/", "root first");
    tap_is_str(t[2], "/run/my dir", "\\040 decodes to a space");
    tap_is_str(t[3], "/a\\b", "\\134 decodes to a backslash");
    tap_is_str(t[4], "/last", "a last line without newline");
    strv_free(t);
    t = mountinfo_targets("");
    tap_ok(t != NULL && t[0] == NULL, "empty text gives an empty list");
    strv_free(t);
}

static void test_cgroups(void)
{
    const char *text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                       "cpuset\t0\t1\t1\n"
                       "cpu\t0\t1\t1\n"
                       "memory\t0\t1\t0\n"
                       "pids\t3\t5\t1\n"
                       "broken line\n";
    char **c = cgroup_v1_controllers(text);
    tap_ok(strv_length(c) == 3, "three enabled controllers");
    tap_is_str(c[0], "cpuset", "first");
    tap_is_str(c[2], "pids", "disabled memory skipped");
    strv_free(c);
}

static void test_hostname(void)
{
    char *h = hostname_from_text("  sandbox-1 \nother\n");
    tap_is_str(h, "sandbox-1", "first line, trimmed");
    free(h);
    h = hostname_from_text("\n");
    tap_ok(h == NULL, "empty file gives no name");
    h = hostname_from_text("bad name");
    tap_ok(h == NULL, "a blank inside is refused");
    free(h);
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    h = hostname_from_text(longname);
    tap_ok(h == NULL, "65 bytes is too long");
    free(h);
}

static void test_proc_stat(void)
{
    pid_t ppid = 0;
    tap_ok(proc_stat_ppid("42 (a) b) c) S 7 42 42 0", &ppid) == 0 && ppid == 7,
           "a command name with ') ' inside");
    tap_ok(proc_stat_ppid("1 (init) S 0 1 1", &ppid) == 0 && ppid == 0, "ppid 0");
    tap_ok(proc_stat_ppid("1 init S 0", &ppid) < 0, "no parenthesis is an error");
    tap_ok(proc_stat_ppid("1 (x) S", &ppid) < 0, "missing ppid is an error");
    char path[64], *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)getpid());
    tap_ok(read_file(path, &text, NULL) == 0 && proc_stat_ppid(text, &ppid) == 0 &&
               ppid == getppid(),
           "our own /proc stat gives getppid()");
    free(text);
}

static void test_kill_descendants(void)
{
    /* A child that forks a grandchild; both sleep. kill_descendants must reach both. */
    int fds[2];
    if (pipe(fds) < 0)
        abort();
    pid_t child = fork();
    if (child == 0) {
        pid_t g = fork();
        if (g == 0) {
            close(fds[0]);
            close(fds[1]);
            pause();
            _exit(0);
        }
        char c = 'r';
        (void)!write(fds[1], &c, 1);
        int st;
        waitpid(g, &st, 0);
        /* Report how the grandchild ended through our own exit code. */
        _exit(WIFSIGNALED(st) ? WTERMSIG(st) : 100);
    }
    close(fds[1]);
    char c;
    (void)!read(fds[0], &c, 1);
    close(fds[0]);
    int sent = kill_descendants(getpid(), SIGTERM);
    int st;
    waitpid(child, &st, 0);
    tap_ok(sent >= 2, "signal sent to child and grandchild (sent %d)", sent);
    tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "the child died of it");
}

static void test_powerbutton(void)
{
    unsigned char bits[KEY_MAX / 8 + 1];
    memset(bits, 0, sizeof(bits));
    tap_ok(!powerbutton_keybits_have_power(bits, sizeof(bits)), "no power key in an empty map");
    bits[KEY_POWER / 8] |= 1u << (KEY_POWER % 8);
    tap_ok(powerbutton_keybits_have_power(bits, sizeof(bits)), "power key found");
    tap_ok(!powerbutton_keybits_have_power(bits, 2), "a short map cannot hold it");
    struct input_event ev = {.type = EV_KEY, .code = KEY_POWER, .value = 1};
    tap_ok(powerbutton_is_press(&ev), "press");
    ev.value = 0;
    tap_ok(!powerbutton_is_press(&ev), "release is not a press");
    ev.value = 1;
    ev.code = KEY_A;
    tap_ok(!powerbutton_is_press(&ev), "another key");
    ev.code = KEY_POWER;
    ev.type = EV_SYN;
    tap_ok(!powerbutton_is_press(&ev), "a sync event");
}

static void test_fsutil(void)
{
    char dir[] = "/tmp/test-init-XXXXXX";
    tap_ok(mkdtemp(dir) != NULL, "temp dir");
    char path[128], file[160], *text = NULL;
    struct kerr *err = NULL;
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    tap_ok(mkdir_p(path, 0700, &err) == 0, "mkdir -p");
    struct stat sb;
    tap_ok(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode), "nested dir exists");
    tap_ok(mkdir_p(path, 0700, &err) == 0, "mkdir -p again is fine");
    snprintf(file, sizeof(file), "%s/f", path);
    tap_ok(write_file(file, "x", &err) < 0 && err && strstr(err->msg, file),
           "writing a missing file fails with its path");
    error_freep(&err);
    FILE *f = fopen(file, "w");
    fclose(f);
    tap_ok(write_file(file, "hello\n", &err) == 0, "write");
    tap_ok(read_file(file, &text, &err) == 0, "read back");
    tap_is_str(text, "hello\n", "content");
    free(text);
    tap_ok(read_file("/nonexistent/x", &text, &err) < 0 && err && err->errnum == ENOENT,
           "reading a missing file: ENOENT");
    error_freep(&err);
    tap_ok(is_mountpoint("/proc"), "/proc is a mount point");
    tap_ok(is_mountpoint("/"), "/ is a mount point");
    tap_ok(!is_mountpoint(path), "a plain directory is not");
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);
}

int main(void)
{
    test_status();
    test_mountinfo();
    test_cgroups();
    test_hostname();
    test_proc_stat();
    test_kill_descendants();
    test_powerbutton();
    test_fsutil();
    return tap_done();
}
