// agentcheck drives a real kata-agent through containerd's Go ttrpc client (Debian's
// golang-github-containerd-ttrpc-dev), so framing and envelopes are checked against an
// implementation nobody here wrote: Check, CreateContainer, StartContainer, ReadStdout and
// ReadStderr to EOF while WaitProcess is parked on the same connection, WaitProcess,
// RemoveContainer, and a few error statuses. Prints TAP.
//
//	agentcheck SOCKET ROOTFS
//
// Messages are encoded by hand (field number + wire type), so no generated Go code is needed.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"rawmsg"
)

// raw is the hand-encoded message type shared by the Go cross-checks.
type raw = rawmsg.Raw

func key(field, wt int) []byte { return binary.AppendUvarint(nil, uint64(field<<3|wt)) }

func lenField(field int, b []byte) []byte {
	out := key(field, 2)
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func str(field int, s string) []byte { return lenField(field, []byte(s)) }

func varint(field int, v uint64) []byte { return binary.AppendUvarint(key(field, 0), v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// decode returns the fields of a message: number -> list of (varint or bytes).
func decode(p []byte) (map[int][]uint64, map[int][][]byte, error) {
	ints, blobs := map[int][]uint64{}, map[int][][]byte{}
	for len(p) > 0 {
		k, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, nil, fmt.Errorf("bad key")
		}
		p = p[n:]
		f := int(k >> 3)
		switch k & 7 {
		case 0:
			v, m := binary.Uvarint(p)
			if m <= 0 {
				return nil, nil, fmt.Errorf("bad varint")
			}
			ints[f] = append(ints[f], v)
			p = p[m:]
		case 2:
			l, m := binary.Uvarint(p)
			if m <= 0 || uint64(len(p)-m) < l {
				return nil, nil, fmt.Errorf("bad length")
			}
			blobs[f] = append(blobs[f], p[m:m+int(l)])
			p = p[m+int(l):]
		default:
			return nil, nil, fmt.Errorf("unexpected wire type %d", k&7)
		}
	}
	return ints, blobs, nil
}

// spec builds an OCI spec (oci.proto field numbers) running args in rootfs.
func spec(rootfs string, args ...string) []byte {
	var proc []byte
	for _, a := range args {
		proc = append(proc, str(4, a)...) // Process.Args
	}
	proc = cat(proc, str(5, "PATH=/bin:/usr/bin"), str(6, "/"), lenField(3, nil)) // Env, Cwd, User{}
	mount := func(dst, typ, src string) []byte {
		return lenField(5, cat(str(1, dst), str(2, src), str(3, typ))) // Spec.Mounts
	}
	var linux []byte
	for _, ns := range []string{"pid", "mount", "ipc", "uts"} {
		linux = append(linux, lenField(6, str(1, ns))...) // Linux.Namespaces
	}
	return cat(str(1, "1.0.2"), lenField(2, proc), lenField(3, str(1, rootfs)),
		mount("/proc", "proc", "proc"), mount("/dev", "tmpfs", "tmpfs"), lenField(8, linux))
}

var n int

func tap(ok bool, name string, detail ...interface{}) {
	n++
	if ok {
		fmt.Printf("ok %d - %s\n", n, name)
	} else {
		fmt.Printf("not ok %d - %s\n", n, name)
		if len(detail) > 0 {
			fmt.Printf("# %v\n", fmt.Sprint(detail...))
		}
	}
}

func call(c *ttrpc.Client, svc, method string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var resp raw
	err := c.Call(ctx, svc, method, &raw{req}, &resp)
	return resp.B, err
}

func agent(c *ttrpc.Client, method string, req []byte) ([]byte, error) {
	return call(c, "grpc.AgentService", method, req)
}

// readAll reads a stream (ReadStdout/ReadStderr) until the empty reply that means EOF.
func readAll(c *ttrpc.Client, method, cid string) ([]byte, error) {
	var out []byte
	for {
		b, err := agent(c, method, cat(str(1, cid), str(2, cid), varint(3, 32768)))
		if err != nil {
			return out, err
		}
		_, blobs, err := decode(b)
		if err != nil {
			return out, err
		}
		if len(blobs[1]) == 0 || len(blobs[1][0]) == 0 {
			return out, nil
		}
		out = append(out, blobs[1][0]...)
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: agentcheck SOCKET ROOTFS")
		os.Exit(2)
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Println("1..1")
		tap(false, "connect", err)
		os.Exit(1)
	}
	rootfs := os.Args[2]
	c := ttrpc.NewClient(conn)
	defer c.Close()
	fmt.Println("1..9")

	b, err := call(c, "grpc.Health", "Check", nil)
	ints, _, _ := decode(b)
	tap(err == nil && len(ints[1]) == 1 && ints[1][0] == 1, "Health.Check is SERVING", err, b)

	cid := fmt.Sprintf("go-%d", os.Getpid())
	_, err = agent(c, "CreateContainer", cat(str(1, cid), str(2, cid),
		lenField(6, spec(rootfs, "/bin/sh", "-c", "echo hello from go; echo oops >&2; exit 3"))))
	tap(err == nil, "CreateContainer", err)
	_, err = agent(c, "StartContainer", str(1, cid))
	tap(err == nil, "StartContainer", err)

	// Reads and the wait share the one connection, all in flight at once.
	var wg sync.WaitGroup
	var stdout, stderr, waitResp []byte
	var errOut, errErr, errWait error
	wg.Add(3)
	go func() { defer wg.Done(); waitResp, errWait = agent(c, "WaitProcess", cat(str(1, cid), str(2, cid))) }()
	go func() { defer wg.Done(); stdout, errOut = readAll(c, "ReadStdout", cid) }()
	go func() { defer wg.Done(); stderr, errErr = readAll(c, "ReadStderr", cid) }()
	wg.Wait()
	tap(errOut == nil && string(stdout) == "hello from go\n", "ReadStdout to EOF", errOut, fmt.Sprintf(" %q", stdout))
	tap(errErr == nil && string(stderr) == "oops\n", "ReadStderr to EOF", errErr, fmt.Sprintf(" %q", stderr))
	ints, _, _ = decode(waitResp)
	tap(errWait == nil && len(ints[1]) == 1 && ints[1][0] == 3, "WaitProcess gives exit status 3", errWait, waitResp)

	_, err = agent(c, "RemoveContainer", str(1, cid))
	tap(err == nil, "RemoveContainer", err)

	_, err = agent(c, "WaitProcess", str(1, "no-such-container"))
	tap(status.Code(err) == codes.InvalidArgument, "WaitProcess: unknown container id is InvalidArgument", err)
	_, err = agent(c, "MemAgentMemcgSet", nil)
	tap(status.Code(err) == codes.Unimplemented, "unimplemented method is Unimplemented", err)
}
