#!/usr/bin/env bats
# kata-agent on the host: the calls the runtime sends outside the default lifecycle, each
# answered with upstream's status and message: GetVolumeStats, ResizeVolume, SetPolicy (the
# default build has no policy), GetDiagnosticData's errors, CreateSandbox's kernel_modules
# and guest_hook_path.
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

hexstr() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
# a length-delimited field: FIELD_KEY_HEX STRING
lenfield() { printf '%s%02x%s' "$1" "${#2}" "$(hexstr "$2")"; }

@test "GetVolumeStats: statfs bytes (free blocks) and inodes, condition OK; a missing path is upstream's io error" {
    mkdir -p "$WORK/vol"
    run actl call grpc.AgentService GetVolumeStats "$(lenfield 0a "$WORK/vol")"
    assert_success
    local hex=$output
    # decode with python: two usages (BYTES=1, INODES=2) and condition {abnormal false, "OK"}
    run python3 - "$hex" "$WORK/vol" <<'PY'
import os, sys
b = bytes.fromhex(sys.argv[1])
def fields(b):
    i, out = 0, []
    while i < len(b):
        k = 0; s = 0
        while True:
            c = b[i]; i += 1; k |= (c & 0x7f) << s; s += 7
            if c < 0x80: break
        f, t = k >> 3, k & 7
        if t == 0:
            v = 0; s = 0
            while True:
                c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            out.append((f, v))
        else:
            n = 0; s = 0
            while True:
                c = b[i]; i += 1; n |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            out.append((f, b[i:i+n])); i += n
    return out
top = fields(b)
usages = [dict(fields(v)) for f, v in top if f == 1]
cond = [dict(fields(v)) for f, v in top if f == 2][0]
st = os.statvfs(sys.argv[2])
by = {u.get(4): u for u in usages}
assert by[1].get(2, 0) == st.f_blocks * st.f_bsize, (by[1], st)
assert by[1].get(3, 0) == by[1].get(2, 0) - by[1].get(1, 0)
assert by[2].get(2, 0) == st.f_files, (by[2], st)
assert cond.get(2) == b"OK" and not cond.get(1)
print("ok")
PY
    assert_output ok
    run actl call grpc.AgentService GetVolumeStats "$(lenfield 0a /no/such/volume)"
    assert_equal "$status" 2
    assert_output 'INTERNAL: Os { code: 2, kind: NotFound, message: "No such file or directory" }'
}

@test "ResizeVolume is UNIMPLEMENTED with upstream's message; SetPolicy as the default build answers it" {
    run actl call grpc.AgentService ResizeVolume "$(lenfield 0a /x)"
    assert_equal "$status" 2
    assert_output 'UNIMPLEMENTED: "resize_volume is not implemented in kata-agent"'
    run actl call grpc.AgentService SetPolicy "$(lenfield 0a 'package agent_policy')"
    assert_equal "$status" 2
    assert_output 'NOT_FOUND: /grpc.AgentService/SetPolicy is not supported'
}

@test "GetDiagnosticData: only termination_log; an unknown container is INTERNAL" {
    run actl call grpc.AgentService GetDiagnosticData "$(lenfield 0a kernel_log)"
    assert_equal "$status" 2
    assert_output 'INVALID_ARGUMENT: "unsupported diagnostic log_type: kernel_log"'
    run actl call grpc.AgentService GetDiagnosticData "$(lenfield 0a termination_log)$(lenfield 12 nosuch)"
    assert_output 'INTERNAL: Invalid container id: nosuch'
}

@test "CreateSandbox: a kernel module that cannot be loaded fails with modprobe's status and output" {
    local mod
    mod=$(lenfield 0a kata_no_such_module)
    run actl call grpc.AgentService CreateSandbox "$(printf '3a%02x%s' $((${#mod} / 2)) "$mod")$(lenfield 2a sbm)"
    assert_equal "$status" 2
    if [ -x /sbin/modprobe ]; then
        assert_output --partial 'INTERNAL: load_kernel_module return code: 1'
        assert_output --partial kata_no_such_module
    else
        # upstream's Command::new(/sbin/modprobe) error
        assert_output 'INTERNAL: No such file or directory (os error 2)'
    fi
    # an empty name, as upstream
    run actl call grpc.AgentService CreateSandbox "3a00$(lenfield 2a sbm)"
    assert_output 'INTERNAL: Kernel module name is empty'
}

@test "CreateSandbox: guest_hook_path is scanned (a missing kind is no error), hooks are reported" {
    mkdir -p "$WORK/hooks/prestart"
    printf '#!/bin/sh\n' >"$WORK/hooks/prestart/h1"
    chmod 755 "$WORK/hooks/prestart/h1"
    run actl call grpc.AgentService CreateSandbox "$(lenfield 0a hookhost)$(lenfield 2a sbh)$(lenfield 32 "$WORK/hooks")"
    assert_success
    run grep -c "found prestart hook $WORK/hooks/prestart/h1" "$AGENT_LOG"
    assert_output 1
    run grep -c "no poststop hooks" "$AGENT_LOG"
    assert_output 1
}
