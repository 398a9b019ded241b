# CreateContainer with a spec agentctl's options cannot express (hooks, crafted mounts, devices,
# masked paths): the request is written in protobuf text format, encoded by protoc against the
# project's own .proto files and sent raw (agentctl call). Used by agent-hooks.bats and
# agent-paths.bats.

# spec_create ID [ARGS...]: the container runs ARGS (default /bin/payload pause) in $ROOTFS
# with pid, mount, ipc and uts namespaces and /proc, /dev mounted. $OCI_EXTRA goes inside
# the OCI message, $LINUX_EXTRA inside its Linux message, $SPEC_ROOT replaces the rootfs,
# $SPEC_CWD the cwd, $PROCESS_EXTRA goes inside its Process message.
# Prints what agentctl prints; its exit status is agentctl's.
spec_create() {
    local id=$1 args="" a hex
    shift
    [ $# -gt 0 ] || set -- /bin/payload pause
    for a in "$@"; do
        a=${a//\\/\\\\}
        args="$args Args: \"${a//\"/\\\"}\""
    done
    hex=$(protoc --encode=grpc.CreateContainerRequest -I "$KATA_SRC/protocol/proto" \
        "$KATA_SRC/protocol/proto/agent.proto" <<EOT | od -An -v -tx1 | tr -d ' \n'
container_id: "$id"
exec_id: "$id"
OCI {
  Version: "1.0.2"
  Process { $args Env: "PATH=/bin:/usr/bin" Cwd: "${SPEC_CWD:-/}" User {} ${PROCESS_EXTRA:-} }
  Root { Path: "${SPEC_ROOT:-$ROOTFS}" }
  Mounts { destination: "/proc" source: "proc" type: "proc" options: "nosuid" }
  Mounts { destination: "/dev" source: "tmpfs" type: "tmpfs" options: "mode=755" }
  ${OCI_EXTRA:-}
  Linux {
    Namespaces { Type: "pid" } Namespaces { Type: "mount" }
    Namespaces { Type: "ipc" } Namespaces { Type: "uts" }
    ${LINUX_EXTRA:-}
  }
}
EOT
    ) || return 1
    actl call grpc.AgentService CreateContainer "$hex"
}

# hook_text KIND PATH [ARGS...]: one Hook message (KIND as the OCI JSON names it, e.g.
# createRuntime) for $OCI_EXTRA's Hooks; $HOOK_ENV (a list of NAME=VALUE words) is its
# environment, $HOOK_TIMEOUT its timeout.
hook_text() {
    local kind=$1 path=$2 out e
    shift 2
    out="${kind^} { Path: \"$path\""
    for a in "$@"; do out="$out Args: \"$a\""; done
    for e in ${HOOK_ENV:-}; do out="$out Env: \"$e\""; done
    [ -z "${HOOK_TIMEOUT:-}" ] || out="$out Timeout: $HOOK_TIMEOUT"
    printf '%s }' "$out"
}
