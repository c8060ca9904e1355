package tree

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PrintOptions steer Print.
type PrintOptions struct {
	// Now is the time ages are counted to.
	Now time.Time
	// Color marks ready green, not ready red and rolling yellow, for a
	// terminal.
	Color bool
	// Roles are the tablets' roles by VitessTablet name (see Roles); nil
	// prints no ROLE column.
	Roles map[string]Role
}

// ANSI colours.
const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// row is one printed line before alignment.
type row struct {
	name, ready, updated, role, age, backup, status string
	h                                               Health
}

// Print writes the trees as a table: the tree of names, READY, UPDATED,
// ROLE (with opts.Roles: each tablet's current type and whether it
// serves, as its vttablet says),
// AGE, BACKUP (when the cluster keeps backups: the age of the latest
// backup of the least recently backed-up shard below, "none" while one has
// none, and "overdue" when its schedules asked for a newer one) and STATUS
// (why something is not ready, since when; where a rollout stands), then
// the objects that hold the rest up: those not ready whose own children
// are all ready.
func Print(w io.Writer, roots []*Node, opts PrintOptions) error {
	rows := []row{{name: "NAME", ready: "READY", updated: "UPDATED", role: "ROLE", age: "AGE", backup: "BACKUP", status: "STATUS"}}
	backups := false
	var stuck []*Node
	var walk func(n *Node, indent, branch string) bool
	walk = func(n *Node, indent, branch string) bool {
		o, h := n.Object, Assess(n.Object)
		r := row{name: indent + branch + o.GetKind() + "/" + o.GetName(), ready: h.Ready, updated: h.Updated,
			age: age(o.GetCreationTimestamp().Time, opts.Now), backup: backupAge(o, opts.Now), status: status(h, opts.Now), h: h}
		if ro, ok := opts.Roles[o.GetName()]; ok && o.GetKind() == "VitessTablet" {
			r.role = ro.String()
		}
		backups = backups || r.backup != ""
		rows = append(rows, r)
		next := indent
		switch branch {
		case "├─ ":
			next += "│  "
		case "└─ ":
			next += "   "
		}
		childStuck := false
		for i, c := range n.Children {
			b := "├─ "
			if i == len(n.Children)-1 {
				b = "└─ "
			}
			if walk(c, next, b) {
				childStuck = true
			}
		}
		if !h.OK && !childStuck {
			stuck = append(stuck, n)
		}
		return !h.OK || childStuck
	}
	for _, r := range roots {
		walk(r, "", "")
	}
	width := func(col func(row) string) int {
		m := 0
		for _, r := range rows {
			m = max(m, utf8.RuneCountInString(col(r)))
		}
		return m
	}
	wn, wr, wu, wa, wb := width(func(r row) string { return r.name }), width(func(r row) string { return r.ready }),
		width(func(r row) string { return r.updated }), width(func(r row) string { return r.age }), width(func(r row) string { return r.backup })
	wo := width(func(r row) string { return r.role })
	var b strings.Builder
	for i, r := range rows {
		paint := func(s string) string { return s }
		switch {
		case !opts.Color:
		case i == 0:
			paint = func(s string) string { return bold + s + reset }
		case !r.h.OK:
			paint = func(s string) string { return red + s + reset }
		case r.h.Rolling:
			paint = func(s string) string { return yellow + s + reset }
		case r.h.Ready != "":
			paint = func(s string) string { return green + s + reset }
		}
		line := pad(r.name, wn) + "  " + paint(pad(r.ready, wr)) + "  " + pad(r.updated, wu)
		if opts.Roles != nil {
			line += "  " + pad(r.role, wo)
		}
		line += "  " + pad(r.age, wa)
		if backups {
			line += "  " + pad(r.backup, wb)
		}
		if r.status != "" {
			status := r.status
			if opts.Color && i > 0 {
				status = paint(status)
			}
			line += "  " + status
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	if len(stuck) > 0 {
		fmt.Fprintf(&b, "\nNot ready, holding up the rest:\n")
		for _, n := range stuck {
			h := Assess(n.Object)
			fmt.Fprintf(&b, "  %s/%s: %s\n", n.Object.GetKind(), n.Object.GetName(), status(h, opts.Now))
		}
	}
	var unknown []error
	for _, name := range slices.Sorted(maps.Keys(opts.Roles)) {
		if err := opts.Roles[name].Err; err != nil {
			unknown = append(unknown, err)
		}
	}
	if len(unknown) > 0 {
		more := ""
		if len(unknown) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(unknown)-1)
		}
		fmt.Fprintf(&b, "\nROLE ?: %v%s. tree reads each tablet's /debug/vars through the API server's Pod proxy: it needs get on pods/proxy, no Vitess credentials.\n", unknown[0], more)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// status is the STATUS column: why it is not ready (since when), or where
// its rollout stands.
func status(h Health, now time.Time) string {
	if h.Why == "" {
		return ""
	}
	if !h.Since.IsZero() {
		return fmt.Sprintf("%s (since %s, %s ago)", h.Why, h.Since.UTC().Format(time.RFC3339), age(h.Since, now))
	}
	return h.Why
}

// backupAge is the BACKUP column of one of vtmeta's kinds that reports
// backups: the age of its status.lastBackupTime, "none" while its
// BackedUp condition says there is none, "overdue" appended when it says
// the backup is older than its schedules allow; "" otherwise.
func backupAge(o *unstructured.Unstructured, now time.Time) string {
	last, _, _ := unstructured.NestedString(o.Object, "status", "lastBackupTime")
	c := Condition(o, "BackedUp")
	t, err := time.Parse(time.RFC3339, last)
	switch {
	case err == nil && c.Status == "False":
		return age(t, now) + " (overdue)"
	case err == nil:
		return age(t, now)
	case c.Status != "":
		return "none"
	}
	return ""
}

// age is a duration as kubectl prints ages: 5m, 3h12m, 2d.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}
