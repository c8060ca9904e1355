package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/dynamic"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/plan"
	admit "github.com/vtmeta/vtmeta/internal/admission"
)

func (a *app) planCmd() *cobra.Command {
	var file, from, output string
	var fromCluster bool
	var lf layerFlags
	cmd := &cobra.Command{
		Use:   "plan -f NEW.yaml (--from OLD.yaml | --from-cluster)",
		Short: "Say what an edit of a VitessCluster will do: objects created, changed, retired, deleted, and the rollout step by step",
		Long: `plan brings the old spec up offline (every object as the layers render it,
all ready), applies the new spec, and lets the layers roll it out as they
would on a cluster, each child becoming ready as soon as it is written. It
prints what the edit changes, field by field, and the rollout in the order
the layers perform it, one step per write. Steps that touch data are marked
with "!": a claim deleted under reclaimPolicy Delete, a retired tablet, a
restarted primary-eligible tablet (it may be the primary).

--from-cluster reads the live VitessCluster of the new spec's name (in its
namespace, or --namespace) and plans against its spec, assuming the cluster
has settled on it. A new spec the apiserver or a layer would refuse is
reported instead, and the exit status is 1.`,
		Example: a.example(
			"vtmeta plan -f new.yaml --from old.yaml",
			"vtmeta plan -f cluster.yaml --from-cluster --context prod -n vitess",
			"vtmeta plan -f new.yaml --from old.yaml -o json | jq '.steps[] | select(.data)'"),
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case file == "":
				return usageError{errors.New("plan needs -f NEW.yaml")}
			case (from == "") == !fromCluster:
				return usageError{errors.New("plan needs exactly one of --from OLD.yaml and --from-cluster")}
			case output != "text" && output != "json":
				return usageError{fmt.Errorf("-o %q: use text or json", output)}
			}
			m, err := a.readCluster(file)
			if err != nil {
				return err
			}
			ns := a.namespace()
			newObj := prepare(m, ns)
			var oldObj map[string]any
			if fromCluster {
				if oldObj, err = a.liveCluster(cmd.Context(), newObj); err != nil {
					return err
				}
			} else {
				old, err := a.readCluster(from)
				if err != nil {
					return err
				}
				if old.Name() != m.Name() {
					return fmt.Errorf("%s names VitessCluster %s and %s names %s: plan compares two specs of one cluster", from, old.Name(), file, m.Name())
				}
				oldObj = prepare(old, ns)
			}
			o, err := newOffline(lf)
			if err != nil {
				return err
			}
			defer o.close()
			p, err := a.plan(cmd.Context(), o, m, oldObj, newObj)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), p)
			}
			return p.Write(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the new VitessCluster manifest (- reads standard input)")
	cmd.Flags().StringVar(&from, "from", "", "the old VitessCluster manifest")
	cmd.Flags().BoolVar(&fromCluster, "from-cluster", false, "plan against the live VitessCluster (kubeconfig, --context, --namespace)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	lf.add(cmd.Flags())
	return cmd
}

// plan runs the old spec to a settled world, then the new one, and
// computes what happened in between.
func (a *app) plan(ctx context.Context, o *offline, m manifest, oldObj, newObj map[string]any) (*plan.Plan, error) {
	oldStored, errs := o.admit(ctx, oldObj, nil)
	if len(errs) > 0 {
		return nil, fmt.Errorf("the old spec would be refused, so no cluster runs it: %v", errs.ToAggregate())
	}
	w := o.world()
	if err := converge(ctx, w, oldStored); err != nil {
		return nil, fmt.Errorf("bring up the old spec: %w", err)
	}
	if rs := refusals(w); len(rs) > 0 {
		return nil, fmt.Errorf("the old spec is refused by the layers (%s %s: %s): nothing runs it to plan from", rs[0].Kind, rs[0].Name, rs[0].Message)
	}
	before, mark := w.Snapshot(), len(w.Events)
	k := o.crds["VitessCluster"]
	newStored, errs := k.Admit(ctx, newObj, oldStored)
	if len(errs) > 0 {
		a.refused(m, "the apiserver refuses the edit", errs)
		return nil, errInvalid
	}
	ds, err := admit.Evaluate(ctx, o.policies, admit.Request{Operation: admission.Update, Resource: k.Resource(),
		Object: &unstructured.Unstructured{Object: newStored}, OldObject: &unstructured.Unstructured{Object: oldStored}})
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.Denies() {
			fmt.Fprintf(a.stderr, "%s: ValidatingAdmissionPolicy %s refuses the edit: %s\n", m, d.Policy, d.Message)
			return nil, errInvalid
		}
		fmt.Fprintf(a.stderr, "%s: warning from ValidatingAdmissionPolicy %s: %s\n", m, d.Policy, d.Message)
	}
	if err := converge(ctx, w, newStored); err != nil {
		return nil, fmt.Errorf("roll out the new spec: %w", err)
	}
	if rs := refusals(w); len(rs) > 0 {
		fmt.Fprintf(a.stderr, "%s: the layers refuse the edit and would hold every child as it is:\n", m)
		for _, r := range rs {
			fmt.Fprintf(a.stderr, "  %s %s: %s\n", r.Kind, r.Name, r.Message)
		}
		fmt.Fprintf(a.stderr, "Run '%s validate -f %s' for where and how to fix it.\n", a.self, m.File)
		return nil, errInvalid
	}
	return plan.Compute(before, w, w.Events[mark:]), nil
}

// liveCluster reads the live VitessCluster named like obj, as a user would
// apply it again: its spec and its own labels and annotations.
func (a *app) liveCluster(ctx context.Context, obj map[string]any) (map[string]any, error) {
	c, err := a.dynamicClient()
	if err != nil {
		return nil, err
	}
	md, _ := obj["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	live, err := c.Resource(clustersGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the live VitessCluster %s/%s: %w", ns, name, err)
	}
	annotations := live.GetAnnotations()
	delete(annotations, "kubectl.kubernetes.io/last-applied-configuration")
	out := map[string]any{
		"apiVersion": live.GetAPIVersion(), "kind": live.GetKind(),
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     live.Object["spec"],
	}
	if l := live.GetLabels(); len(l) > 0 {
		out["metadata"].(map[string]any)["labels"] = l
	}
	if len(annotations) > 0 {
		out["metadata"].(map[string]any)["annotations"] = annotations
	}
	return copyJSON(out), nil
}

// dynamicClient reaches the cluster of the kubeconfig and flags.
func (a *app) dynamicClient() (dynamic.Interface, error) {
	if a.dynamic != nil {
		return a.dynamic, nil
	}
	cfg, err := a.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	return c, nil
}

// writeJSON prints a value as indented JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return fmt.Errorf("indent: %w", err)
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}
