// Package deploycheck checks what deploy/ renders, without a cluster: every
// overlay and component builds with kustomize, every object decodes
// strictly into its API type, the five services stay apart, each layer's
// image is set in one place, every CompositeController reaches its
// service, and the dashboard and alerts only use metrics the services
// really export.
package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

const deployDir = "../../../deploy"

var layers = []string{"cluster", "cell", "keyspace", "shard", "tablet"}

// object is one rendered object.
type object struct {
	Kind string
	Name string
	JSON []byte
}

// build renders a kustomization directory.
func build(t *testing.T, dir string) []object {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Render(abs)
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	for _, o := range objs {
		b, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, object{Kind: o.GetKind(), Name: o.GetName(), JSON: b})
	}
	return out
}

// decodeStrict decodes an object into its API type, refusing unknown fields.
func decodeStrict(o object, into any) error {
	dec := json.NewDecoder(bytes.NewReader(o.JSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind, o.Name, err)
	}
	return nil
}

// typed decodes every object strictly by kind and returns them by kind.
func typed(t *testing.T, objs []object) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, o := range objs {
		var v any
		switch o.Kind {
		case "Deployment":
			v = &appsv1.Deployment{}
		case "Service":
			v = &corev1.Service{}
		case "ServiceAccount":
			v = &corev1.ServiceAccount{}
		case "Namespace":
			v = &corev1.Namespace{}
		case "ConfigMap":
			v = &corev1.ConfigMap{}
		case "PodDisruptionBudget":
			v = &policyv1.PodDisruptionBudget{}
		case "NetworkPolicy":
			v = &networkingv1.NetworkPolicy{}
		case "HorizontalPodAutoscaler":
			v = &autoscalingv2.HorizontalPodAutoscaler{}
		case "ValidatingAdmissionPolicy":
			v = &admissionv1.ValidatingAdmissionPolicy{}
		case "ValidatingAdmissionPolicyBinding":
			v = &admissionv1.ValidatingAdmissionPolicyBinding{}
		case "CustomResourceDefinition":
			v = &apiextv1.CustomResourceDefinition{}
		case "CompositeController":
			v = &compositeController{}
		case "ServiceMonitor":
			v = &serviceMonitor{}
		case "PrometheusRule":
			v = &prometheusRule{}
		case "PodMonitor":
			v = &podMonitor{}
		default:
			t.Errorf("%s %s: no schema check for this kind", o.Kind, o.Name)
			continue
		}
		if err := decodeStrict(o, v); err != nil {
			t.Error(err)
			continue
		}
		out[o.Kind] = append(out[o.Kind], v)
	}
	return out
}

func overlay(l string) string { return filepath.Join(deployDir, "overlays", l) }

// TestOverlays builds each layer's overlay and checks what it renders.
func TestOverlays(t *testing.T) {
	crdPlurals := map[string]bool{}
	for _, o := range typed(t, build(t, filepath.Join(deployDir, "crds")))["CustomResourceDefinition"] {
		crdPlurals[o.(*apiextv1.CustomResourceDefinition).Spec.Names.Plural] = true
	}
	for _, l := range layers {
		t.Run(l, func(t *testing.T) {
			objs := typed(t, build(t, overlay(l)))
			for kind, n := range map[string]int{"Deployment": 1, "Service": 1, "ServiceAccount": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1, "CompositeController": 1} {
				if len(objs[kind]) != n {
					t.Fatalf("%d %s, want %d", len(objs[kind]), kind, n)
				}
			}
			d := objs["Deployment"][0].(*appsv1.Deployment)
			svc := objs["Service"][0].(*corev1.Service)
			cc := objs["CompositeController"][0].(*compositeController)
			name := "vtmeta-" + l
			if d.Name != name || svc.Name != name || cc.Metadata.Name != name {
				t.Errorf("names %s, %s, %s; want %s", d.Name, svc.Name, cc.Metadata.Name, name)
			}
			// Hardened, token-less pods.
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken ||
				pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
				pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
				c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
				c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation ||
				len(c.SecurityContext.Capabilities.Drop) != 1 || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
				t.Error("the hook pod is not hardened: token, non-root, seccomp, read-only root, no escalation, no capabilities")
			}
			// The image is set once, in the overlay, for this layer.
			k := readKustomization(t, overlay(l))
			if len(k.Images) != 1 || k.Images[0].Name != "vtmeta-hook" {
				t.Fatalf("overlay images %+v: want one entry for vtmeta-hook", k.Images)
			}
			want := k.Images[0].NewName + ":" + k.Images[0].NewTag
			if c.Image != want || !strings.HasSuffix(k.Images[0].NewName, "/vtmeta-"+l) {
				t.Errorf("image %s, want %s for the %s layer", c.Image, want, l)
			}
			// The selector picks this layer's pods only; the Service and PDB use it.
			sel := labels.SelectorFromSet(d.Spec.Selector.MatchLabels)
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) || d.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != l {
				t.Errorf("selector %v", d.Spec.Selector.MatchLabels)
			}
			if !equalMaps(svc.Spec.Selector, d.Spec.Selector.MatchLabels) ||
				!equalMaps(objs["PodDisruptionBudget"][0].(*policyv1.PodDisruptionBudget).Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) ||
				!equalMaps(objs["NetworkPolicy"][0].(*networkingv1.NetworkPolicy).Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Error("Service, PodDisruptionBudget and NetworkPolicy must select exactly the Deployment's pods")
			}
			// The CompositeController reaches this service and manages a known kind.
			if !crdPlurals[cc.Spec.ParentResource.Resource] {
				t.Errorf("parent resource %s is not one of deploy/crds", cc.Spec.ParentResource.Resource)
			}
			h := cc.Spec.Hooks.Sync
			if h == nil || h.Webhook == nil || h.Webhook.Service == nil {
				t.Fatal("sync hook has no webhook service")
			}
			if s := h.Webhook.Service; s.Name != svc.Name || s.Namespace != svc.Namespace || !hasPort(svc, *s.Port) || *h.Webhook.Path != "/sync" {
				t.Errorf("sync hook goes to %s/%s:%d%s, not to service %s/%s", s.Namespace, s.Name, *s.Port, *h.Webhook.Path, svc.Namespace, svc.Name)
			}
			// What Metacontroller's rate-limited client spends on each parent.
			if cc.Spec.Hooks.Finalize != nil {
				t.Error("a finalize hook costs a finalizer update per object and slows deletes; no layer acts on finalize")
			}
			if p := cc.Spec.ParentResource.IgnoreStatusChanges; p == nil || !*p {
				t.Error("parentResource.ignoreStatusChanges must be true: a parent's own status write must not cost another sync")
			}
			if r := cc.Spec.ResyncPeriodSeconds; r == nil || *r < 300 {
				t.Errorf("resyncPeriodSeconds %v: each resync reads every parent through Metacontroller's client; at least 300", r)
			}
			for _, ch := range cc.Spec.ChildResources {
				m := ch.UpdateStrategy.Method
				if !slices.Contains([]string{"InPlace", "Recreate"}, m) {
					t.Errorf("child %s uses %s: vtmeta orders rollouts itself (InPlace, Recreate for Pods and Jobs)", ch.Resource, m)
				}
				if (ch.Resource == "pods") != (m == "Recreate" && ch.Resource != "jobs") && ch.Resource != "jobs" {
					t.Errorf("child %s: Pods are Recreated, everything else (but Jobs) InPlace", ch.Resource)
				}
				if ch.Resource == "persistentvolumeclaims" && m != "InPlace" {
					t.Error("claims must be InPlace: never replaced, and the tablet layer's larger size must reach them")
				}
			}
		})
	}
}

// TestSelectorsAreDisjoint makes sure no layer's service, PDB or policy
// selects another layer's pods.
func TestSelectorsAreDisjoint(t *testing.T) {
	deps := map[string]*appsv1.Deployment{}
	for _, l := range layers {
		deps[l] = typed(t, build(t, overlay(l)))["Deployment"][0].(*appsv1.Deployment)
	}
	for _, a := range layers {
		for _, b := range layers {
			if a != b && labels.SelectorFromSet(deps[a].Spec.Selector.MatchLabels).Matches(labels.Set(deps[b].Spec.Template.Labels)) {
				t.Errorf("the %s selector matches the %s pods", a, b)
			}
		}
	}
}

// TestAll checks the one-apply install.
func TestAll(t *testing.T) {
	objs := typed(t, build(t, overlay("all")))
	for kind, n := range map[string]int{"CustomResourceDefinition": 5, "Deployment": 5, "Service": 5, "CompositeController": 5,
		"ValidatingAdmissionPolicy": 3, "ValidatingAdmissionPolicyBinding": 3, "Namespace": 1} {
		if len(objs[kind]) != n {
			t.Errorf("%d %s, want %d", len(objs[kind]), kind, n)
		}
	}
	policies := map[string]*admissionv1.ValidatingAdmissionPolicy{}
	for _, o := range objs["ValidatingAdmissionPolicy"] {
		vap := o.(*admissionv1.ValidatingAdmissionPolicy)
		policies[vap.Name] = vap
	}
	bindings := map[string]*admissionv1.ValidatingAdmissionPolicyBinding{}
	for _, o := range objs["ValidatingAdmissionPolicyBinding"] {
		b := o.(*admissionv1.ValidatingAdmissionPolicyBinding)
		bindings[b.Spec.PolicyName] = b
	}
	for _, p := range []struct {
		name, op, expr string
		action         admissionv1.ValidationAction
	}{
		{"vtmeta-deletion-protection", "DELETE", "deletionProtection", admissionv1.Deny},
		{"vtmeta-supported-images", "CREATE", "variables.old.size() == 0", admissionv1.Warn},
		{"vtmeta-reserved-keys", "UPDATE", "variables.reserved.size() == 0", admissionv1.Deny},
	} {
		vap := policies[p.name]
		if vap == nil {
			t.Errorf("no policy %s", p.name)
			continue
		}
		rule := vap.Spec.MatchConstraints.ResourceRules[0]
		if !slices.Contains(rule.Operations, admissionv1.OperationType(p.op)) || !slices.Contains(rule.Resources, "vitessclusters") ||
			!strings.Contains(vap.Spec.Validations[0].Expression, p.expr) {
			t.Errorf("policy %s: %+v", p.name, vap.Spec)
		}
		if b := bindings[p.name]; b == nil || !slices.Equal(b.Spec.ValidationActions, []admissionv1.ValidationAction{p.action}) {
			t.Errorf("policy %s is not bound to %s: %+v", p.name, p.action, b)
		}
	}
}

// monitoring renders the monitoring component on its own.
func monitoring(t *testing.T) map[string][]any {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "kustomization.yaml"), fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
components:
- %s
`, rel(t, dir, filepath.Join(deployDir, "monitoring"))))
	return typed(t, build(t, dir))
}

// TestComponents turns every optional component on at once.
func TestComponents(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string { return rel(t, dir, filepath.Join(deployDir, p)) }
	write(t, filepath.Join(dir, "kustomization.yaml"), fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- %s
components:
- %s
- %s
- %s
- %s
`, abs("overlays/all"), abs("components/tls"), abs("components/bearer-token"), abs("components/etag"), abs("monitoring")))
	objs := typed(t, build(t, dir))
	for _, o := range objs["Deployment"] {
		d := o.(*appsv1.Deployment)
		env := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["VTMETA_ETAG"] != "true" || env["VTMETA_TLS_CERT_FILE"] == "" || env["VTMETA_BEARER_TOKEN_FILE"] == "" ||
			len(d.Spec.Template.Spec.Volumes) != 2 || len(d.Spec.Template.Spec.Containers[0].VolumeMounts) != 2 {
			t.Errorf("%s: env %v, %d volumes", d.Name, env, len(d.Spec.Template.Spec.Volumes))
		}
	}
	for _, o := range objs["CompositeController"] {
		cc := o.(*compositeController)
		w := cc.Spec.Hooks.Sync.Webhook
		if w.Etag == nil || !*w.Etag.Enabled || w.CABundle == nil || w.Authorization == nil || *w.Service.Protocol != "https" || *w.Service.Port != 443 {
			t.Errorf("%s: sync webhook %+v", cc.Metadata.Name, w)
		}
	}
	for _, o := range objs["Service"] {
		if s := o.(*corev1.Service); !hasPort(s, 443) {
			t.Errorf("%s has no 443 port under TLS", s.Name)
		}
	}
	if len(objs["ServiceMonitor"]) != 1 || len(objs["PrometheusRule"]) != 1 || len(objs["ConfigMap"]) != 1 {
		t.Errorf("monitoring: %d ServiceMonitor, %d PrometheusRule, %d ConfigMap", len(objs["ServiceMonitor"]), len(objs["PrometheusRule"]), len(objs["ConfigMap"]))
	}
	if cm := objs["ConfigMap"][0].(*corev1.ConfigMap); cm.Labels["grafana_dashboard"] != "1" || !json.Valid([]byte(cm.Data["vtmeta-hooks.json"])) || !json.Valid([]byte(cm.Data["vitess.json"])) {
		t.Error("the dashboard ConfigMap must carry grafana_dashboard=1 and both dashboards' JSON")
	}
	if len(objs["PodMonitor"]) != 2 {
		t.Errorf("monitoring: %d PodMonitors, want vitess and vitess-etcd", len(objs["PodMonitor"]))
	}
}

// TestHPA adds the HPA component to a layer's overlay.
func TestHPA(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(overlay("shard"), "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k := strings.Replace(string(src), "- ../../base", "- "+rel(t, dir, filepath.Join(deployDir, "base")), 1) +
		"components:\n- " + rel(t, dir, filepath.Join(deployDir, "components", "hpa")) + "\n"
	write(t, filepath.Join(dir, "kustomization.yaml"), k)
	objs := typed(t, build(t, dir))
	h := objs["HorizontalPodAutoscaler"]
	if len(h) != 1 || h[0].(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef.Name != "vtmeta-shard" {
		t.Errorf("HPA %+v must scale vtmeta-shard", h)
	}
}

func readKustomization(t *testing.T, dir string) types.Kustomization {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k types.Kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

// rel is path relative to dir: kustomize refuses absolute resource paths.
func rel(t *testing.T, dir, path string) string {
	t.Helper()
	a, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := filepath.Rel(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hasPort(s *corev1.Service, port int32) bool {
	return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port })
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// metacontrollerFlags are the flags of Metacontroller v4.17.2 that set its
// client rate and workers (pkg/cmd/metacontroller/main.go), and the values
// the component gives them.
var metacontrollerFlags = map[string]string{"--client-go-qps": "50", "--client-go-burst": "100", "--workers": "10"}

// TestMetacontrollerClientComponent applies the component to a workload
// shaped like Metacontroller's (a StatefulSet, as its manifests ship it,
// and a Deployment) and checks the flags come last, after the ones it
// already had.
func TestMetacontrollerClientComponent(t *testing.T) {
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "workload.yaml"), fmt.Sprintf(`apiVersion: apps/v1
kind: %s
metadata: {name: metacontroller, namespace: metacontroller}
spec:
  selector: {matchLabels: {app: metacontroller}}
  template:
    metadata: {labels: {app: metacontroller}}
    spec:
      containers:
      - name: metacontroller
        image: metacontroller
        args: [--zap-log-level=4, --workers=5]
`, kind))
			write(t, filepath.Join(dir, "kustomization.yaml"), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- workload.yaml
components:
- `+rel(t, dir, filepath.Join(deployDir, "components", "metacontroller-client"))+"\n")
			objs := build(t, dir)
			if len(objs) != 1 {
				t.Fatalf("%d objects, want the workload alone", len(objs))
			}
			var w struct {
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(objs[0].JSON, &w); err != nil || len(w.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("%s: %v", objs[0].JSON, err)
			}
			args := w.Spec.Template.Spec.Containers[0].Args
			last := map[string]string{}
			for _, a := range args {
				if k, v, ok := strings.Cut(a, "="); ok {
					last[k] = v
				}
			}
			for flag, want := range metacontrollerFlags {
				if last[flag] != want {
					t.Errorf("%s=%s in effect, want %s (args %v)", flag, last[flag], want, args)
				}
			}
			if args[0] != "--zap-log-level=4" {
				t.Errorf("the workload's own args are gone: %v", args)
			}
		})
	}
}
