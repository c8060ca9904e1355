package tree

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// Role is what a tablet's vttablet says of itself: its current type and
// whether it serves, read from its /debug/vars.
type Role struct {
	// Type is the tablet's current type as vttablet reports it (primary,
	// replica, rdonly, ...).
	Type string
	// Serving is vttablet's TabletStateName: SERVING or NOT_SERVING.
	Serving string
	// Err says why the role is not known.
	Err error
}

// String is the ROLE column: "primary serving", or "?" when unknown.
func (r Role) String() string {
	if r.Err != nil || r.Type == "" {
		return "?"
	}
	return strings.ToLower(r.Type + " " + strings.ReplaceAll(r.Serving, "_", "-"))
}

// VarsGetter fetches a Pod's vttablet /debug/vars (through the API
// server's Pod proxy, for the CLI).
type VarsGetter func(ctx context.Context, namespace, pod string) ([]byte, error)

// RoleParallelism is how many tablets Roles asks at once.
const RoleParallelism = 8

// Roles asks every running tablet below the roots for its role, by
// VitessTablet name; a tablet without a running Pod is left out.
func Roles(ctx context.Context, roots []*Node, get VarsGetter) map[string]Role {
	type ask struct{ name, namespace, pod string }
	var asks []ask
	var walk func(n *Node)
	walk = func(n *Node) {
		o := n.Object
		if o.GetKind() == "VitessTablet" {
			for _, c := range n.Children {
				if c.Object.GetKind() == "Pod" && str(c.Object, "status", "phase") == "Running" {
					asks = append(asks, ask{o.GetName(), c.Object.GetNamespace(), c.Object.GetName()})
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	out := make(map[string]Role, len(asks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, RoleParallelism)
	for _, a := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			r := role(ctx, get, a.namespace, a.pod)
			mu.Lock()
			out[a.name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// role reads one tablet's role.
func role(ctx context.Context, get VarsGetter, namespace, pod string) Role {
	b, err := get(ctx, namespace, pod)
	if err != nil {
		return Role{Err: fmt.Errorf("pod %s: %w", pod, err)}
	}
	var vars struct {
		TabletType      string `json:"TabletType"`
		TabletStateName string `json:"TabletStateName"`
	}
	if err := json.Unmarshal(b, &vars); err != nil {
		return Role{Err: fmt.Errorf("pod %s: /debug/vars: %w", pod, err)}
	}
	if vars.TabletType == "" {
		return Role{Err: fmt.Errorf("pod %s: /debug/vars has no TabletType: is it a vttablet?", pod)}
	}
	return Role{Type: vars.TabletType, Serving: vars.TabletStateName}
}
