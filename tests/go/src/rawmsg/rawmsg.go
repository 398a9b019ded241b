// Package rawmsg lets the Go cross-checks send and receive protobuf messages through
// containerd's ttrpc (its gogo codec) as bytes they encode and decode by hand, so no
// generated Go code is needed.
package rawmsg

import "fmt"

// Raw passes bytes through the gogo codec untouched.
type Raw struct{ B []byte }

func (r *Raw) Reset()                   { r.B = nil }
func (r *Raw) String() string           { return fmt.Sprintf("%x", r.B) }
func (r *Raw) ProtoMessage()            {}
func (r *Raw) Marshal() ([]byte, error) { return r.B, nil }
func (r *Raw) Unmarshal(p []byte) error { r.B = append([]byte(nil), p...); return nil }
