package spec

import (
	"fmt"
	"reflect"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// A layer's answer repeats parts of its parent's spec in every child: a
// keyspace's tablets template in each of its shards, a shard's pool in
// each of its tablets. An answer can so be many times its request, and
// the body budget that bounds requests does not bound it. So each layer
// estimates its answer before it builds anything (from the encoded size of
// the parts each child repeats, which it encodes once), refuses a spec
// whose answer would pass the runtime's limit (AnswerTooLarge, naming what
// to shrink), and the runtime holds the estimate of its in-flight budget
// while the call runs.

// ChildOverhead is what a child of vtmeta's own kinds adds to the parts of
// its parent's spec it repeats: its kind, metadata, hash stamp and the
// scalar fields of its spec.
const ChildOverhead = 2 << 10

// StatusOverhead is what an answer's status takes: its conditions.
const StatusOverhead = 4 << 10

// Encoded is the size of m's encoding, as the layers write it.
func Encoded(m proto.Message) int64 {
	if m == nil || reflect.ValueOf(m).IsNil() {
		return 0
	}
	b, err := kjson.Marshal(m)
	if err != nil {
		return int64(2 * proto.Size(m)) // a message kjson cannot encode is refused elsewhere
	}
	return int64(len(b))
}

// Records is the size of the last-applied records of the observed
// children of a request: what a layer sends back of the children it holds
// (retired ones, or all of them while its parent's spec is invalid). They
// came in the request, so the limit on what a spec multiplies does not
// apply to them; the in-flight budget does.
func Records(children map[string]*v1.ObjectMap) int64 {
	var n int64
	for _, m := range children {
		for _, o := range m.GetObjects() {
			n += int64(len(o.GetMetadata().GetAnnotations()[observed.LastAppliedAnnotation]))
		}
	}
	return n
}

// AnswerSize refuses an answer estimated at est bytes when it passes limit
// (0: no limit). field is what multiplies and what to shrink, children the
// count of children and what they are, fix what the user can do.
func AnswerSize(field string, est, limit int64, children, fix string) error {
	if limit <= 0 || est <= limit {
		return nil
	}
	return fieldErr(field, "AnswerTooLarge", "%s would take about %s, over the %s one sync may answer (the services' --max-answer-bytes): %s",
		children, bytesOf(est), bytesOf(limit), fix)
}

// bytesOf writes a size for people.
func bytesOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
