package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
	"github.com/vtmeta/vtmeta/deploy"
	"github.com/vtmeta/vtmeta/internal/admission"
	"github.com/vtmeta/vtmeta/internal/names"
)

// layerFlags are the flags that choose where each layer runs.
type layerFlags struct {
	remote  []string
	timeout time.Duration
}

func (f *layerFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.remote, "remote", nil,
		"run a layer in a running service over gRPC instead of in process: LAYER=HOST:PORT (its --grpc-addr); repeat for more layers")
	fs.DurationVar(&f.timeout, "remote-timeout", 10*time.Second, "give up on a remote layer's answer after this long")
}

// offline is the operator without a cluster: the CRDs and policies of
// deploy/ and the five layers.
type offline struct {
	crds     admission.CRDs
	policies []*admission.Policy
	layers   []operator.Layer
	closers  []func()
}

// judges are deploy/'s CRDs and policies as built into this binary,
// loaded (and their CEL compiled) once.
var judges = sync.OnceValues(func() (*offline, error) {
	crds, err := admission.LoadCRDs(deploy.FS, "crds")
	if err != nil {
		return nil, fmt.Errorf("load the CRDs: %w", err)
	}
	policies, err := admission.LoadPolicies(deploy.FS, "policy")
	if err != nil {
		return nil, fmt.Errorf("load the admission policies: %w", err)
	}
	return &offline{crds: crds, policies: policies}, nil
})

// newOffline returns deploy/'s CRDs and policies and the layers, in
// process or as --remote says.
func newOffline(f layerFlags) (*offline, error) {
	j, err := judges()
	if err != nil {
		return nil, err
	}
	layers, stop, err := operator.Local()
	if err != nil {
		return nil, err
	}
	o := &offline{crds: j.crds, policies: j.policies, layers: layers, closers: []func(){stop}}
	for _, r := range f.remote {
		name, addr, ok := strings.Cut(r, "=")
		if !ok || addr == "" || !slices.Contains(operator.Names, name) {
			o.close()
			return nil, usageError{fmt.Errorf("--remote %q: want LAYER=HOST:PORT with LAYER one of %s", r, strings.Join(operator.Names, ", "))}
		}
		l, closer, err := operator.Dial(name, addr, f.timeout)
		if err != nil {
			o.close()
			return nil, err
		}
		o.closers = append(o.closers, closer)
		o.layers = operator.With(o.layers, l)
	}
	return o, nil
}

func (o *offline) close() {
	for _, c := range o.closers {
		c()
	}
}

// prepare returns the object as the user would send it: in its namespace
// (the manifest's, else ns).
func prepare(m manifest, ns string) map[string]any {
	obj := copyJSON(m.Obj)
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	if s, _ := md["namespace"].(string); s == "" {
		md["namespace"] = ns
	}
	return obj
}

// admit judges a VitessCluster as the apiserver would (old is the object
// it replaces, nil for a create) and returns it as stored.
func (o *offline) admit(ctx context.Context, obj, old map[string]any) (map[string]any, field.ErrorList) {
	k := o.crds["VitessCluster"]
	return k.Admit(ctx, obj, old)
}

// world returns an empty World over the layers, storing vtmeta's kinds as
// their CRDs say.
func (o *offline) world() *operator.World {
	w := operator.New(o.layers...)
	w.Store = func(obj map[string]any) map[string]any {
		kind, _ := obj["kind"].(string)
		if k := o.crds[kind]; k != nil {
			stored, _ := k.Store(obj)
			return stored
		}
		return copyJSON(obj)
	}
	return w
}

// converge applies a stored VitessCluster to w and runs the layers until
// everything has settled.
func converge(ctx context.Context, w *operator.World, stored map[string]any) error {
	if _, err := w.Apply(stored); err != nil {
		return err
	}
	return w.Run(ctx)
}

// refusal is a parent whose layer refused its spec.
type refusal struct {
	Kind, Name, Message string
}

// refusals lists every parent whose layer reports Ready=False with reason
// InvalidSpec: it holds its children as they were.
func refusals(w *operator.World) []refusal {
	var out []refusal
	for _, o := range w.Objects() {
		conds, _ := o.Status["conditions"].([]any)
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" && m["reason"] == "InvalidSpec" {
				msg, _ := m["message"].(string)
				out = append(out, refusal{o.Kind, o.Name, strings.TrimPrefix(msg, "spec refused, children held as last applied: ")})
			}
		}
	}
	return out
}

// collisions lists what would make the rendered objects collide on a real
// cluster: a name Kubernetes refuses for its kind, and two VitessTablets of
// one Vitess alias (cell and uid) — two tablets of one alias corrupt the
// topology. (Two children of one kind and name from different parents the
// world refuses as it applies them.)
func collisions(w *operator.World) []string {
	var out []string
	aliases := map[string]string{}
	for _, o := range w.Objects() {
		if err := names.Valid(o.Kind, o.Name); err != nil {
			out = append(out, err.Error())
		}
		if o.Kind != "VitessTablet" {
			continue
		}
		s, _ := o.Body["spec"].(map[string]any)
		cell, _ := s["cell"].(string)
		uid, _ := strconv.ParseUint(fmt.Sprint(s["uid"]), 10, 32)
		alias := names.Alias(cell, uint32(uid))
		if other, ok := aliases[alias]; ok {
			out = append(out, fmt.Sprintf("VitessTablets %s and %s share the tablet alias %s", other, o.Name, alias))
		}
		aliases[alias] = o.Name
	}
	return out
}
