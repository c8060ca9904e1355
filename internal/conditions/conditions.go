// Package conditions builds the status conditions every layer reports
// (Ready, Updated, Progressing), keeping each condition's lastTransitionTime
// while its status does not change, so an unchanged parent gets an
// unchanged status.
package conditions

import (
	"time"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// The condition types every vtmeta kind reports.
const (
	// Available is True while the thing serves: every shard has a serving
	// primary-eligible tablet and at most its budget (one tablet) down,
	// every cell's gateways and topology answer. A healthy rolling update
	// keeps it True.
	Available = "Available"
	// Ready is True when every child the spec asks for is ready.
	Ready = "Ready"
	// Updated is True when every child is on the current spec.
	Updated = "Updated"
	// Progressing is True while children are being rolled to a new spec.
	Progressing = "Progressing"
	// Insecure is True on a VitessCluster that runs without credentials:
	// vtgate takes any user, MySQL's replication user has no password.
	Insecure = "Insecure"
	// ImagesSupported is False on a VitessCluster that names Vitess images
	// older than vtmeta supports, naming each.
	ImagesSupported = "ImagesSupported"
)

// Condition statuses.
const (
	True    = "True"
	False   = "False"
	Unknown = "Unknown"
)

// ReasonInvalidSpec is the reason of a parent whose spec is refused; its
// children are held exactly as last applied.
const ReasonInvalidSpec = "InvalidSpec"

// Merge returns next with the lastTransitionTime of each condition taken from
// prev when its status is unchanged, and now otherwise; every condition gets
// observedGeneration gen.
func Merge(prev []*v1.Condition, now time.Time, gen int64, next ...*v1.Condition) []*v1.Condition {
	stamp := now.UTC().Format(time.RFC3339)
	out := make([]*v1.Condition, 0, len(next))
	for _, c := range next {
		c.ObservedGeneration = gen
		c.LastTransitionTime = stamp
		for _, p := range prev {
			if p.GetType() == c.GetType() && p.GetStatus() == c.GetStatus() && p.GetLastTransitionTime() != "" {
				c.LastTransitionTime = p.GetLastTransitionTime()
			}
		}
		out = append(out, c)
	}
	return out
}

// New returns a condition.
func New(typ string, ok bool, reason, message string) *v1.Condition {
	st := False
	if ok {
		st = True
	}
	return &v1.Condition{Type: typ, Status: st, Reason: reason, Message: message}
}

// Find returns the condition of the type, or nil.
func Find(conds []*v1.Condition, typ string) *v1.Condition {
	for _, c := range conds {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}
