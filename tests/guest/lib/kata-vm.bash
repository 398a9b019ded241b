# kata-vm.bash: boots the guest under QEMU exactly in the shape Kata's runtime gives it by
# default (../shared/docs/kata-runtime-facts.md §1), from the build/ outputs. Source it:
#
#   kata_vm_start DIR VARIANT [EXTRA QEMU ARGS...]
#       VARIANT  nvdimm  kata-containers.img as a read-only NVDIMM, root=/dev/pmem0p1 (DAX)
#                blk     the same image on virtio-blk (disable_image_nvdimm=true), root=/dev/vda1
#                initrd  kata-containers-initrd.img (§1.5)
#       Leaves in DIR: console.log (hvc0), qmp.sock, qemu.pid, agent.sock (plain ttRPC, see
#       below), qemu.log (QEMU's own messages), relay.log, cmdline (the kernel command line),
#       qemu.args (the whole QEMU command, one argument per line).
#   kata_vm_wait_agent DIR [TIMEOUT_S]   until Health.Check is answered (default 120 s)
#   kata_vm_qmp DIR 'JSON'               prints the reply to one QMP command
#   kata_vm_wait_exit DIR TIMEOUT_S      until QEMU has exited by itself (status in qemu.exit)
#   kata_vm_stop DIR                     kills QEMU and the relay; safe to call at any time
#
# Environment: KATA_BUILD (default: ../../../build from here), QEMU (qemu-system-x86_64),
# KATA_VM_MAXCPUS (default 4: -smp sockets/maxcpus and nr_cpus=), KATA_VM_ACCEL (tcg, the
# default here; kvm; auto = kvm when /dev/kvm can be opened), KATA_VM_KERNEL_PARAMS (appended
# to the command line, after the runtime's own, as the runtime appends kernel_params).
#
# Differences from the runtime's command line, all forced by this machine:
#   - `-accel tcg,thread=single` instead of `-machine q35,accel=kvm`, and `-cpu max,pmu=off`
#     for `-cpu host,pmu=off`: `max` is TCG's "everything the accelerator can do", which is
#     what `host` means under KVM. KATA_VM_ACCEL=kvm gives the runtime's exact arguments.
#   - the agent channel: the runtime adds vhost-vsock-pci (port 1024); there is no
#     /dev/vhost-vsock here, so a second virtio-serial-pci carries the port agent.channel.0,
#     which the agent serves (it greets each host connect with "KATA-AGENT-READY <ns>\n").
#     A relay (kata-vm-relay.py) turns it into DIR/agent.sock, one client at a time, each on
#     a fresh connection as the agent sees it.
#   - the console chardev logs to DIR/console.log (logfile=, a host-side option; the guest
#     sees the same single virtconsole).
#   - no -daemonize (a detached wrapper instead, which records the exit status), no virtio-fs,
#     no NIC: tests add what they need as extra arguments.
#
# KATA_VM_ARCH=aarch64 boots build/aarch64/ (initrd only) under qemu-system-aarch64 on the virt
# machine with -cpu max (TCG), the runtime's arm64 shape: no x86 parameters, the same
# virtconsole and agent port on virtio-serial-pci (virt's PCIe host bridge).

KATA_VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_kata_vm_build() {
    echo "${KATA_BUILD:-$(cd "$KATA_VM_LIB_DIR/../../.." && pwd)/build}"
}

# For the guest suites' setup_file: KATA_SRC, KATA_BUILD and AGENTCTL, named as the other
# suites name them.
kata_vm_test_env() {
    export KATA_SRC=${KATA_SRC:-$(cd "$KATA_VM_LIB_DIR/../../.." && pwd)}
    export KATA_BUILD=${KATA_BUILD:-$KATA_SRC/build}
    export AGENTCTL=$KATA_BUILD/bin/agentctl
}

# For a bats setup(): skips the test unless it runs as root with QEMU, agentctl and the named
# build outputs (relative to KATA_BUILD).
kata_vm_require() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
    [ -x "$AGENTCTL" ] || skip "agentctl not built (make test-deps)"
    local f
    for f in "$@"; do
        [ -f "$KATA_BUILD/$f" ] || skip "$f not built (make kernel initrd image)"
    done
}

# The runtime's command line for VARIANT (kata-runtime-facts.md §1.4, §1.5), N = maxcpus.
kata_vm_cmdline() {
    local variant=$1 n=$2
    local arch="tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1"
    arch+=" i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k"
    arch+=" cryptomgr.notests net.ifnames=0 pci=lastbus=0"
    [ "${KATA_VM_ARCH:-x86_64}" = aarch64 ] && arch="rcupdate.rcu_expedited=1 cryptomgr.notests net.ifnames=0"
    local root="" systemd=""
    case $variant in
    nvdimm) root=" root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro ro rootfstype=ext4" ;;
    blk) root=" root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4" ;;
    initrd) ;;
    *)
        echo "kata_vm_cmdline: unknown variant '$variant' (nvdimm, blk, initrd)" >&2
        return 1
        ;;
    esac
    local show="" units=""
    if [ "$variant" != initrd ]; then
        show=" systemd.show_status=false"
        units=" systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service"
        units+=" systemd.mask=systemd-networkd.socket"
    fi
    local line="$arch$root console=hvc0 console=hvc1 quiet$show panic=1 nr_cpus=$n selinux=0"
    line+="$units scsi_mod.scan=none agent.cdh_api_timeout=50"
    line+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
    [ -z "${KATA_VM_KERNEL_PARAMS:-}" ] || line+=" $KATA_VM_KERNEL_PARAMS"
    echo "$line"
}

_kata_vm_accel() {
    case ${KATA_VM_ACCEL:-tcg} in
    kvm) echo kvm ;;
    auto) if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm; else echo tcg; fi ;;
    *) echo tcg ;;
    esac
}

# QEMU option values are comma-separated: a comma in a path is written twice.
_kata_vm_esc() {
    echo "${1//,/,,}"
}

kata_vm_start() {
    if [ $# -lt 2 ]; then
        echo "usage: kata_vm_start DIR nvdimm|blk|initrd [QEMU ARGS...]" >&2
        return 2
    fi
    local dir variant
    dir=$(cd "$1" && pwd) || return 1
    variant=$2
    shift 2
    local build qemu n accel cmdline a64=
    build=$(_kata_vm_build)
    qemu=${QEMU:-qemu-system-x86_64}
    if [ "${KATA_VM_ARCH:-x86_64}" = aarch64 ]; then
        [ "$variant" = initrd ] || { echo "kata_vm_start: aarch64 boots the initrd only" >&2; return 1; }
        a64=1 build=$build/aarch64 qemu=${QEMU:-qemu-system-aarch64}
    fi
    n=${KATA_VM_MAXCPUS:-4}
    accel=$(_kata_vm_accel)
    cmdline=$(kata_vm_cmdline "$variant" "$n") || return 1
    local kernel=$build/vmlinux.container image=$build/kata-containers.img
    [ -z "$a64" ] || kernel=$build/vmlinuz.container
    local initrd=$build/kata-containers-initrd.img
    local f
    for f in "$kernel" "$([ "$variant" = initrd ] && echo "$initrd" || echo "$image")"; do
        [ -f "$f" ] || { echo "kata_vm_start: $f missing (make kernel initrd image)" >&2; return 1; }
    done
    # maxmem: host RAM plus 1024 MiB for the NVDIMM image, as genericMemoryTopology does.
    local host_mib
    host_mib=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    # Under TCG: one host thread for every vCPU. Hot-plugged vCPUs under multi-threaded TCG
    # have aborted QEMU 7.2 in its MSI-X emulation (see host-tools/lib/vm.c), and two cores gain
    # nothing from more threads.
    local machine=q35 cpu=max,pmu=off accel_args=(-accel tcg,thread=single)
    if [ "$accel" = kvm ]; then
        machine=q35,accel=kvm cpu=host,pmu=off accel_args=()
    fi
    [ "$variant" = nvdimm ] && machine+=,nvdimm=on
    # Under TCG an arm64 guest emulates everything: the machine and CPU are virt's, -cpu max.
    [ -z "$a64" ] || machine=virt cpu=max accel_args=(-accel tcg,thread=single)
    local id
    id=$(basename "$dir" | tr -c 'A-Za-z0-9_.\n-' '-')

    rm -f "$dir"/{console.log,console.sock,qmp.sock,qemu.pid,qemu.exit,qemu.vmpid,qemu.wrapper.pid,qemu.log} \
        "$dir"/{agent.sock,agent-channel.sock,relay.pid,relay.log}
    local args=(
        "$qemu"
        -name "sandbox-$id"
        -uuid "$(cat /proc/sys/kernel/random/uuid)"
        -machine "$machine"
        "${accel_args[@]}"
        -cpu "$cpu"
        -qmp "unix:$(_kata_vm_esc "$dir/qmp.sock"),server=on,wait=off"
        -m "2048M,slots=10,maxmem=$((host_mib + 1024))M"
        -device pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=off,addr=2,io-reserve=4k,mem-reserve=1m,pref64-reserve=1m
        -device virtio-serial-pci,disable-modern=false,id=serial0
        -device virtconsole,chardev=charconsole0,id=console0
        -chardev "socket,id=charconsole0,path=$(_kata_vm_esc "$dir/console.sock"),server=on,wait=off,logfile=$(_kata_vm_esc "$dir/console.log")"
    )
    case $variant in
    nvdimm)
        local size
        size=$(stat -c %s "$image")
        args+=(-device "nvdimm,id=nv0,memdev=mem0,unarmed=on"
            -object "memory-backend-file,id=mem0,mem-path=$(_kata_vm_esc "$image"),size=$size,readonly=on")
        ;;
    blk)
        local drive=image-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-10)
        args+=(-device "virtio-blk-pci,disable-modern=false,drive=$drive,config-wce=off,share-rw=on,serial=$drive"
            -drive "id=$drive,file=$(_kata_vm_esc "$image"),aio=threads,format=raw,if=none,readonly=on")
        ;;
    initrd) ;;
    esac
    args+=(
        -device virtio-scsi-pci,id=scsi0,disable-modern=false
        -object rng-random,id=rng0,filename=/dev/urandom
        -device virtio-rng-pci,rng=rng0
        # Our agent channel in place of vhost-vsock-pci (see the header).
        -device virtio-serial-pci,disable-modern=false,id=serial1
        -chardev "socket,id=charagent0,path=$(_kata_vm_esc "$dir/agent-channel.sock"),server=on,wait=off"
        -device virtserialport,bus=serial1.0,chardev=charagent0,id=channel0,name=agent.channel.0
        -rtc base=utc,driftfix=slew,clock=host
        -global kvm-pit.lost_tick_policy=discard
        -vga none
        -no-user-config
        -nodefaults
        -nographic
        --no-reboot
        -object "memory-backend-file,id=dimm1,size=2048M,mem-path=/dev/shm,share=on"
        -numa node,memdev=dimm1
        -kernel "$kernel"
        -append "$cmdline"
        -pidfile "$dir/qemu.pid"
        -smp "1,cores=1,threads=1,sockets=$n,maxcpus=$n"
    )
    [ "$variant" = initrd ] && args+=(-initrd "$initrd")
    args+=("$@")
    printf '%s\n' "$cmdline" >"$dir/cmdline"
    printf '%s\n' "${args[@]}" >"$dir/qemu.args"

    # Detached from the caller (no zombie for kill -0 to mistake for a live QEMU, no fd that
    # would keep bats waiting); the wrapper records QEMU's pid and, at the end, its status.
    (
        setsid bash -c 'd=$1; shift; echo $$ >"$d/qemu.wrapper.pid"
            "$@" </dev/null >>"$d/qemu.log" 2>&1 &
            echo $! >"$d/qemu.vmpid"
            wait $!
            echo $? >"$d/qemu.exit"' kata-vm "$dir" "${args[@]}" </dev/null >/dev/null 2>&1 3>&- &
    ) 3>&-
    local deadline=$((SECONDS + 30))
    until [ -s "$dir/qemu.pid" ]; do
        if [ -s "$dir/qemu.exit" ] || [ $SECONDS -ge $deadline ]; then
            echo "kata_vm_start: QEMU did not start:" >&2
            tail -20 "$dir/qemu.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.05
    done
    (
        setsid python3 "$KATA_VM_LIB_DIR/kata-vm-relay.py" "$dir/agent.sock" "$dir/agent-channel.sock" \
            </dev/null >>"$dir/relay.log" 2>&1 3>&- &
        echo $! >"$dir/relay.pid"
    ) 3>&-
    until [ -S "$dir/agent.sock" ]; do
        [ $SECONDS -lt $deadline ] || { echo "kata_vm_start: relay did not start" >&2; return 1; }
        sleep 0.05
    done
}

_kata_vm_agentctl() {
    echo "${AGENTCTL:-$(_kata_vm_build)/bin/agentctl}"
}

_kata_vm_running() {
    local pid
    pid=$(cat "$1/qemu.vmpid" 2>/dev/null) || return 1
    [ ! -s "$1/qemu.exit" ] && _kata_vm_alive "$pid"
}

kata_vm_wait_agent() {
    local dir=$1 timeout=${2:-120}
    local deadline=$((SECONDS + timeout)) agentctl
    agentctl=$(_kata_vm_agentctl)
    while [ $SECONDS -lt $deadline ]; do
        if ! _kata_vm_running "$dir"; then
            echo "kata_vm_wait_agent: QEMU exited (status $(cat "$dir/qemu.exit" 2>/dev/null))" >&2
            return 1
        fi
        local left=$((deadline - SECONDS))
        [ $left -gt 10 ] && left=10
        [ $left -lt 1 ] && left=1
        if timeout -k 2 $((left + 2)) "$agentctl" -a "unix://$dir/agent.sock" -T "$left" check \
            >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "kata_vm_wait_agent: no answer to Health.Check within ${timeout}s" >&2
    return 1
}

# kata_vm_shared_initrd DIR: for suites sharing one VM across their tests: boots the initrd
# variant into DIR unless it is already running there, and waits for the agent.
kata_vm_shared_initrd() {
    kata_vm_require vmlinux.container kata-containers-initrd.img
    [ -f "$1/qemu.vmpid" ] && return 0
    kata_vm_start "$1" initrd || fail "kata_vm_start failed"
    kata_vm_wait_agent "$1" "${BOOT_TIMEOUT:-120}" || fail "the agent never answered"
}

# kata_vm_console_on_failure DIR: in teardown, the console's last lines when the test failed.
kata_vm_console_on_failure() {
    if [ -f "$1/console.log" ] && [ "${BATS_TEST_COMPLETED:-}" != 1 ]; then
        tr -d '\r' <"$1/console.log" | tail -40 | sed 's/^/# /' >&3
    fi
}

# kata_vm_agent_idle DIR: waits (up to 10 s) until the agent's log in the console shows as many
# host disconnects as connects. The relay's next connection on the virtio-serial port is lost
# if the guest has not yet seen the previous one close, so one-client-at-a-time suites call
# this before each client.
kata_vm_agent_idle() {
    local i
    for i in $(seq 100); do
        [ "$(grep -c 'host connected on' "$1/console.log")" -le \
            "$(grep -c 'host disconnected from' "$1/console.log")" ] && return 0
        sleep 0.1
    done
}

kata_vm_qmp() {
    python3 "$KATA_VM_LIB_DIR/kata-vm-qmp.py" "$1/qmp.sock" "$2" "${3:-30}"
}

kata_vm_wait_exit() {
    local dir=$1 timeout=$2
    local deadline=$((SECONDS + timeout))
    while [ ! -s "$dir/qemu.exit" ]; do
        [ $SECONDS -lt $deadline ] || { echo "kata_vm_wait_exit: QEMU still running after ${timeout}s" >&2; return 1; }
        sleep 0.1
    done
}

# A zombie counts as gone: our detached processes are reaped by whoever is PID 1 here, which
# may take its time.
_kata_vm_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

_kata_vm_kill() {
    local pid=$1 i
    [ -n "$pid" ] && _kata_vm_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        _kata_vm_alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 50); do
        _kata_vm_alive "$pid" || return 0
        sleep 0.05
    done
}

kata_vm_stop() {
    local dir=$1
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    _kata_vm_kill "$(cat "$dir/relay.pid" 2>/dev/null)"
    _kata_vm_kill "$(cat "$dir/qemu.vmpid" 2>/dev/null)"
    # The wrapper ends with QEMU; wait for its status line so nothing of ours is left.
    _kata_vm_kill "$(cat "$dir/qemu.wrapper.pid" 2>/dev/null)"
    return 0
}
