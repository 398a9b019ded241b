// shimcheck decodes what the C shim's event publisher and metrics conversion produce with
// containerd's own Go types (Debian's golang-github-containerd-containerd-dev and
// golang-github-containerd-cgroups-dev), the way containerd and ctr decode them: through typeurl.
//
//	shimcheck metrics FILE    FILE holds a packed google.protobuf.Any (shim-events-tool metrics);
//	                          prints TAP lines, then the Metrics in protobuf text format after a
//	                          line "--- metrics"
//	shimcheck events SOCKET N serves containerd.services.events.ttrpc.v1.Events on SOCKET, prints
//	                          one line per Forward ("<namespace> <topic> <type_url> <Go type>
//	                          <age_ms> <roundtrip> <event as JSON>") and exits after N of them
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"time"

	v1 "github.com/containerd/cgroups/stats/v1"
	_ "github.com/containerd/containerd/api/events"
	eventsapi "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl"
	"github.com/gogo/protobuf/proto"
	ptypes "github.com/gogo/protobuf/types"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "shimcheck: "+format+"\n", args...)
	os.Exit(1)
}

// sameEncoding reports whether Go, re-encoding what it decoded, produces the bytes it was given:
// then no field was unknown to containerd's type, lost, or encoded differently.
func sameEncoding(m proto.Message, wire []byte) (bool, error) {
	again, err := proto.Marshal(m)
	if err != nil {
		return false, err
	}
	return string(again) == string(wire), nil
}

func checkMetrics(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n := 0
	tap := func(ok bool, what string) {
		n++
		if ok {
			fmt.Printf("ok %d - %s\n", n, what)
		} else {
			fmt.Printf("not ok %d - %s\n", n, what)
		}
	}
	var any ptypes.Any
	err = proto.Unmarshal(data, &any)
	tap(err == nil, "the output is a google.protobuf.Any")
	tap(any.TypeUrl == "io.containerd.cgroups.v1.Metrics", "type URL is io.containerd.cgroups.v1.Metrics ("+any.TypeUrl+")")
	decoded, err := typeurl.UnmarshalAny(&any)
	if err != nil {
		tap(false, "typeurl.UnmarshalAny: "+err.Error())
		fmt.Printf("1..%d\n", n)
		return
	}
	m, isV1 := decoded.(*v1.Metrics)
	tap(isV1, fmt.Sprintf("typeurl decodes it as cgroups stats/v1 Metrics, as ctr task metrics does (%T)", decoded))
	if !isV1 {
		fmt.Printf("1..%d\n", n)
		return
	}
	same, err := sameEncoding(m, any.Value)
	tap(err == nil && same, "containerd's Metrics re-encodes to our exact bytes (no unknown or lost fields)")
	tap(len(m.XXX_unrecognized) == 0, "no unrecognized fields at the top level")
	fmt.Printf("1..%d\n", n)
	fmt.Println("--- metrics")
	fmt.Print(proto.MarshalTextString(m))
}

type forwarder struct {
	want int
	seen int
	done chan struct{}
}

func (f *forwarder) Forward(ctx context.Context, req *eventsapi.ForwardRequest) (*ptypes.Empty, error) {
	env := req.Envelope
	if env == nil || env.Event == nil {
		fmt.Println("MALFORMED envelope or event missing")
		return &ptypes.Empty{}, nil
	}
	age := time.Since(env.Timestamp).Milliseconds()
	line := fmt.Sprintf("%s %s %s", env.Namespace, env.Topic, env.Event.TypeUrl)
	ev, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		fmt.Printf("%s UNDECODABLE %d - %v\n", line, age, err)
	} else {
		roundtrip := "roundtrip-differs"
		if pm, ok := ev.(proto.Message); ok {
			if same, err := sameEncoding(pm, env.Event.Value); err == nil && same {
				roundtrip = "roundtrip-same"
			}
		}
		js, _ := json.Marshal(ev)
		fmt.Printf("%s %s %d %s %s\n", line, reflect.TypeOf(ev).String(), age, roundtrip, js)
	}
	f.seen++
	if f.seen == f.want {
		close(f.done)
	}
	return &ptypes.Empty{}, nil
}

func serveEvents(path string, want int) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fail("%v", err)
	}
	srv, err := ttrpc.NewServer()
	if err != nil {
		fail("%v", err)
	}
	f := &forwarder{want: want, done: make(chan struct{})}
	eventsapi.RegisterEventsService(srv, f)
	go srv.Serve(context.Background(), l)
	select {
	case <-f.done:
	case <-time.After(60 * time.Second):
		fail("timed out with %d of %d events", f.seen, want)
	}
	// Let the last reply go out before the process ends.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "metrics" {
		checkMetrics(os.Args[2])
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "events" {
		want, err := strconv.Atoi(os.Args[3])
		if err != nil || want < 1 {
			fail("bad event count %q", os.Args[3])
		}
		serveEvents(os.Args[2], want)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: shimcheck metrics FILE | shimcheck events SOCKET N")
	os.Exit(2)
}
