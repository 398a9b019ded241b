#!/usr/bin/env bats
# kata-agent on the host: OnlineCPUMem, MemHotplugByProbe and GetGuestDetails' memory fields
# against the host's real sysfs. Every CPU of the host is online, so an nb_cpus up to that count
# is met at once and a larger one runs upstream's 100 retries (5 s) and fails with its message;
# meanwhile the agent keeps answering (the retries are timers, not sleeps).
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() { agent_setup; }
teardown() { agent_teardown; }

# OnlineCPUMemRequest{wait=1, nb_cpus=2, cpu_only=3} as hex
online_req() { # NB_CPUS CPU_ONLY
    local h=""
    [ "$1" -gt 0 ] && h+=$(printf '10%02x' "$1")
    [ "$2" = true ] && h+=1801
    printf '%s' "$h"
}

online_count() {
    local n=0 a b part
    IFS=, read -ra parts </sys/devices/system/cpu/online
    for part in "${parts[@]}"; do
        a=${part%-*} b=${part#*-}
        n=$((n + b - a + 1))
    done
    echo "$n"
}

@test "OnlineCPUMem {0, false}: onlines nothing new and answers OK" {
    run actl call grpc.AgentService OnlineCPUMem "$(online_req 0 false)"
    assert_success
    assert_output ''
}

@test "OnlineCPUMem with nb_cpus up to the online count answers OK at once" {
    local n
    n=$(online_count)
    run timeout 2 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" call grpc.AgentService OnlineCPUMem "$(online_req "$n" true)"
    assert_success
    run timeout 2 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" call grpc.AgentService OnlineCPUMem "$(online_req 1 false)"
    assert_success
}

@test "OnlineCPUMem with more CPUs than exist fails after 100 retries, without blocking the agent" {
    local n start end
    n=$(( $(online_count) + 3 ))
    start=$(date +%s%N)
    actl call grpc.AgentService OnlineCPUMem "$(online_req "$n" true)" >"$WORK/online.out" 2>&1 &
    local bg=$!
    sleep 0.5
    # the retries are running: other calls are still answered
    run timeout 2 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" check
    assert_output SERVING
    run timeout 2 "$AGENTCTL_BIN" -a "unix://$AGENT_SOCK" call grpc.AgentService OnlineCPUMem ""
    assert_success
    local rc=0
    wait "$bg" || rc=$?
    end=$(date +%s%N)
    assert_equal "$rc" 2
    run cat "$WORK/online.out"
    assert_output --partial "INTERNAL: online cpus"
    assert_output --partial "failed to online $n CPU(s) after 100 retries"
    # 100 retries 50 ms apart
    [ $(( (end - start) / 1000000 )) -ge 4500 ]
}

@test "GetGuestDetails reports the memory block size (hex in sysfs) and probe support" {
    run actl guest-details
    assert_success
    if [ -r /sys/devices/system/memory/block_size_bytes ]; then
        assert_output --partial "mem_block_size=$(( 16#$(cat /sys/devices/system/memory/block_size_bytes) ))"
    else
        assert_output --partial "mem_block_size=0"
    fi
    if [ -e /sys/devices/system/memory/probe ]; then
        assert_output --partial "support_mem_hotplug_probe=1"
    else
        assert_output --partial "support_mem_hotplug_probe=0"
    fi
}

@test "MemHotplugByProbe with no address answers OK; where no probe file exists an address fails" {
    run actl call grpc.AgentService MemHotplugByProbe ""
    assert_success
    [ -e /sys/devices/system/memory/probe ] && skip "this kernel has a memory probe file"
    # memHotplugProbeAddr = [0x100000000] (packed repeated uint64)
    run actl call grpc.AgentService MemHotplugByProbe 0a058080808010
    assert_equal "$status" 2
    assert_output --partial "INTERNAL: No such file or directory (os error 2)"
}
