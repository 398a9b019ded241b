# containerd.bash: a private containerd for one test file (or one benchmark run), driven
# through `ctr`. Source it, then:
#
#   ctr_env                 KATA_SRC, KATA_BUILD, KG_CTR_RUNTIME, KG_SHIM_BIN, CTR_T, IMG
#   ctr_shim_missing        true when our runtime is selected and its shim is not built
#   ctr_setup PREFIX        a work dir CTR_WORK=/tmp/PREFIX.XXXXXX with root/, state/, the
#                           grpc socket CTR_SOCK, config.toml (version 2, CRI disabled), a
#                           bin/ dir holding the shim for containerd's PATH, a fifo dir, and a
#                           namespace CTR_NS=kgtest-<tag> of this run only; CTR_TAG is the
#                           same random tag, for container ids (ctr_id NAME)
#   ctr_start / ctr_stop    start containerd and wait until it answers / stop it (TERM, KILL)
#   ctr_restart             ctr_stop then ctr_start: same config, same dirs; shims live on
#   ctr_ ARGS...            ctr -a CTR_SOCK -n CTR_NS ARGS, under `timeout CTR_T`
#   ctr_run ARGS...         ctr_ run --runtime KG_CTR_RUNTIME --fifo-dir ... ARGS
#   ctr_exec ARGS...        ctr_ task exec --fifo-dir ... ARGS
#   ctr_import_busybox      imports the busybox OCI image (built once, cached under KATA_BUILD)
#   ctr_run_detached ID [CTR RUN OPTIONS...] -- CMD...   ctr_run -d, no terminal, no stdin
#   ctr_rm_task ID          kills (SIGKILL, all) and deletes the task, then the container
#   ctr_task_status ID      the STATUS column of `ctr task ls` for ID (empty when no task)
#   ctr_wait_status ID S [SECONDS]   until ID's status is S
#   ctr_events_start FILE / ctr_events_stop   `ctr events` in the background into FILE
#   ctr_setup_file PREFIX / ctr_require   for bats: setup_file and setup()
#   ctr_leftovers           prints what this run left behind (shim, QEMU, virtiofsd processes,
#                           mounts, shim run dir entries, containerd's /run/containerd files
#                           of this namespace); fails when there is any
#   ctr_nothing_left        the namespace is empty and ctr_leftovers (after a grace period)
#                           finds nothing
#   ctr_sanitizer_reports   ASan/UBSan reports of the shims in containerd's log, if any
#   ctr_remove_all          kills and deletes every task and container of the namespace
#   ctr_cleanup             kills and removes everything this run created, whatever state the
#                           tests left (containerd's log is kept as
#                           KATA_BUILD/test-logs/containerd-PREFIX.log); safe to call again
#
# Environment: KG_CTR_RUNTIME (default io.containerd.kata-guest.v2; io.containerd.runc.v2
# checks the harness itself), KG_SHIM_BIN (default $KATA_BUILD/asan/bin/
# containerd-shim-kata-guest-v2), KG_CTR_TIMEOUT (seconds for one ctr call, default 120),
# KATA_GUEST_SHIM_RUN_DIR (the shim's run dir; default CTR_WORK/shim-run so a run sees only
# its own sandboxes), KATA_HOST_ACCEL (default tcg) and KATA_HOST_TEMPLATE_DIR (default
# CTR_WORK/templates). containerd passes its environment on to the shims it starts.
#
# containerd keeps some paths under /run/containerd whatever its state dir is: s/ (shim
# sockets, named by sha256 of "<grpc socket>/<namespace>/<id>"), runc/<namespace> (the runc
# shim's root) and fifo/ (ctr's default; every call here passes --fifo-dir instead).

KG_CTR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTR_RUN_ROOT=/run/containerd

ctr_env() {
    export KATA_SRC=${KATA_SRC:-$(cd "$KG_CTR_LIB_DIR/../../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export KG_CTR_RUNTIME=${KG_CTR_RUNTIME:-io.containerd.kata-guest.v2}
    export KG_SHIM_BIN=${KG_SHIM_BIN:-$KATA_BUILD/asan/bin/containerd-shim-kata-guest-v2}
    export CTR_T=${KG_CTR_TIMEOUT:-120}
    export IMG=local/busybox:latest
}

ctr_shim_missing() {
    [ "$KG_CTR_RUNTIME" = io.containerd.kata-guest.v2 ] && [ ! -x "$KG_SHIM_BIN" ]
}

ctr_setup() { # PREFIX
    ctr_env
    CTR_WORK=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
    chmod 755 "$CTR_WORK"
    export CTR_WORK
    export CTR_TAG=${CTR_WORK##*.}
    export CTR_NS=kgtest-$CTR_TAG
    export CTR_SOCK=$CTR_WORK/containerd.sock
    export CTR_FIFO=$CTR_WORK/fifo
    export KATA_GUEST_SHIM_RUN_DIR=${KATA_GUEST_SHIM_RUN_DIR:-$CTR_WORK/shim-run}
    # The accelerator the other guest suites pin, for the shim's VMs (see tests/guest), and
    # VM templates of this run only (the host library reads both).
    export KATA_HOST_ACCEL=${KATA_HOST_ACCEL:-tcg}
    export KATA_HOST_TEMPLATE_DIR=${KATA_HOST_TEMPLATE_DIR:-$CTR_WORK/templates}
    mkdir -p "$CTR_WORK"/{root,state,bin,opt} "$CTR_FIFO"
    : >"$CTR_WORK/words"
    # What existed before us under /run/containerd: only what we created is removed.
    local d
    for d in "$CTR_RUN_ROOT" "$CTR_RUN_ROOT/s" "$CTR_RUN_ROOT/fifo" "$CTR_RUN_ROOT/runc"; do
        [ -e "$d" ] || echo "$d" >>"$CTR_WORK/created-dirs"
    done
    # containerd looks a shim up by PATH: ours first, and containerd-shim-runc-v2 from /usr/bin.
    if [ -x "$KG_SHIM_BIN" ]; then
        ln -sf "$(readlink -f "$KG_SHIM_BIN")" "$CTR_WORK/bin/containerd-shim-kata-guest-v2"
    fi
    cat >"$CTR_WORK/config.toml" <<EOF
version = 2
root = "$CTR_WORK/root"
state = "$CTR_WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTR_SOCK"

# Its default, /opt/containerd, would be created on the host.
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTR_WORK/opt"
EOF
}

_ctr_pid() {
    pgrep -f -x -- "containerd --config $CTR_WORK/config.toml" | head -1
}

ctr_start() {
    [ -z "$(_ctr_pid)" ] || { echo "ctr_start: containerd already runs" >&2; return 1; }
    # setsid: the test runner's signals and process group are not containerd's. fd 3 closed:
    # bats waits for every holder of its fd 3 before it ends.
    PATH="$CTR_WORK/bin:$PATH" setsid containerd --config "$CTR_WORK/config.toml" \
        </dev/null >>"$CTR_WORK/containerd.log" 2>&1 3>&- &
    local i
    for i in $(seq 200); do
        [ -S "$CTR_SOCK" ] && ctr -a "$CTR_SOCK" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "ctr_start: containerd did not answer on $CTR_SOCK within 20 s; its log:" >&2
    tail -20 "$CTR_WORK/containerd.log" >&2
    return 1
}

ctr_stop() {
    local pid i
    pid=$(_ctr_pid)
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "ctr_stop: containerd $pid does not die" >&2
    return 1
}

ctr_restart() {
    ctr_stop && ctr_start
}

ctr_() {
    # Every word may be a container id: cleanup derives the shim socket names from them.
    printf '%s\n' "$@" >>"$CTR_WORK/words"
    timeout -k 5 "$CTR_T" ctr -a "$CTR_SOCK" -n "$CTR_NS" "$@"
}

ctr_run() {
    ctr_ run --runtime "$KG_CTR_RUNTIME" --fifo-dir "$CTR_FIFO" "$@"
}

ctr_exec() {
    ctr_ task exec --fifo-dir "$CTR_FIFO" "$@"
}

ctr_id() { # NAME: a container id of this run only (its processes can be told by the tag)
    echo "$CTR_TAG-$1"
}

# The image tarball depends on the scripts that make it and on the busybox binary only.
ctr_busybox_tar() {
    local key
    key=$(cat "$KG_CTR_LIB_DIR/../make-busybox-oci.sh" "$KATA_SRC/rootfs-builder/busybox-rootfs.sh" \
        "$(readlink -f "${BUSYBOX:-/bin/busybox}")" | sha256sum | cut -c1-16)
    local tar=$KATA_BUILD/containerd/busybox-oci-$key.tar
    if [ ! -f "$tar" ]; then
        mkdir -p "$KATA_BUILD/containerd"
        rm -f "$KATA_BUILD"/containerd/busybox-oci-*.tar
        "$KG_CTR_LIB_DIR/../make-busybox-oci.sh" "$tar" || return 1
    fi
    echo "$tar"
}

ctr_import_busybox() {
    local tar
    tar=$(ctr_busybox_tar) || return 1
    ctr_ images import "$tar" >/dev/null
}

ctr_run_detached() { # ID [CTR RUN OPTIONS...] -- CMD...
    local id=$1 opts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    ctr_run -d "${opts[@]}" "$IMG" "$id" "$@" </dev/null
}

ctr_rm_task() { # ID
    ctr_ task kill -a -s SIGKILL "$1" >/dev/null 2>&1
    ctr_ task rm -f "$1" && ctr_ containers rm "$1"
}

ctr_task_status() { # ID
    ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'
}

ctr_wait_status() { # ID STATUS [SECONDS]
    local i
    for i in $(seq $((${3:-30} * 10))); do
        [ "$(ctr_task_status "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "task $1: status '$(ctr_task_status "$1")', not $2 after ${3:-30} s" >&2
    return 1
}

ctr_events_start() { # FILE
    timeout -k 5 600 ctr -a "$CTR_SOCK" events >"$1" 2>&1 3>&- &
    echo $! >"$CTR_WORK/events.pid"
}

ctr_events_stop() {
    [ -f "$CTR_WORK/events.pid" ] || return 0
    local pid
    pid=$(cat "$CTR_WORK/events.pid")
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    rm -f "$CTR_WORK/events.pid"
}

# Processes of this run: shims started by our containerd, and VMs or virtiofsd daemons whose
# command line names our work dir or our tag (QEMU's names the sandbox id).
_ctr_our_pids() {
    {
        pgrep -f -- "containerd-shim.* -address $CTR_SOCK( |$)"
        pgrep -f -- "^[^ ]*(qemu-system|virtiofsd)[^ ]* .*($CTR_WORK|$CTR_TAG)"
    } | sort -u
}

_ctr_our_mounts() {
    awk -v w="$CTR_WORK" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo
}

# Shim sockets under /run/containerd/s that belong to this run's ids.
_ctr_our_shim_sockets() {
    local w h
    sort -u "$CTR_WORK/words" 2>/dev/null | while read -r w; do
        [ -n "$w" ] || continue
        h=$(printf '%s' "$CTR_SOCK/$CTR_NS/$w" | sha256sum | cut -d' ' -f1)
        [ -e "$CTR_RUN_ROOT/s/$h" ] && echo "$CTR_RUN_ROOT/s/$h"
    done
}

# FIFOs of this run's ids in ctr's default FIFO dir: none while every call passes --fifo-dir.
_ctr_our_default_fifos() {
    local f
    for f in "$CTR_RUN_ROOT"/fifo/*/"$CTR_TAG"-*; do
        [ -e "$f" ] && echo "$f"
    done
    return 0
}

ctr_leftovers() {
    local out="" p
    p=$(_ctr_our_pids)
    [ -z "$p" ] || out+="processes:"$'\n'"$(ps -o pid=,args= -p "$(echo $p | tr ' ' ,)")"$'\n'
    p=$(_ctr_our_mounts)
    [ -z "$p" ] || out+="mounts:"$'\n'"$p"$'\n'
    if [ -d "$KATA_GUEST_SHIM_RUN_DIR" ] && [ -n "$(ls -A "$KATA_GUEST_SHIM_RUN_DIR")" ]; then
        out+="shim run dir $KATA_GUEST_SHIM_RUN_DIR:"$'\n'"$(ls -A "$KATA_GUEST_SHIM_RUN_DIR")"$'\n'
    fi
    p=$(_ctr_our_shim_sockets)
    [ -z "$p" ] || out+="shim sockets:"$'\n'"$p"$'\n'
    p=$(_ctr_our_default_fifos)
    [ -z "$p" ] || out+="FIFOs:"$'\n'"$p"$'\n'
    p=$(ls -A "$CTR_RUN_ROOT/runc/$CTR_NS" 2>/dev/null)
    [ -z "$p" ] || out+="$CTR_RUN_ROOT/runc/$CTR_NS:"$'\n'"$p"$'\n'
    [ -z "$out" ] && return 0
    printf '%s' "$out"
    return 1
}

# For a file's last test: no task or container is listed, and once the shims have had a
# moment to exit after their last task, ctr_leftovers finds nothing. Prints what is left.
ctr_nothing_left() {
    local out i
    out=$(ctr_ task ls -q && ctr_ containers ls -q) || return 1
    [ -z "$out" ] || { echo "still listed: $out"; return 1; }
    for i in $(seq 100); do
        ctr_leftovers >/dev/null && return 0
        sleep 0.1
    done
    ctr_leftovers
}

# Sanitizer reports in containerd's log: a shim's stderr reaches it through the bundle's
# `log` FIFO, and the shim under test is the ASan build.
ctr_sanitizer_reports() {
    grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$CTR_WORK/containerd.log" || true
}

# Best effort, never fails: it runs in teardown, after the test's verdict, and a task that
# will not go must not fail the tests after it (the file's last test reports it). Each call
# gets KG_CTR_CLEANUP_TIMEOUT seconds (default 30), and a task that did not go once is not
# tried again by later teardowns (ctr_cleanup kills its shim in the end).
ctr_remove_all() {
    [ -n "$(_ctr_pid)" ] || return 0
    local id CTR_T=${KG_CTR_CLEANUP_TIMEOUT:-30} stuck=$CTR_WORK/unremovable
    for id in $(ctr_ task ls -q 2>/dev/null); do
        grep -qxF -- "$id" "$stuck" 2>/dev/null && continue
        { ctr_ task kill -a -s SIGKILL "$id"; ctr_ task rm -f "$id"; } >/dev/null 2>&1 ||
            echo "$id" >>"$stuck"
    done
    for id in $(ctr_ containers ls -q 2>/dev/null); do
        grep -qxF -- "$id" "$stuck" 2>/dev/null && continue
        ctr_ containers rm "$id" >/dev/null 2>&1 || echo "$id" >>"$stuck"
    done
    return 0
}

ctr_cleanup() {
    [ -n "${CTR_WORK:-}" ] && [ -d "$CTR_WORK" ] || return 0
    ctr_events_stop
    local p i
    ctr_remove_all
    ctr_stop
    for p in $(_ctr_our_pids); do kill -TERM "$p" 2>/dev/null; done
    for i in $(seq 50); do
        [ -n "$(_ctr_our_pids)" ] || break
        sleep 0.1
    done
    for p in $(_ctr_our_pids); do kill -KILL "$p" 2>/dev/null; done
    # Innermost first.
    for p in $(_ctr_our_mounts | sort -r); do umount -l "$p" 2>/dev/null; done
    for p in $(_ctr_our_shim_sockets); do rm -f "$p"; done
    rm -rf "${CTR_RUN_ROOT:?}/runc/$CTR_NS"
    for p in $(_ctr_our_default_fifos); do
        rm -f "$p"
        rmdir "${p%/*}" 2>/dev/null
    done
    # The runc shim's cgroups (cgroupsPath /<namespace>/<id>): the per-id ones go with their
    # tasks, the namespace's parent stays.
    find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$CTR_NS" 2>/dev/null |
        while read -r p; do find "$p" -depth -type d -exec rmdir {} + 2>/dev/null; done
    # containerd's log (the shims' output included) outlives the run, next to tests/run's.
    if [ -f "$CTR_WORK/containerd.log" ] && mkdir -p "$KATA_BUILD/test-logs" 2>/dev/null; then
        cp "$CTR_WORK/containerd.log" "$KATA_BUILD/test-logs/containerd-$(basename "${CTR_WORK%.*}").log"
    fi
    if [ -f "$CTR_WORK/created-dirs" ]; then
        sort -r "$CTR_WORK/created-dirs" | while read -r p; do rmdir "$p" 2>/dev/null; done
    fi
    rm -rf "$CTR_WORK"
}

# For a bats file's setup_file: containerd with the busybox image.
ctr_setup_file() { # PREFIX
    ctr_setup "$1" || return 1
    ctr_start && ctr_import_busybox
}

# For a bats setup(): a missing shim fails every test (`make test` builds it).
ctr_require() {
    if ctr_shim_missing; then
        echo "containerd-shim-kata-guest-v2 is not built ($KG_SHIM_BIN)" >&2
        return 1
    fi
    return 0
}
