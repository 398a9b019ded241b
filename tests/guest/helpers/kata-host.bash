# Shared by the tests/guest/*.bats files that drive kata-host: one work directory and one
# kata-host run directory per file (so checks see only that file's sandboxes), TCG pinned,
# every kata-host call under `timeout` so a hang fails the test.

T=${KATA_HOST_TEST_TIMEOUT:-120}

kh_setup_file() { # kh_setup_file PREFIX
    export KATA_SRC=${KATA_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    # The ASan build: sanitizer reports land in the output the tests compare exactly.
    export KH=${KATA_HOST_BIN:-$KATA_BUILD/asan/bin/kata-host}
    export WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$WORK"
    export KATA_HOST_RUN_DIR=$WORK/run
    # The CI hosts' KVM hangs real guests; the auto probe would learn that on its first boot.
    # Tests pin TCG so their timings do not depend on that one-time probe.
    export KATA_HOST_ACCEL=${KATA_HOST_ACCEL:-tcg}
}

kh_teardown_file() {
    for d in "$KATA_HOST_RUN_DIR"/*/; do
        [ -d "$d" ] && timeout 30 "$KH" stop -t 0 "$(basename "$d")" >/dev/null 2>&1
    done
    rm -rf "$WORK"
}

kh_setup() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    [ -x "$KH" ] || skip "kata-host not built"
    [ -f "$KATA_BUILD/vmlinux.container" ] || skip "guest kernel not built (make kernel)"
    [ -f "$KATA_BUILD/kata-containers-initrd.img" ] || skip "guest initrd not built (make initrd)"
    command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
}

kh() {
    timeout -k 5 "$T" "$KH" "$@"
}
