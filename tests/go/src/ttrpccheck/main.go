// ttrpccheck cross-checks our C ttRPC library against containerd's Go ttrpc (Debian's
// golang-github-containerd-ttrpc-dev).
//
//	ttrpccheck client SOCKET   Go client against our C test server (ttrpc-testsrv); prints TAP lines
//	ttrpccheck server SOCKET   Go server for our C client; serves until killed
//
// Messages travel as raw bytes (type raw implements the gogo codec interface), and the few
// small messages are encoded by hand, so no generated Go code is needed.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"rawmsg"
)

// raw is the hand-encoded message type shared by the Go cross-checks.
type raw = rawmsg.Raw

// str encodes a message with one string field.
func str(field int, s string) []byte {
	b := []byte{byte(field<<3 | 2)}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// field1 returns the first length-delimited field 1 of a message (grpc_version, service).
func field1(p []byte) (string, bool) {
	for len(p) > 0 {
		key, n := binary.Uvarint(p)
		if n <= 0 {
			return "", false
		}
		p = p[n:]
		switch key & 7 {
		case 0:
			_, m := binary.Uvarint(p)
			if m <= 0 {
				return "", false
			}
			p = p[m:]
		case 2:
			l, m := binary.Uvarint(p)
			if m <= 0 || uint64(len(p)-m) < l {
				return "", false
			}
			if key>>3 == 1 {
				return string(p[m : m+int(l)]), true
			}
			p = p[m+int(l):]
		default:
			return "", false
		}
	}
	return "", true
}

var failed bool

func report(good bool, format string, args ...interface{}) {
	prefix := "ok"
	if !good {
		prefix = "not ok"
		failed = true
	}
	fmt.Printf("%s - go: %s\n", prefix, fmt.Sprintf(format, args...))
}

func version(c *ttrpc.Client, cmd string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var resp raw
	if err := c.Call(ctx, "grpc.Health", "Version", &raw{str(1, cmd)}, &resp); err != nil {
		return "", err
	}
	v, _ := field1(resp.B)
	return v, nil
}

func statusIs(err error, code codes.Code, msg string) bool {
	s, ok := status.FromError(err)
	return ok && s.Code() == code && s.Message() == msg
}

func runClient(path string) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		fmt.Printf("not ok - go: dial %s: %v\n", path, err)
		os.Exit(1)
	}
	c := ttrpc.NewClient(conn)
	defer c.Close()
	ctx := context.Background()

	var resp raw
	err = c.Call(ctx, "grpc.Health", "Check", &raw{}, &resp)
	report(err == nil && string(resp.B) == "\x08\x01", "Go client -> C server: Health.Check = SERVING (%x, %v)", resp.B, err)

	v, err := version(c, "", 5*time.Second)
	report(err == nil && v == "0.0.1", "Health.Version = %q (%v)", v, err)

	err = c.Call(ctx, "grpc.Nope", "Check", &raw{}, &resp)
	report(statusIs(err, codes.InvalidArgument, "grpc.Nope service does not exist"), "unknown service: %v", err)

	err = c.Call(ctx, "grpc.Health", "Nope", &raw{}, &resp)
	report(statusIs(err, codes.Unimplemented, "Nope method"), "unknown method: %v", err)

	_, err = version(c, "error:5:gone", 5*time.Second)
	report(statusIs(err, codes.NotFound, "gone"), "handler error status: %v", err)

	// Request timeout_nano: the Go client fills it from the context deadline. The server
	// answers DEADLINE_EXCEEDED; the Go client may give up locally at the same moment.
	start := time.Now()
	_, err = version(c, "park:late", 200*time.Millisecond)
	s, _ := status.FromError(err)
	report(err != nil && (s.Code() == codes.DeadlineExceeded || err == context.DeadlineExceeded) &&
		time.Since(start) < 3*time.Second, "parked call with a 200ms deadline ends: %v", err)
	// Whoever answered first, the server must have cancelled the call on its own timer.
	cancelled := false
	for i := 0; i < 300 && !cancelled; i++ {
		st, _ := version(c, "stats", 5*time.Second)
		cancelled = strings.Contains(st, "cancelled=1 ")
		time.Sleep(10 * time.Millisecond)
	}
	report(cancelled, "C server timed the call out from the Go client's timeout_nano")

	// Concurrency: calls park in the C server until a later call releases them.
	const n = 16
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i], errs[i] = version(c, fmt.Sprintf("park:g%d", i), 20*time.Second)
		}(i)
	}
	deadline := time.Now().Add(5 * time.Second)
	parked := false
	for time.Now().Before(deadline) && !parked {
		st, _ := version(c, "stats", 5*time.Second)
		parked = strings.Contains(st, fmt.Sprintf("parked=%d ", n))
		time.Sleep(10 * time.Millisecond)
	}
	report(parked, "%d Go calls parked concurrently in the C server", n)
	rel, err := version(c, "release", 5*time.Second)
	wg.Wait()
	good := 0
	for i := 0; i < n; i++ {
		if errs[i] == nil && got[i] == fmt.Sprintf("g%d", i) {
			good++
		}
	}
	report(err == nil && rel == fmt.Sprint(n) && good == n, "release answered %d/%d out of order, each to its caller", good, n)

	// A reply of exactly 4 MiB is accepted by the Go reader.
	big, err := version(c, fmt.Sprintf("big:%d", (4<<20)-24), 10*time.Second)
	report(err == nil && len(big) == (4<<20)-24, "reply of exactly 4 MiB (%d, %v)", len(big), err)

	// A hand-built frame: the reply carries an explicit empty OK status (0a 00).
	rc, err := net.Dial("unix", path)
	if err == nil {
		defer rc.Close()
		body := append(str(1, "grpc.Health"), str(2, "Check")...)
		hdr := make([]byte, 10)
		binary.BigEndian.PutUint32(hdr[0:], uint32(len(body)))
		binary.BigEndian.PutUint32(hdr[4:], 1)
		hdr[8] = 1
		rc.Write(append(hdr, body...))
		rc.SetReadDeadline(time.Now().Add(5 * time.Second))
		rh := make([]byte, 10)
		_, err = io.ReadFull(rc, rh)
		n := binary.BigEndian.Uint32(rh)
		rb := make([]byte, n)
		if err == nil {
			_, err = io.ReadFull(rc, rb)
		}
		report(err == nil && fmt.Sprintf("%x", rh) == "00000006000000010200" && fmt.Sprintf("%x", rb) == "0a0012020801",
			"raw frame: header %x body %x", rh, rb)
	} else {
		report(false, "raw dial: %v", err)
	}
	if failed {
		os.Exit(1)
	}
}

func runServer(path string) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	release := make(chan struct{})
	arg := func(unmarshal func(interface{}) error) string {
		var r raw
		if unmarshal(&r) != nil {
			return ""
		}
		v, _ := field1(r.B)
		return v
	}
	s.Register("grpc.Health", map[string]ttrpc.Method{
		"Check": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			return &raw{[]byte{0x08, 0x01}}, nil
		},
		"Version": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			cmd := arg(unmarshal)
			switch {
			case cmd == "fail":
				return nil, status.Errorf(codes.NotFound, "nope")
			case strings.HasPrefix(cmd, "park:"):
				mu.Lock()
				ch := release
				mu.Unlock()
				select {
				case <-ch:
				case <-ctx.Done():
					return nil, status.Errorf(codes.DeadlineExceeded, "parked call timed out")
				}
				return &raw{str(1, strings.TrimPrefix(cmd, "park:"))}, nil
			case cmd == "release":
				mu.Lock()
				close(release)
				release = make(chan struct{})
				mu.Unlock()
				return &raw{str(1, "released")}, nil
			}
			return &raw{append(str(1, "go"), str(2, "ttrpccheck")...)}, nil
		},
	})
	if err := s.Serve(context.Background(), l); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
	}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ttrpccheck client|server SOCKET")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "client":
		runClient(os.Args[2])
	case "server":
		runServer(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: ttrpccheck client|server SOCKET")
		os.Exit(2)
	}
}
