package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
)

// Ref names an object.
type Ref struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Detail is what a reader wants next to the name: a tablet's type.
	Detail string `json:"detail,omitempty"`
}

func (r Ref) String() string {
	if r.Detail != "" {
		return fmt.Sprintf("%s %s (%s)", r.Kind, r.Name, r.Detail)
	}
	return r.Kind + " " + r.Name
}

// Change is an object that exists before and after, changed.
type Change struct {
	Ref
	// Replaced says it was deleted and created again (a Pod).
	Replaced bool `json:"replaced,omitempty"`
	// Diffs are its changed fields.
	Diffs []Diff `json:"diffs"`
}

// Step is one write of the rollout, in the order the layers make them.
type Step struct {
	// N counts steps from 1.
	N int `json:"n"`
	Ref
	// What says what happens to it: "updated", "created", "deleted", ...
	What string `json:"what"`
	// Diffs are its changed fields.
	Diffs []Diff `json:"diffs,omitempty"`
	// Effects are what the write does below it, as the layer underneath
	// answers: "Pod replaced", "claim kept".
	Effects []string `json:"effects,omitempty"`
	// Data says how the step touches data; empty when it does not.
	Data []string `json:"data,omitempty"`
	// Notes are what else the reader must know.
	Notes []string `json:"notes,omitempty"`
}

// Plan is what an edit does.
type Plan struct {
	// Cluster names the VitessCluster.
	Cluster Ref `json:"cluster"`
	// Edit is the edit of the VitessCluster itself.
	Edit []Diff `json:"edit"`
	// Created, Changed, Retired and Deleted are the objects the layers
	// create, change, keep although they left the spec, and delete.
	Created []Ref    `json:"created"`
	Changed []Change `json:"changed"`
	Retired []Ref    `json:"retired"`
	Deleted []Ref    `json:"deleted"`
	// Unchanged counts the objects nothing happens to.
	Unchanged int `json:"unchanged"`
	// Steps are the rollout.
	Steps []Step `json:"steps"`
}

// DataSteps counts the steps that touch data.
func (p *Plan) DataSteps() int {
	n := 0
	for _, s := range p.Steps {
		if len(s.Data) > 0 {
			n++
		}
	}
	return n
}

// Compute builds the plan of an edit: before is every object before it
// (operator.World.Snapshot), w the world after the edit settled, events
// the writes since the edit was applied.
func Compute(before map[string]*operator.Object, w *operator.World, events []operator.Event) *Plan {
	p := &Plan{Created: []Ref{}, Changed: []Change{}, Retired: []Ref{}, Deleted: []Ref{}, Steps: []Step{}, Edit: []Diff{}}
	ref := func(o *operator.Object) Ref { return Ref{Kind: o.Kind, Name: o.Name, Detail: detail(o, before, w)} }
	after := w.Objects()
	for _, o := range after {
		old := before[o.Key()]
		switch {
		case o.Owner == "":
			p.Cluster = ref(o)
			if old != nil {
				p.Edit = Compare(old.Body, o.Body)
			}
		case old == nil:
			p.Created = append(p.Created, ref(o))
		default:
			d := Compare(old.Body, o.Body)
			if len(d) == 0 && old.UID == o.UID {
				p.Unchanged++
				continue
			}
			p.Changed = append(p.Changed, Change{Ref: ref(o), Replaced: old.UID != o.UID, Diffs: d})
		}
	}
	for _, o := range sortedObjects(before) {
		if w.Get(o.Kind, o.Name) == nil {
			p.Deleted = append(p.Deleted, ref(o))
		}
	}
	p.Retired = retired(before, w)
	p.Steps = steps(before, w, events)
	return p
}

// sortedObjects orders a snapshot by creation.
func sortedObjects(m map[string]*operator.Object) []*operator.Object {
	out := make([]*operator.Object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *operator.Object) int { return a.Seq - b.Seq })
	return out
}

// detail is a tablet's type next to its name, or its Pod's and claim's.
func detail(o *operator.Object, before map[string]*operator.Object, w *operator.World) string {
	tablet := o
	if o.Kind == "Pod" || o.Kind == "PersistentVolumeClaim" {
		tablet = w.Get("VitessTablet", o.Name)
		if tablet == nil {
			tablet = before[operator.Key("VitessTablet", o.Name)]
		}
	}
	if tablet == nil || tablet.Kind != "VitessTablet" {
		return ""
	}
	spec, _ := tablet.Body["spec"].(map[string]any)
	typ, _ := spec["type"].(string)
	return typ
}

// retired lists what the layers keep although it left the spec: tablets
// marked retired, and what a parent's status names as retired.
func retired(before map[string]*operator.Object, w *operator.World) []Ref {
	var out []Ref
	was := func(kind, name string) bool {
		o := before[operator.Key(kind, name)]
		if o == nil {
			return false
		}
		if kind == "VitessTablet" {
			return isRetired(o)
		}
		return slices.Contains(retiredNames(before[o.Owner]), name)
	}
	for _, o := range w.Objects() {
		var now bool
		if o.Kind == "VitessTablet" {
			now = isRetired(o)
		} else if owner := w.ByKey(o.Owner); owner != nil {
			now = slices.Contains(retiredNames(owner), o.Name)
		}
		if now && !was(o.Kind, o.Name) {
			detail := "held as it was: what it runs keeps running, until reclaimPolicy Delete"
			if o.Kind == "VitessTablet" {
				spec, _ := o.Body["spec"].(map[string]any)
				typ, _ := spec["type"].(string)
				detail = typ + ", retired: no Pod, its volume kept"
			}
			out = append(out, Ref{Kind: o.Kind, Name: o.Name, Detail: detail})
		}
	}
	return out
}

func isRetired(o *operator.Object) bool {
	spec, _ := o.Body["spec"].(map[string]any)
	r, _ := spec["retired"].(bool)
	return r
}

// retiredNames are the children a parent's status names as retired.
func retiredNames(o *operator.Object) []string {
	if o == nil {
		return nil
	}
	var out []string
	for _, key := range []string{"retiredCells", "retiredShards", "retiredTablets"} {
		l, _ := o.Status[key].([]any)
		for _, n := range l {
			if s, ok := n.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// steps folds the writes into the rollout's steps: a write by the tablet
// layer (its Pod, its claim) and a deletion by the garbage collector join
// the step that caused them.
func steps(before map[string]*operator.Object, w *operator.World, events []operator.Event) []Step {
	var out []Step
	last := map[string]int{} // object key → index of its latest step
	typeOf := func(name string) string {
		for _, o := range []*operator.Object{w.Get("VitessTablet", name), before[operator.Key("VitessTablet", name)]} {
			if o != nil {
				spec, _ := o.Body["spec"].(map[string]any)
				t, _ := spec["type"].(string)
				return t
			}
		}
		return ""
	}
	for _, e := range events {
		if e.Owner == "" && e.Layer == "" && e.Cascade == "" {
			continue // the user's edit of the VitessCluster
		}
		key := operator.Key(e.Kind, e.Name)
		owner := e.Owner
		if e.Cascade != "" {
			owner = e.Cascade
		}
		if i, ok := last[owner]; ok && (e.Cascade != "" || e.Kind == "Pod" || e.Kind == "PersistentVolumeClaim") {
			s := &out[i]
			s.Effects = append(s.Effects, effect(e))
			s.Data = append(s.Data, touches(e, typeOf(e.Name))...)
			s.Notes = append(s.Notes, notes(e)...)
			last[key] = i
			continue
		}
		r := Ref{Kind: e.Kind, Name: e.Name}
		if e.Kind == "VitessTablet" || e.Kind == "Pod" || e.Kind == "PersistentVolumeClaim" {
			r.Detail = typeOf(e.Name)
		}
		s := Step{N: len(out) + 1, Ref: r, What: what(e), Data: touches(e, r.Detail), Notes: notes(e)}
		if e.Before != nil && e.After != nil {
			s.Diffs = Compare(e.Before, e.After)
		}
		out = append(out, s)
		last[key] = len(out) - 1
	}
	return out
}

// what names a write.
func what(e operator.Event) string {
	switch e.Op {
	case operator.Create:
		return "created"
	case operator.Update:
		if e.Kind == "VitessTablet" && isRetiredBody(e.After) && !isRetiredBody(e.Before) {
			return "retired"
		}
		return "updated"
	case operator.Replace:
		return "replaced"
	case operator.Delete:
		return "deleted"
	case operator.Withheld:
		return "not updated (OnDelete)"
	}
	return string(e.Op)
}

func isRetiredBody(m map[string]any) bool {
	spec, _ := m["spec"].(map[string]any)
	r, _ := spec["retired"].(bool)
	return r
}

// effect names a write folded into the step that caused it.
func effect(e operator.Event) string {
	noun := e.Kind + " " + e.Name
	switch e.Kind {
	case "Pod":
		noun = "Pod"
	case "PersistentVolumeClaim":
		noun = "claim"
	}
	switch e.Op {
	case operator.Replace:
		return noun + " replaced"
	case operator.Delete:
		if e.Cascade != "" {
			return noun + " deleted with it"
		}
		if e.Kind == "Pod" {
			return "Pod removed"
		}
		return noun + " deleted"
	case operator.Create:
		return noun + " created"
	case operator.Withheld:
		return noun + " change withheld"
	}
	return noun + " updated"
}

// touches says how a write touches data.
func touches(e operator.Event, tabletType string) []string {
	switch {
	case e.Kind == "PersistentVolumeClaim" && e.Op == operator.Delete:
		return []string{"deletes claim " + e.Name + " and the tablet's data with it (reclaimPolicy: Delete; the volume goes as its StorageClass's reclaimPolicy says)"}
	case e.Kind == "VitessTablet" && e.Op == operator.Update && isRetiredBody(e.After) && !isRetiredBody(e.Before):
		return []string{"retires tablet " + e.Name + ": it stops serving; its volume is kept and reused if the pool grows again"}
	case e.Kind == "VitessTablet" && e.Op == operator.Delete:
		return []string{"deletes tablet " + e.Name}
	case e.Kind == "Pod" && e.Op == operator.Replace && tabletType == "replica":
		return []string{"restarts a primary-eligible tablet: if it is the primary, its preStop hook reparents to another replica first"}
	case e.Kind == "Pod" && e.Op == operator.Delete && e.Cascade == "" && tabletType == "replica":
		return []string{"stops a primary-eligible tablet: if it is the primary, its preStop hook reparents to another replica first"}
	}
	return nil
}

// notes are what a reader must know about a write.
func notes(e operator.Event) []string {
	if e.Op == operator.Withheld && e.Kind == "PersistentVolumeClaim" {
		return []string{"Metacontroller does not update OnDelete children: expand claim " + e.Name + " with kubectl patch (" + summary(Compare(e.Before, e.After), 1) + ")"}
	}
	return nil
}

// summary writes up to n diffs and how many more there are.
func summary(ds []Diff, n int) string {
	var parts []string
	for i, d := range ds {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-n))
			break
		}
		parts = append(parts, d.String())
	}
	return strings.Join(parts, ", ")
}

// Write prints the plan for a reader.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	f("Plan for %s\n", p.Cluster)
	if len(p.Edit) > 0 {
		f("\nThe edit:\n")
		for _, d := range p.Edit {
			f("  %s\n", d)
		}
	}
	section := func(title, mark string, refs []Ref) {
		if len(refs) == 0 {
			return
		}
		f("\n%s (%d):\n", title, len(refs))
		for _, r := range refs {
			f("  %s %s\n", mark, r)
		}
	}
	section("Created", "+", p.Created)
	if len(p.Changed) > 0 {
		f("\nChanged (%d):\n", len(p.Changed))
		for _, c := range p.Changed {
			how := ""
			if c.Replaced {
				how = ", replaced"
			}
			f("  ~ %s%s\n", c.Ref, how)
			for _, d := range c.Diffs {
				f("      %s\n", d)
			}
		}
	}
	section("Left the spec, kept (reclaimPolicy Retain)", "-", p.Retired)
	section("Deleted", "x", p.Deleted)
	f("\nUnchanged: %d objects\n", p.Unchanged)
	if len(p.Steps) == 0 {
		f("\nNo rollout: nothing changes.\n")
	} else {
		f("\nRollout, in the order the layers perform it (! touches data):\n")
		for _, s := range p.Steps {
			mark := " "
			if len(s.Data) > 0 {
				mark = "!"
			}
			line := fmt.Sprintf("%s %d. %s %s", mark, s.N, s.Ref, s.What)
			if len(s.Diffs) > 0 {
				line += ": " + summary(s.Diffs, 2)
			}
			if len(s.Effects) > 0 {
				line += "; " + strings.Join(s.Effects, ", ")
			}
			f("%s\n", line)
			for _, d := range s.Data {
				f("      ! %s\n", d)
			}
			for _, n := range s.Notes {
				f("      note: %s\n", n)
			}
		}
		f("\n%d steps, %d touching data.\n", len(p.Steps), p.DataSteps())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
