// seqdriver replays, call by call, the RPC sequence Kata's Go runtime sends to the agent in a
// normal sandbox lifecycle (../shared/docs/kata-runtime-facts.md §3), with the runtime's
// payloads, through containerd's ttrpc client and Go code generated from protocol/proto (as
// the runtime's own client is). It checks every reply and what can be seen of the containers,
// and prints TAP.
//
//	seqdriver -addr unix:PATH|serial:PATH -share DIR -mac MAC [-inspect-pid PID] [-cgroup-root DIR]
//
// The caller lays out the shared directory the way the runtime does before it runs: DIR is
// what the guest sees at /run/kata-containers/shared/containers/, and holds, for the two
// container ids printed by `seqdriver -ids`, <cid>/rootfs (a busybox rootfs with
// /bin/payload) and the per-container files the runtime shares (<cid>-<rand>-hostname,
// -resolv.conf, -termination-log). The network interface with MAC must exist in the agent's
// network namespace. serial: addresses are QEMU's socket of the agent's virtio-serial port,
// where the agent greets first. With -inspect-pid (host runs) the agent's mount namespace is
// checked through nsenter(1) at the points where the runtime's stop sequence changes it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "katapb/grpc"
	"katapb/types"
)

// The sandbox and container ids: 64 hex digits, as containerd makes them. The pause
// container's id is the sandbox id, as in the runtime.
const (
	sandboxID  = "5eb1a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9"
	appID      = "a99c0ffee0ddba11de7ec7ab1e5ca1ab1eb0a710adc0de5eed5a1ad5a1c0ffee"
	execID     = "0f3c9a1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f"
	fileRand   = "8c1e0d4b7a6f5e32"
	guestShare = "/run/kata-containers/shared/containers/"
	hostname   = "seq-pod"
	podIP      = "10.88.0.5"
	gateway    = "10.88.0.1"
)

// wire hands generated (APIv2) messages to ttrpc's gogo codec, which marshals any message
// that has Marshal/Unmarshal methods.
type wire struct{ m proto.Message }

func (w *wire) Reset()                   { proto.Reset(w.m) }
func (w *wire) String() string           { return fmt.Sprint(w.m) }
func (w *wire) ProtoMessage()            {}
func (w *wire) Marshal() ([]byte, error) { return proto.Marshal(w.m) }
func (w *wire) Unmarshal(b []byte) error { return proto.Unmarshal(b, w.m) }

var (
	n      int
	failed int32
	tapMu  sync.Mutex
)

func tap(ok bool, name string, detail ...interface{}) bool {
	tapMu.Lock()
	defer tapMu.Unlock()
	n++
	if ok {
		fmt.Printf("ok %d - %s\n", n, name)
	} else {
		atomic.AddInt32(&failed, 1)
		fmt.Printf("not ok %d - %s\n", n, name)
		for _, d := range detail {
			for _, l := range strings.Split(fmt.Sprint(d), "\n") {
				fmt.Printf("# %s\n", l)
			}
		}
	}
	return ok
}

type driver struct {
	c          *ttrpc.Client
	share      string
	mac        string
	inspectPid string
	cgroupRoot string
	// CRI gives the pause -998; a host without CAP_SYS_RESOURCE cannot lower a score
	pauseOOMAdj int64
	tolerate    map[string]bool
}

// call sends one request with the runtime's per-request timeout (0: none, as for
// WaitProcess and GetOOMEvent).
func (d *driver) call(svc, method string, req, resp proto.Message, timeout time.Duration) error {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if resp == nil {
		resp = &emptypb.Empty{}
	}
	return d.c.Call(ctx, svc, method, &wire{req}, &wire{resp})
}

func (d *driver) agent(method string, req, resp proto.Message) error {
	return d.call("grpc.AgentService", method, req, resp, 60*time.Second)
}

func (d *driver) check() error {
	var resp pb.HealthCheckResponse
	err := d.call("grpc.Health", "Check", &pb.CheckRequest{}, &resp, 30*time.Second)
	if err == nil && resp.Status != pb.HealthCheckResponse_SERVING {
		err = fmt.Errorf("status %v", resp.Status)
	}
	return err
}

// inspect runs a shell script in the agent's mount namespace (host runs only).
func (d *driver) inspect(script string) (string, error) {
	out, err := exec.Command("nsenter", "-t", d.inspectPid, "-m", "sh", "-c", script).CombinedOutput()
	return string(out), err
}

func shareFile(cid, name string) string {
	return guestShare + cid + "-" + fileRand + "-" + name
}

var defaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// spec is the OCI spec as the runtime hands it over for a CRI container: rootfs on the share,
// the CRI mounts (with /dev/shm from the sandbox's ephemeral storage and the per-container
// files shared through virtio-fs), no pid namespace (sandbox_pidns says it instead), seccomp
// stripped (disable_guest_seccomp).
func spec(cid, ctype string, uid uint32, readonly bool, oomAdj int64, args []string, extra []*pb.Mount,
	annotations map[string]string, res *pb.LinuxResources) *pb.Spec {
	mounts := []*pb.Mount{
		{Destination: "/proc", Source: "proc", Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Source: "tmpfs", Type: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Source: "devpts", Type: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Source: "mqueue", Type: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Source: "sysfs", Type: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/dev/shm", Source: "/run/kata-containers/sandbox/shm", Type: "bind", Options: []string{"rbind"}},
		{Destination: "/etc/hostname", Source: shareFile(cid, "hostname"), Type: "bind", Options: []string{"rbind", "ro"}},
		{Destination: "/etc/resolv.conf", Source: shareFile(cid, "resolv.conf"), Type: "bind", Options: []string{"rbind", "ro"}},
	}
	mounts = append(mounts, extra...)
	ann := map[string]string{
		"io.kubernetes.cri.container-type": ctype,
		"io.kubernetes.cri.sandbox-id":     sandboxID,
	}
	for k, v := range annotations {
		ann[k] = v
	}
	return &pb.Spec{
		Version: "1.1.0",
		Process: &pb.Process{
			User: &pb.User{UID: uid, GID: uid},
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname},
			Cwd:  "/",
			Capabilities: &pb.LinuxCapabilities{Bounding: defaultCaps, Effective: defaultCaps,
				Permitted: defaultCaps},
			NoNewPrivileges: true,
			OOMScoreAdj:     oomAdj,
		},
		Root:        &pb.Root{Path: guestShare + cid + "/rootfs", Readonly: readonly},
		Hostname:    hostname,
		Mounts:      mounts,
		Annotations: ann,
		Linux: &pb.Linux{
			Resources:   res,
			CgroupsPath: "/kata-seq/pod-seq/" + cid,
			Namespaces:  []*pb.LinuxNamespace{{Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
			MaskedPaths: []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// readAll is the shim's I/O loop: ReadStdout/ReadStderr until the error that ends the stream.
func (d *driver) readAll(method, cid, eid string) []byte {
	var out []byte
	for {
		var resp pb.ReadStreamResponse
		err := d.call("grpc.AgentService", method, &pb.ReadStreamRequest{ContainerId: cid, ExecId: eid, Len: 32768}, &resp, 0)
		if err != nil || len(resp.Data) == 0 {
			return out
		}
		out = append(out, resp.Data...)
	}
}

type waitResult struct {
	status int32
	err    error
}

func (d *driver) waitAsync(cid, eid string) chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		var resp pb.WaitProcessResponse
		err := d.call("grpc.AgentService", "WaitProcess", &pb.WaitProcessRequest{ContainerId: cid, ExecId: eid}, &resp, 0)
		ch <- waitResult{resp.Status, err}
	}()
	return ch
}

func waitFor(ch chan waitResult, d time.Duration) (waitResult, bool) {
	select {
	case r := <-ch:
		return r, true
	case <-time.After(d):
		return waitResult{}, false
	}
}

// afterCreate is the runtime's updateResources after every CreateContainer: OnlineCPUMem
// {0, false} and UpdateEphemeralMounts with an (empty) list.
func (d *driver) afterCreate(what string) {
	err := d.agent("OnlineCPUMem", &pb.OnlineCPUMemRequest{Wait: false, NbCpus: 0, CpuOnly: false}, nil)
	tap(err == nil, what+": OnlineCPUMem{nb_cpus: 0, cpu_only: false}", err)
	err = d.agent("UpdateEphemeralMounts", &pb.UpdateEphemeralMountsRequest{Storages: []*pb.Storage{}}, nil)
	if status.Code(err) == codes.Unimplemented && d.tolerate["UpdateEphemeralMounts"] {
		fmt.Printf("# UpdateEphemeralMounts: UNIMPLEMENTED, tolerated as the runtime tolerates it\n")
		err = nil
	}
	tap(err == nil, what+": UpdateEphemeralMounts{storages: []}", err)
}

func (d *driver) readCgroup(path, file string) string {
	for _, p := range []string{d.cgroupRoot + "/cpuset/" + path, d.cgroupRoot + "/" + path} {
		if b, err := os.ReadFile(p + "/" + file); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return "(unreadable)"
}

func dial(addr string) (net.Conn, error) {
	kind, path, _ := strings.Cut(addr, ":")
	conn, err := net.Dial("unix", path)
	if err != nil || kind != "serial" {
		return conn, err
	}
	// virtio-serial: the agent speaks first, one line, then ttRPC
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := conn.Read(b); err != nil {
			conn.Close()
			return nil, fmt.Errorf("greeting: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	conn.SetReadDeadline(time.Time{})
	if !bytes.HasPrefix(line, []byte("KATA-AGENT-READY ")) {
		conn.Close()
		return nil, fmt.Errorf("unexpected greeting %q", line)
	}
	return conn, nil
}

func main() {
	addr := flag.String("addr", "", "unix:PATH or serial:PATH")
	share := flag.String("share", "", "host directory shared as "+guestShare)
	mac := flag.String("mac", "", "MAC of the interface the runtime configures")
	inspectPid := flag.String("inspect-pid", "", "agent pid whose mount namespace nsenter checks (host runs)")
	cgroupRoot := flag.String("cgroup-root", "", "cgroup mount to check cpusets in (host runs)")
	ids := flag.Bool("ids", false, "print the container ids and shared file names, then exit")
	pauseOOMAdj := flag.Int64("pause-oom-score-adj", -998, "the pause container's oom_score_adj (CRI: -998)")
	tolerate := flag.String("tolerate-unimplemented", "", "comma-separated methods whose UNIMPLEMENTED is taken as the runtime takes it")
	healthEvery := flag.Duration("health-interval", time.Second, "Health.Check period (the runtime's monitor: 5s)")
	flag.Parse()
	if *ids {
		for _, cid := range []string{sandboxID, appID} {
			fmt.Printf("%s %s-%s\n", cid, cid, fileRand)
		}
		return
	}
	conn, err := dial(*addr)
	if err != nil {
		fmt.Println("1..1")
		tap(false, "connect to the agent", err)
		os.Exit(1)
	}
	d := &driver{c: ttrpc.NewClient(conn), share: *share, mac: *mac, inspectPid: *inspectPid, cgroupRoot: *cgroupRoot,
		pauseOOMAdj: *pauseOOMAdj, tolerate: map[string]bool{}}
	for _, m := range strings.Split(*tolerate, ",") {
		if m != "" {
			d.tolerate[m] = true
		}
	}
	defer d.c.Close()
	d.run(*healthEvery)
	fmt.Printf("1..%d\n", n)
	if atomic.LoadInt32(&failed) > 0 {
		os.Exit(1)
	}
}

func (d *driver) run(healthEvery time.Duration) {
	// ---- startSandbox: Check, network, CreateSandbox, GetGuestDetails
	tap(d.check() == nil, "Health.Check answers SERVING")

	iface := &types.Interface{Device: "eth0", Name: "eth0", Mtu: 1500, HwAddr: d.mac,
		IPAddresses: []*types.IPAddress{{Family: types.IPFamily_v4, Address: podIP, Mask: "16"}}}
	bad := proto.Clone(iface).(*types.Interface)
	bad.HwAddr, bad.Name, bad.Device = "02:00:00:de:ad:00", "nosuch0", "nosuch0"
	err := d.agent("UpdateInterface", &pb.UpdateInterfaceRequest{Interface: bad}, &types.Interface{})
	tap(err != nil && strings.Contains(err.Error(), "Link not found"),
		"UpdateInterface for a link that is not there: the error says \"Link not found\" (the runtime retries on it)", err)
	// the runtime's loop: 20 tries 20 ms apart while the link is not found
	var got types.Interface
	for i := 0; i < 20; i++ {
		err = d.agent("UpdateInterface", &pb.UpdateInterfaceRequest{Interface: iface}, &got)
		if err == nil || !strings.Contains(err.Error(), "Link not found") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	hasIP := false
	for _, a := range got.IPAddresses {
		hasIP = hasIP || (a.Address == podIP && a.Mask == "16")
	}
	tap(err == nil && got.Name == "eth0" && got.HwAddr == d.mac && hasIP,
		"UpdateInterface{eth0, by MAC, "+podIP+"/16, mtu 1500} answers the interface", err, &got)
	routes := &pb.Routes{Routes: []*types.Route{
		{Dest: "10.88.0.0/16", Device: "eth0", Source: podIP, Scope: 253, Family: types.IPFamily_v4},
		{Dest: "", Gateway: gateway, Device: "eth0", Family: types.IPFamily_v4},
	}}
	var gotRoutes pb.Routes
	err = d.agent("UpdateRoutes", &pb.UpdateRoutesRequest{Routes: routes}, &gotRoutes)
	tap(err == nil && len(gotRoutes.Routes) >= 2, "UpdateRoutes{link route, default via "+gateway+"}", err, &gotRoutes)
	err = d.agent("AddARPNeighbors", &pb.AddARPNeighborsRequest{Neighbors: &pb.ARPNeighbors{ARPNeighbors: []*types.ARPNeighbor{
		{ToIPAddress: &types.IPAddress{Family: types.IPFamily_v4, Address: gateway}, Device: "eth0",
			Lladdr: "02:00:00:00:00:99", State: 0x80}}}}, nil)
	tap(err == nil, "AddARPNeighbors{gateway, permanent}", err)

	// [agent.kata] kernel_modules (empty by default): one the guest cannot load fails the call
	// with modprobe's status and output, and leaves nothing behind
	err = d.agent("CreateSandbox", &pb.CreateSandboxRequest{Hostname: hostname, SandboxId: sandboxID,
		KernelModules: []*pb.KernelModule{{Name: "kata_seq_no_such_module"}}}, nil)
	st, _ := status.FromError(err)
	tap(status.Code(err) == codes.Internal && (strings.HasPrefix(st.Message(), "load_kernel_module return code: 1 stdout:") || st.Message() == "No such file or directory (os error 2)"),
		"CreateSandbox with a kernel module that cannot be loaded: INTERNAL with modprobe's status and output (or no modprobe)", err)

	err = d.agent("CreateSandbox", &pb.CreateSandboxRequest{
		Hostname: hostname,
		Dns:      []string{"nameserver " + gateway, "search default.svc.cluster.local svc.cluster.local"},
		Storages: []*pb.Storage{
			{Driver: "virtio-fs", Source: "kataShared", Fstype: "virtiofs", MountPoint: guestShare, Options: []string{}},
			{Driver: "ephemeral", Source: "shm", Fstype: "tmpfs", MountPoint: "/run/kata-containers/sandbox/shm",
				Options: []string{"noexec", "nosuid", "nodev", "mode=1777", "size=67108864"}},
		},
		SandboxPidns: true, SandboxId: sandboxID, GuestHookPath: "", KernelModules: nil,
	}, nil)
	tap(err == nil, "CreateSandbox{kataShared virtio-fs, ephemeral shm, dns, hostname, sandbox_pidns}", err)

	var details pb.GuestDetailsResponse
	err = d.agent("GetGuestDetails", &pb.GuestDetailsRequest{MemBlockSize: true, MemHotplugProbe: true}, &details)
	tap(err == nil && details.AgentDetails != nil && details.AgentDetails.Version != "",
		"GetGuestDetails{mem_block_size, mem_hotplug_probe} answers agent details", err, &details)
	fmt.Printf("# mem_block_size_bytes=%#x support_mem_hotplug_probe=%v\n", details.MemBlockSizeBytes, details.SupportMemHotplugProbe)

	// ---- the pause container
	pauseSpec := spec(sandboxID, "sandbox", 65535, true, d.pauseOOMAdj, []string{"/bin/payload", "pause"}, nil, nil,
		&pb.LinuxResources{CPU: &pb.LinuxCPU{Shares: 2}})
	err = d.agent("CreateContainer", &pb.CreateContainerRequest{ContainerId: sandboxID, ExecId: sandboxID,
		OCI: pauseSpec, SandboxPidns: true}, nil)
	tap(err == nil, "CreateContainer pause: rootfs on the share, no storage", err)
	d.afterCreate("pause")
	err = d.agent("StartContainer", &pb.StartContainerRequest{ContainerId: sandboxID}, nil)
	tap(err == nil, "StartContainer pause", err)
	pauseWait := d.waitAsync(sandboxID, "")
	go d.readAll("ReadStdout", sandboxID, "")

	// the monitor's periodic Check and the shim's blocking GetOOMEvent loop
	stopHealth := make(chan struct{})
	var healthOK, healthFail int32
	var healthErr atomic.Value
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		t := time.NewTicker(healthEvery)
		defer t.Stop()
		for {
			select {
			case <-stopHealth:
				return
			case <-t.C:
				if err := d.check(); err != nil {
					atomic.AddInt32(&healthFail, 1)
					healthErr.Store(err)
				} else {
					atomic.AddInt32(&healthOK, 1)
				}
			}
		}
	}()
	oomDone := make(chan error, 1)
	go func() {
		for {
			var ev pb.OOMEvent
			if err := d.call("grpc.AgentService", "GetOOMEvent", &pb.GetOOMEventRequest{}, &ev, 0); err != nil {
				oomDone <- err
				return
			}
			fmt.Printf("# OOM event for %s\n", ev.ContainerId)
		}
	}()

	// ---- a workload container
	appSpec := spec(appID, "container", 0, false, 1000,
		[]string{"/bin/sh", "-c", "echo terminated-by-seq >/dev/termination-log; read line; echo got:$line; exec /bin/payload pause"},
		[]*pb.Mount{
			{Destination: "/dev/termination-log", Source: shareFile(appID, "termination-log"), Type: "bind", Options: []string{"rbind"}},
			// test instrumentation: the guest's bundles, to look at from an exec
			{Destination: "/kata-run", Source: "/run/kata-containers", Type: "bind", Options: []string{"rbind", "ro"}},
		},
		map[string]string{"io.kubernetes.container.terminationMessagePath": "/dev/termination-log"},
		&pb.LinuxResources{Memory: &pb.LinuxMemory{Limit: 256 << 20}, CPU: &pb.LinuxCPU{Shares: 1024, Quota: 50000, Period: 100000, Cpus: "0"}})
	err = d.agent("CreateContainer", &pb.CreateContainerRequest{ContainerId: appID, ExecId: appID, OCI: appSpec, SandboxPidns: true}, nil)
	tap(err == nil, "CreateContainer app: rootfs on the share, termination-log and hostname/resolv.conf files from the share", err)
	d.afterCreate("app")
	err = d.agent("StartContainer", &pb.StartContainerRequest{ContainerId: appID}, nil)
	tap(err == nil, "StartContainer app", err)
	appWait := d.waitAsync(appID, "")
	appOut := make(chan []byte, 1)
	go func() { appOut <- d.readAll("ReadStdout", appID, "") }()
	err = d.call("grpc.AgentService", "WriteStdin", &pb.WriteStreamRequest{ContainerId: appID, ExecId: appID, Data: []byte("hello\n")}, &pb.WriteStreamResponse{}, 60*time.Second)
	tap(err == nil, "WriteStdin to the app's init", err)

	// after a vCPU hot-plug the runtime asks for the total count, cpu_only; the app's cpuset
	// path is rewritten top-down
	err = d.agent("OnlineCPUMem", &pb.OnlineCPUMemRequest{NbCpus: 1, CpuOnly: true}, nil)
	tap(err == nil, "OnlineCPUMem{nb_cpus: 1, cpu_only: true}", err)
	if d.cgroupRoot != "" {
		online, _ := os.ReadFile("/sys/devices/system/cpu/online")
		parent := d.readCgroup("kata-seq/pod-seq", "cpuset.cpus")
		leaf := d.readCgroup("kata-seq/pod-seq/"+appID, "cpuset.cpus")
		tap(parent == strings.TrimSpace(string(online)) && leaf == "0",
			"OnlineCPUMem: ancestors get the online cpus, the app its own cpuset", "parent="+parent+" leaf="+leaf)
	}

	// ---- exec: I/O, exit status, the sandbox's view from inside
	script := "cat /etc/hostname /etc/resolv.conf; hostname; ps -o comm; cat /kata-run/" + sandboxID + "/config.json; echo; " +
		"cat /kata-run/" + appID + "/config.json; echo; ls /kata-run/" + sandboxID + "/rootfs/bin/payload; " +
		"echo DNS:; cat /kata-run/sandbox/resolv.conf; grep -c ' /dev/shm ' /proc/self/mountinfo; echo oops >&2; exit 7"
	err = d.agent("ExecProcess", &pb.ExecProcessRequest{ContainerId: appID, ExecId: execID, Process: &pb.Process{
		Args: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=/bin:/usr/bin"}, Cwd: "/", User: &pb.User{}}}, nil)
	tap(err == nil, "ExecProcess in the app", err)
	var stdout, stderr []byte
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); stdout = d.readAll("ReadStdout", appID, execID) }()
	go func() { defer wg.Done(); stderr = d.readAll("ReadStderr", appID, execID) }()
	execWait := d.waitAsync(appID, execID)
	r, ok := waitFor(execWait, 30*time.Second)
	tap(ok && r.err == nil && r.status == 7, "WaitProcess on the exec: status 7", r.err, r.status)
	wg.Wait()
	out := string(stdout)
	tap(string(stderr) == "oops\n", "ReadStderr of the exec", fmt.Sprintf("%q", stderr))
	tap(strings.HasPrefix(out, hostname+"\nnameserver "+gateway+"\n"),
		"the exec sees /etc/hostname and /etc/resolv.conf from the shared files", out)
	tap(strings.Count(out, "payload") >= 1 && strings.Contains(out, "sh"),
		"the exec shares the sandbox pid namespace (sees the pause process)", out)
	tap(strings.Contains(out, "/kata-run/"+sandboxID+"/rootfs/bin/payload"),
		"the pause rootfs is bound at /run/kata-containers/<cid>/rootfs", out)
	tap(strings.Contains(out, "DNS:\nnameserver "+gateway+"\nsearch default.svc.cluster.local svc.cluster.local\n1\n"),
		"CreateSandbox's dns lines are the sandbox resolv.conf; the shm storage is the container's /dev/shm", out)
	var cfg struct {
		Version string `json:"ociVersion"`
		Root    struct {
			Path     string `json:"path"`
			Readonly bool   `json:"readonly"`
		} `json:"root"`
		Process struct {
			Args []string `json:"args"`
		} `json:"process"`
	}
	configs := 0
	dec := json.NewDecoder(strings.NewReader(out[strings.Index(out+"{", "{"):]))
	for _, cid := range []string{sandboxID, appID} {
		cfg.Root.Path = ""
		if err := dec.Decode(&cfg); err == nil && cfg.Root.Path == "/run/kata-containers/"+cid+"/rootfs" && cfg.Version == "1.1.0" {
			configs++
		}
	}
	tap(configs == 2, "config.json beside each rootfs, with root.path rewritten to the bundle's rootfs", out)

	// ---- stats and update
	var stats pb.StatsContainerResponse
	err = d.agent("StatsContainer", &pb.StatsContainerRequest{ContainerId: appID}, &stats)
	tap(err == nil && stats.CgroupStats != nil && stats.CgroupStats.MemoryStats != nil &&
		stats.CgroupStats.MemoryStats.Usage.GetUsage() > 0 && stats.CgroupStats.MemoryStats.Usage.GetLimit() == 256<<20,
		"StatsContainer: memory usage and the 256 MiB limit", err, &stats)
	d.afterCreate("update")
	err = d.agent("UpdateContainer", &pb.UpdateContainerRequest{ContainerId: appID, Resources: &pb.LinuxResources{
		Memory: &pb.LinuxMemory{Limit: 128 << 20}, CPU: &pb.LinuxCPU{Shares: 512, Quota: 20000, Period: 100000, Cpus: "", Mems: ""}}}, nil)
	tap(err == nil, "UpdateContainer{memory 128 MiB, cpu quota, cpus and mems cleared}", err)
	stats.Reset()
	err = d.agent("StatsContainer", &pb.StatsContainerRequest{ContainerId: appID}, &stats)
	tap(err == nil && stats.CgroupStats.GetMemoryStats().GetUsage().GetLimit() == 128<<20,
		"StatsContainer after the update: the 128 MiB limit", err, &stats)

	// ---- the app's stop sequence: kill all, wait, remove, stale mounts
	var diag pb.GetDiagnosticDataResponse
	err = d.agent("SignalProcess", &pb.SignalProcessRequest{ContainerId: appID, ExecId: "", Signal: 9}, nil)
	tap(err == nil, "SignalProcess{app, exec \"\", SIGKILL}: every process", err)
	r, ok = waitFor(appWait, 20*time.Second)
	tap(ok && r.err == nil && r.status == 137, "the app's parked WaitProcess answers 137", r.err, r.status)
	select {
	case b := <-appOut:
		tap(string(b) == "got:hello\n", "the app's stdout: what it read from stdin", fmt.Sprintf("%q", b))
	case <-time.After(10 * time.Second):
		tap(false, "the app's stdout reaches EOF")
	}
	err = d.agent("GetDiagnosticData", &pb.GetDiagnosticDataRequest{LogType: "termination_log", ContainerId: appID}, &diag)
	tap(err == nil && diag.Data == "terminated-by-seq\n", "GetDiagnosticData{termination_log}: the file behind the container's terminationMessagePath", err, diag.Data)
	err = d.agent("RemoveContainer", &pb.RemoveContainerRequest{ContainerId: appID}, nil)
	tap(err == nil, "RemoveContainer app", err)
	err = d.agent("RemoveStaleVirtiofsShareMounts", &pb.RemoveStaleVirtiofsShareMountsRequest{}, nil)
	tap(err == nil, "RemoveStaleVirtiofsShareMounts", err)
	if d.inspectPid != "" {
		out, err := d.inspect("test ! -e /run/kata-containers/" + appID + " && ! grep -q /run/kata-containers/" + appID + "/ /proc/self/mountinfo && " +
			"test -f /run/kata-containers/" + sandboxID + "/config.json && grep -q ' /run/kata-containers/" + sandboxID + "/rootfs ' /proc/self/mountinfo")
		tap(err == nil, "after RemoveContainer: the app's bundle and rootfs bind are gone, the pause's remain", out, err)
	}
	err = d.agent("WaitProcess", &pb.WaitProcessRequest{ContainerId: appID}, &pb.WaitProcessResponse{})
	tap(status.Code(err) == codes.InvalidArgument, "WaitProcess on the removed app: INVALID_ARGUMENT (upstream's InvalidContainerId)", err)

	// ---- the pause container goes the same way, then DestroySandbox
	err = d.agent("SignalProcess", &pb.SignalProcessRequest{ContainerId: sandboxID, ExecId: "", Signal: 9}, nil)
	tap(err == nil, "SignalProcess{pause, exec \"\", SIGKILL}", err)
	r, ok = waitFor(pauseWait, 20*time.Second)
	tap(ok && r.err == nil && r.status == 137, "the pause's parked WaitProcess answers 137", r.err, r.status)
	err = d.agent("RemoveContainer", &pb.RemoveContainerRequest{ContainerId: sandboxID}, nil)
	tap(err == nil, "RemoveContainer pause", err)
	err = d.agent("RemoveStaleVirtiofsShareMounts", &pb.RemoveStaleVirtiofsShareMountsRequest{}, nil)
	tap(err == nil, "RemoveStaleVirtiofsShareMounts", err)

	// a short sequence: let the monitor tick at least twice
	for i := 0; i < 50 && atomic.LoadInt32(&healthOK) < 2; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	close(stopHealth)
	<-healthDone
	tap(atomic.LoadInt32(&healthOK) >= 2 && atomic.LoadInt32(&healthFail) == 0,
		"the periodic Health.Check was answered SERVING throughout", fmt.Sprintf("ok=%d failed=%d %v",
			atomic.LoadInt32(&healthOK), atomic.LoadInt32(&healthFail), healthErr.Load()))
	select {
	case err := <-oomDone:
		tap(false, "GetOOMEvent stays parked while the sandbox lives", err)
	default:
		tap(true, "GetOOMEvent stays parked while the sandbox lives")
	}

	err = d.agent("DestroySandbox", &pb.DestroySandboxRequest{}, nil)
	tap(err == nil, "DestroySandbox with no container left is answered", err)
	select {
	case err := <-oomDone:
		st, _ = status.FromError(err)
		tap(status.Code(err) == codes.Internal && st.Message() == `""`,
			"the parked GetOOMEvent fails INTERNAL when the sandbox is destroyed, as upstream's", err)
	case <-time.After(10 * time.Second):
		tap(false, "the parked GetOOMEvent fails when the sandbox is destroyed")
	}
	// then the agent stops serving
	stopped := false
	for i := 0; i < 50 && !stopped; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.c.Call(ctx, "grpc.Health", "Check", &wire{&pb.CheckRequest{}}, &wire{&pb.HealthCheckResponse{}})
		cancel()
		stopped = err != nil && status.Code(err) != codes.DeadlineExceeded
		if !stopped {
			time.Sleep(100 * time.Millisecond)
		}
	}
	tap(stopped, "after DestroySandbox the agent stops serving (the connection closes)")
}
