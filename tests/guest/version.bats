#!/usr/bin/env bats
# --version must never reach kata-init as PID 1: the kernel hands everything after a lone
# "--" on its command line to init as arguments, and a PID 1 that printed its version and
# exited would panic the guest. (The ordinary-process side is in tests/unit/man-drift.sh.)

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

load helpers/kata-host

setup_file() { kh_setup_file kata-version-guest; }
teardown_file() { kh_teardown_file; }
setup() { kh_setup; }

@test "kata-init as PID 1 with --version as its argument still boots the guest" {
    # No template: its key would differ anyway, and one boot is what is being tested.
    run kh run --no-template --kernel-params '-- --version' -- cat /proc/cmdline
    assert_success
    # the kernel got it where init's arguments go
    assert_output --regexp ' -- --version'
    refute_output --partial 'kata-init 0'
}
