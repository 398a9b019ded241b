#!/usr/bin/env bats
# kata-agent's GetMetrics: Prometheus text exposition parsed by prometheus_client's parser
# (python3-prometheus-client) and checked family by family against upstream's names, labels and
# units and against /proc (metrics-check.py).
load agent_helper

setup_file() { agent_setup_file; }
teardown_file() { agent_teardown_file; }
setup() {
    agent_setup
    /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null ||
        skip "python3-prometheus-client not installed (scripts/install-deps.sh)"
}
teardown() { agent_teardown; }

in_agent() {
    nsenter -t "$(agent_pid)" -m "$@"
}

@test "GetMetrics: every upstream family, with labels and values matching /proc" {
    actl metrics >"$WORK/m1.txt"
    run /usr/bin/python3 "$BATS_TEST_DIRNAME/metrics-check.py" "$WORK/m1.txt" "$(agent_pid)"
    assert_success
    # the exact exposition lines upstream's encoder writes
    grep -qx '# HELP kata_agent_scrape_count Metrics scrape count' "$WORK/m1.txt"
    grep -qx '# TYPE kata_agent_scrape_count counter' "$WORK/m1.txt"
    grep -qx '# HELP kata_guest_tasks Guest system load.' "$WORK/m1.txt"
    grep -qE '^kata_guest_cpu_time\{cpu="total",item="user"\} [0-9]+$' "$WORK/m1.txt"
    grep -qE '^kata_guest_load\{item="load1"\} [0-9.]+$' "$WORK/m1.txt"
}

@test "GetMetrics: kata_agent_scrape_count counts every call" {
    a=$(actl metrics | sed -n 's/^kata_agent_scrape_count //p')
    b=$(actl metrics | sed -n 's/^kata_agent_scrape_count //p')
    c=$(actl metrics | sed -n 's/^kata_agent_scrape_count //p')
    [ "$a" -ge 1 ]
    [ "$b" -eq $((a + 1)) ]
    [ "$c" -eq $((a + 2)) ]
}

@test "GetMetrics: filesystems: writable overlay counted, tmpfs and read-only left out, labels escaped" {
    mnt='/run/ovl "q" \ x'
    in_agent mkdir -p /run/o/l /run/o/u /run/o/w "$mnt" /run/ro-ovl
    in_agent mount -t overlay overlay -o lowerdir=/run/o/l,upperdir=/run/o/u,workdir=/run/o/w "$mnt"
    in_agent mount -t overlay overlay -o ro,lowerdir=/run/o/l:/run/o/u /run/ro-ovl
    actl metrics >"$WORK/m2.txt"
    run /usr/bin/python3 "$BATS_TEST_DIRNAME/metrics-check.py" "$WORK/m2.txt" "$(agent_pid)" "$mnt"
    assert_success
    # label value escaping as upstream's encoder: backslash and double quote
    grep -qF 'kata_guest_filesystem_bytes{device="overlay",item="total",mount="/run/ovl \"q\" \\ x"}' \
        "$WORK/m2.txt"
    run grep -c 'mount="/run/ro-ovl"' "$WORK/m2.txt"
    assert_output 0
    run grep -c 'mount="/run"' "$WORK/m2.txt"
    assert_output 0
    in_agent umount "$mnt" /run/ro-ovl
}
