#!/usr/bin/env bats
# kata-agent's CopyFile (the runtime's shared_fs=none path): chunked files compared byte for byte,
# modes and owners, directories, symlinks, empty files, and escape attempts ("..", paths outside
# the share, symlinks inside the share pointing out, symlinked parents) that must leave
# everything outside /run/kata-containers/shared/containers/ untouched.
# The agent has a private /run: the share is checked from inside its mount namespace; $OUT is
# a host directory (visible to the agent too) that no call may write into.
load agent_helper

S=/run/kata-containers/shared/containers

setup_file() {
    agent_setup_file
    export OUT=$WORK/outside
    mkdir -p "$OUT/dir"
    echo original >"$OUT/victim"
}
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

in_agent() {
    nsenter -t "$(agent_pid)" -m "$@"
}

# The outside directory is exactly as setup_file left it.
outside_untouched() {
    [ "$(cd "$OUT" && find . | sort | tr '\n' ' ')" = ". ./dir ./victim " ] || {
        find "$OUT" >&2
        return 1
    }
    [ "$(cat "$OUT/victim")" = original ]
}

@test "CopyFile: a 2.5 MiB file in 1 MiB chunks arrives byte for byte with its mode and owner" {
    head -c 2621440 /dev/urandom >"$WORK/big.bin"
    chmod 0640 "$WORK/big.bin"
    run actl push --uid 1000 --gid 1001 "$WORK/big.bin" "$S/c1/a/b/big.bin"
    assert_success
    in_agent cmp "$WORK/big.bin" "$S/c1/a/b/big.bin"
    run in_agent stat -c '%a %u %g %s' "$S/c1/a/b/big.bin"
    assert_output "640 1000 1001 2621440"
    # parents: dir_mode & 0777 (the runtime's 0750|ModeDir), only the immediate one chowned
    run in_agent stat -c '%a %u:%g' "$S/c1/a" "$S/c1/a/b"
    assert_output $'750 0:0\n750 1000:1001'
    # no temporary file left behind
    run in_agent ls "$S/c1/a/b"
    assert_output big.bin
}

@test "CopyFile: chunks go to <name with .tmp extension> until the size is reached, then rename" {
    run actl copy-file --mode 100600 --size 10 --offset 0 --data hello "$S/c1/app.conf"
    assert_success
    run in_agent ls "$S/c1"
    assert_line app.tmp
    refute_line app.conf
    run actl copy-file --mode 100600 --size 10 --offset 5 --data world "$S/c1/app.conf"
    assert_success
    run in_agent cat "$S/c1/app.conf"
    assert_output helloworld
    run in_agent ls "$S/c1"
    refute_line app.tmp
    run in_agent stat -c '%a' "$S/c1/app.conf"
    assert_output 600
    # a name without extension gets one; a dot file keeps its name
    run actl copy-file --size 4 --data ab "$S/c1/noext"
    run actl copy-file --size 4 --data ab "$S/c1/.hidden"
    run in_agent ls -A "$S/c1"
    assert_line noext.tmp
    assert_line .hidden.tmp
}

@test "CopyFile: setuid/setgid/sticky bits and a rewrite of an existing file" {
    run actl copy-file --mode 106755 --uid 1000 --gid 1000 --size 3 --data abc "$S/c1/suid"
    assert_success
    run in_agent stat -c '%a %u' "$S/c1/suid"
    assert_output "6755 1000"
    # offset 0 replaces what was there
    run actl copy-file --mode 100644 --size 2 --data xy "$S/c1/suid"
    assert_success
    run in_agent sh -c "cat $S/c1/suid; stat -c ' %a %u' $S/c1/suid"
    assert_output "xy 644 0"
}

@test "CopyFile: an empty file is one request" {
    : >"$WORK/empty"
    run actl push --uid 7 --gid 8 "$WORK/empty" "$S/c1/empty"
    assert_success
    run in_agent stat -c '%s %F %u:%g' "$S/c1/empty"
    assert_output "0 regular empty file 7:8"
}

@test "CopyFile: directories (modes with setgid, owners, an existing one kept, a file replaced)" {
    run actl copy-file --mode 42775 --uid 1000 --gid 1002 "$S/c1/d1"
    assert_success
    run in_agent stat -c '%a %u:%g %F' "$S/c1/d1"
    assert_output "2775 1000:1002 directory"
    run actl copy-file --size 1 --data z "$S/c1/d1/inner"
    run actl copy-file --mode 40700 "$S/c1/d1"
    assert_success
    run in_agent sh -c "stat -c '%a' $S/c1/d1; cat $S/c1/d1/inner"
    assert_output $'700\nz'
    run actl copy-file --size 1 --data f "$S/c1/wasfile"
    run actl copy-file --mode 40755 "$S/c1/wasfile"
    assert_success
    run in_agent stat -c '%F' "$S/c1/wasfile"
    assert_output directory
    # a directory pushed as the runtime does (lstat's mode)
    mkdir -p "$WORK/srcdir"
    chmod 0751 "$WORK/srcdir"
    run actl push --uid 0 --gid 0 "$WORK/srcdir" "$S/c1/srcdir"
    assert_success
    run in_agent stat -c '%a %F' "$S/c1/srcdir"
    assert_output "751 directory"
}

@test "CopyFile: symlinks (target from data, owner set on the link, an existing file replaced)" {
    ln -sfn ../some/where "$WORK/lnk"
    run actl push --uid 1000 --gid 1003 "$WORK/lnk" "$S/c1/lnk"
    assert_success
    run in_agent stat -c '%F %u:%g' "$S/c1/lnk"
    assert_output "symbolic link 1000:1003"
    run in_agent readlink "$S/c1/lnk"
    assert_output ../some/where
    run actl copy-file --size 1 --data q "$S/c1/tolink"
    run actl copy-file --mode 120777 --data /etc/hostname "$S/c1/tolink"
    assert_success
    run in_agent readlink "$S/c1/tolink"
    assert_output /etc/hostname
}

@test "CopyFile: paths outside the share are refused with upstream's message" {
    for p in /etc/kata-escape "$OUT/x" /run/kata-containers/shared/containersX/y \
        run/kata-containers/shared/containers/rel /run/kata-containers/shared/other; do
        run actl copy-file --size 1 --data x "$p"
        assert_failure 2
        assert_output "INTERNAL: removing \"$S/\" prefix from $p"
    done
    [ ! -e /etc/kata-escape ]
    run in_agent ls /run/kata-containers/shared
    assert_output containers
    outside_untouched
}

@test "CopyFile: '..' stays inside the share (resolved as if the share were /)" {
    run actl copy-file --size 3 --data abc "$S/c1/../../../../..$WORK/up/dotdot"
    assert_success
    [ ! -e "$WORK/up" ]
    run in_agent cat "$S$WORK/up/dotdot"
    assert_output abc
    run in_agent ls /run/kata-containers
    assert_output shared
    run actl copy-file --mode 40755 "$S/.."
    assert_failure 2
    outside_untouched
}

@test "CopyFile: symlinks inside the share pointing out are resolved inside it" {
    # links the host could have created in the share: absolute, relative going up, to a file
    run actl copy-file --mode 120777 --data "$OUT" "$S/c2/abs"
    run actl copy-file --mode 120777 --data "../../../../../../../..$OUT" "$S/c2/rel"
    run actl copy-file --mode 120777 --data "$OUT/victim" "$S/c2/file"
    # through a symlinked parent: $OUT does not exist inside the share, so nothing is created
    for p in "$S/c2/abs/new" "$S/c2/rel/new" "$S/c2/abs/dir/new" "$S/c2/rel/dir/sub/new"; do
        run actl copy-file --size 1 --data x "$p"
        assert_failure 2
        assert_output --partial INTERNAL
        run actl copy-file --mode 40755 "$p"
        assert_failure 2
        run actl copy-file --mode 120777 --data /x "$p"
        assert_failure 2
    done
    # a symlink as the target itself is replaced, never written through
    run actl copy-file --size 6 --data hacked "$S/c2/file"
    assert_success
    run in_agent stat -c '%F' "$S/c2/file"
    assert_output "regular file"
    # a later chunk whose temporary file is a symlink out is refused (O_NOFOLLOW)
    run actl copy-file --mode 120777 --data "$OUT/victim" "$S/c2/chunk.tmp"
    run actl copy-file --size 10 --offset 5 --data world "$S/c2/chunk.bin"
    assert_failure 2
    # once the share holds that path, the same link leads there (inside)
    run in_agent mkdir -p "$S$OUT/dir"
    run actl copy-file --size 2 --data in "$S/c2/abs/dir/new"
    assert_success
    run in_agent cat "$S$OUT/dir/new"
    assert_output in
    outside_untouched
}
