package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
	admit "github.com/vtmeta/vtmeta/internal/admission"
)

func (a *app) renderCmd() *cobra.Command {
	var file, layer, output string
	var lf layerFlags
	cmd := &cobra.Command{
		Use:   "render -f FILE",
		Short: "Print every object the operator would create for a VitessCluster, in apply order",
		Long: `render runs the five layers' sync code offline, chained as Metacontroller
chains them: the cluster layer's VitessCells become the cell layer's parents,
its VitessKeyspaces the keyspace layer's, and so on down to the tablets' Pods
and claims, each child becoming ready as soon as it is written. It prints
every object the layers ask for, exactly as they ask for it, in the order
they are applied. The output is deterministic: render a spec before and after
an edit and diff the two.

The VitessCluster is first stored as the apiserver would store it (defaults
from deploy/crds); a spec the apiserver or a layer would refuse is reported
instead (see validate).`,
		Example: a.example(
			"vtmeta render -f deploy/examples/minimal/vitess.yaml",
			"vtmeta render -f cluster.yaml --layer tablet          # only the Pods and claims",
			"vtmeta render -f cluster.yaml -o json | jq '.items[].metadata.name'",
			"vtmeta render -f cluster.yaml --remote shard=localhost:9090   # the deployed shard layer"),
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("render needs -f FILE")}
			}
			if output != "yaml" && output != "json" {
				return usageError{fmt.Errorf("-o %q: use yaml or json", output)}
			}
			if layer != "" && !slices.Contains(operator.Names, layer) {
				return usageError{fmt.Errorf("--layer %q: use one of %s", layer, strings.Join(operator.Names, ", "))}
			}
			m, err := a.readCluster(file)
			if err != nil {
				return err
			}
			o, err := newOffline(lf)
			if err != nil {
				return err
			}
			defer o.close()
			w, err := a.render(cmd, o, m)
			if err != nil {
				return err
			}
			return writeObjects(cmd.OutOrStdout(), rendered(w, layer), output)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the VitessCluster manifest (YAML or JSON; - reads standard input)")
	cmd.Flags().StringVar(&layer, "layer", "", "print only what this layer creates: "+strings.Join(operator.Names, ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "yaml (documents, each headed by what creates it) or json (a v1 List)")
	lf.add(cmd.Flags())
	return cmd
}

// render stores the manifest's VitessCluster as the apiserver would and
// runs the layers until everything is created and ready. A spec the
// apiserver or a layer refuses is reported on stderr as errInvalid.
func (a *app) render(cmd *cobra.Command, o *offline, m manifest) (*operator.World, error) {
	stored, errs := o.admit(cmd.Context(), prepare(m, a.namespace()), nil)
	if len(errs) > 0 {
		a.refused(m, "the apiserver refuses it", errs)
		return nil, errInvalid
	}
	k := o.crds["VitessCluster"]
	ds, err := admit.Evaluate(cmd.Context(), o.policies, admit.Request{Operation: admission.Create, Resource: k.Resource(),
		Object: &unstructured.Unstructured{Object: stored}})
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.Denies() {
			fmt.Fprintf(a.stderr, "%s: ValidatingAdmissionPolicy %s refuses it: %s\n", m, d.Policy, d.Message)
			return nil, errInvalid
		}
		fmt.Fprintf(a.stderr, "%s: warning from ValidatingAdmissionPolicy %s: %s\n", m, d.Policy, d.Message)
	}
	w := o.world()
	if err := converge(cmd.Context(), w, stored); err != nil {
		return nil, err
	}
	if cs := collisions(w); len(cs) > 0 {
		fmt.Fprintf(a.stderr, "%s: the objects would collide:\n", m)
		for _, c := range cs {
			fmt.Fprintf(a.stderr, "  %s\n", c)
		}
		return nil, errInvalid
	}
	if rs := refusals(w); len(rs) > 0 {
		fmt.Fprintf(a.stderr, "%s: a layer refuses the spec:\n", m)
		for _, r := range rs {
			fmt.Fprintf(a.stderr, "  %s %s: %s\n", r.Kind, r.Name, r.Message)
		}
		fmt.Fprintf(a.stderr, "Run '%s validate -f %s' for where and how to fix it.\n", a.self, m.File)
		return nil, errInvalid
	}
	return w, nil
}

// refused prints the apiserver's errors, briefly.
func (a *app) refused(m manifest, why string, errs field.ErrorList) {
	fmt.Fprintf(a.stderr, "%s: %s:\n", m, why)
	for _, e := range errs {
		fmt.Fprintf(a.stderr, "  %s: %s\n", m.where(e.Field), e.Error())
	}
	fmt.Fprintf(a.stderr, "Run '%s validate -f %s' for how to fix it.\n", a.self, m.File)
}

// renderedObject is one object a layer asks for.
type renderedObject struct {
	obj   *operator.Object
	layer string
}

// rendered returns what the layers asked for, in apply order, only what
// layer creates when it is not "".
func rendered(w *operator.World, layer string) []renderedObject {
	var out []renderedObject
	for _, o := range w.Objects() {
		if o.Owner == "" {
			continue // the VitessCluster itself
		}
		l := layerOf(o.Owner)
		if layer == "" || l == layer {
			out = append(out, renderedObject{o, l})
		}
	}
	return out
}

// layerOf is the layer that syncs parents of the key's kind.
func layerOf(key string) string {
	switch operator.KindOf(key) {
	case "VitessCluster":
		return "cluster"
	case "VitessCell":
		return "cell"
	case "VitessKeyspace":
		return "keyspace"
	case "VitessShard":
		return "shard"
	case "VitessTablet":
		return "tablet"
	}
	return ""
}

// writeObjects prints objects as YAML documents or a JSON List.
func writeObjects(w io.Writer, objs []renderedObject, output string) error {
	if output == "json" {
		items := make([]json.RawMessage, len(objs))
		for i, r := range objs {
			items[i] = r.obj.Applied
		}
		b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
		if err != nil {
			return fmt.Errorf("encode the objects: %w", err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return fmt.Errorf("indent the objects: %w", err)
		}
		out.WriteByte('\n')
		_, err = w.Write(out.Bytes())
		return err
	}
	for i, r := range objs {
		y, err := yaml.JSONToYAML(r.obj.Applied)
		if err != nil {
			return fmt.Errorf("%s %s as YAML: %w", r.obj.Kind, r.obj.Name, err)
		}
		owner := strings.Replace(r.obj.Owner, "/", " ", 1)
		if _, err := fmt.Fprintf(w, "---\n# %d. %s %s, from %s (%s layer)\n%s", i+1, r.obj.Kind, r.obj.Name, owner, r.layer, y); err != nil {
			return err
		}
	}
	return nil
}
