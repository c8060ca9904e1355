package deploycheck

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// renderedPod is a Pod, or a Pod template, the layers render.
type renderedPod struct {
	owner  string
	labels map[string]string
	ports  []string
}

// renderedPods reads the Pods and Pod templates of the CLI's reviewed
// renders of the examples (cmd/vtmeta/testdata/render).
func renderedPods(t *testing.T) []renderedPod {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "cmd", "vtmeta", "testdata", "render", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no renders: %v", err)
	}
	var out []renderedPod
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			var o struct {
				Kind     string            `json:"kind"`
				Metadata metav1.ObjectMeta `json:"metadata"`
				Spec     struct {
					corev1.PodSpec
					Template    *corev1.PodTemplateSpec `json:"template"`
					JobTemplate *struct {
						Spec struct {
							Template corev1.PodTemplateSpec `json:"template"`
						} `json:"spec"`
					} `json:"jobTemplate"`
				} `json:"spec"`
			}
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var meta metav1.ObjectMeta
			var podSpec corev1.PodSpec
			switch {
			case o.Kind == "Pod":
				meta, podSpec = o.Metadata, o.Spec.PodSpec
			case (o.Kind == "Deployment" || o.Kind == "StatefulSet" || o.Kind == "Job") && o.Spec.Template != nil:
				meta, podSpec = o.Spec.Template.ObjectMeta, o.Spec.Template.Spec
			case o.Kind == "CronJob" && o.Spec.JobTemplate != nil:
				meta, podSpec = o.Spec.JobTemplate.Spec.Template.ObjectMeta, o.Spec.JobTemplate.Spec.Template.Spec
			default:
				continue
			}
			p := renderedPod{owner: filepath.Base(f) + ": " + o.Kind + " " + o.Metadata.Name, labels: meta.Labels}
			for _, c := range podSpec.Containers {
				for _, port := range c.Ports {
					p.ports = append(p.ports, port.Name)
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// discovered is what Prometheus's Kubernetes discovery knows of a Pod's
// port, as the labels relabeling starts from.
func discovered(p renderedPod, port string) labels.Labels {
	b := labels.NewScratchBuilder(0)
	for k, v := range p.labels {
		name := model.LabelName(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
				return r
			}
			return '_'
		}, k))
		b.Add("__meta_kubernetes_pod_label_"+string(name), v)
		b.Add("__meta_kubernetes_pod_labelpresent_"+string(name), "true")
	}
	b.Add("__meta_kubernetes_pod_container_port_name", port)
	b.Sort()
	return b.Labels()
}

// selects says whether a PodMonitor's selector picks a Pod.
func selects(m *podMonitor, l map[string]string) bool {
	for _, e := range m.Spec.Selector.MatchExpressions {
		v, ok := l[e.Key]
		switch e.Operator {
		case "Exists":
			if !ok {
				return false
			}
		case "In":
			if !ok || !slices.Contains(e.Values, v) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// relabelConfigs turns a PodMonitor endpoint's relabelings into
// Prometheus's own, as the Prometheus Operator writes them.
func relabelConfigs(t *testing.T, rs []relabeling) []*relabel.Config {
	t.Helper()
	var out []*relabel.Config
	for _, r := range rs {
		c := relabel.DefaultRelabelConfig
		c.NameValidationScheme = model.UTF8Validation
		if len(r.SourceLabels) > 0 {
			c.SourceLabels = nil
			for _, s := range r.SourceLabels {
				c.SourceLabels = append(c.SourceLabels, model.LabelName(s))
			}
		}
		c.TargetLabel = r.TargetLabel
		if r.Regex != "" {
			re, err := relabel.NewRegexp(r.Regex)
			if err != nil {
				t.Fatalf("relabeling %+v: %v", r, err)
			}
			c.Regex = re
		}
		if r.Replacement != nil {
			c.Replacement = *r.Replacement
		}
		if r.Action != "" {
			c.Action = relabel.Action(strings.ToLower(r.Action))
		}
		if err := c.Validate(model.UTF8Validation); err != nil {
			t.Fatalf("relabeling %+v: %v", r, err)
		}
		out = append(out, &c)
	}
	return out
}

// TestPodMonitorsScrapeEveryVitessProcess checks deploy/monitoring's
// PodMonitors against every Pod the layers render for the examples, with
// Prometheus's own relabeling: each vtgate, vttablet, vtctld, vtorc and
// etcd Pod is scraped once, on a port it has; nothing else is; every
// series gets its cluster, cell and component, and a tablet's its
// keyspace, shard as Vitess writes it, pool type and alias.
func TestPodMonitorsScrapeEveryVitessProcess(t *testing.T) {
	var monitors []*podMonitor
	for _, o := range monitoring(t)["PodMonitor"] {
		monitors = append(monitors, o.(*podMonitor))
	}
	if len(monitors) == 0 {
		t.Fatal("deploy/monitoring has no PodMonitor")
	}
	shard := regexp.MustCompile(`^([0-9a-f]*-[0-9a-f]*|0)$`)
	seen := map[string]int{}
	for _, p := range renderedPods(t) {
		component := p.labels["vitess.io/component"]
		var targets []labels.Labels
		for _, m := range monitors {
			if !m.Spec.NamespaceSelector.Any || !selects(m, p.labels) {
				continue
			}
			for _, ep := range m.Spec.PodMetricsEndpoints {
				if !slices.Contains(p.ports, ep.Port) {
					continue
				}
				if ep.Path != "/metrics" {
					t.Errorf("%s scrapes %s", m.Metadata.Name, ep.Path)
				}
				lb := labels.NewBuilder(discovered(p, ep.Port))
				if relabel.ProcessBuilder(lb, relabelConfigs(t, ep.Relabelings)...) {
					targets = append(targets, lb.Labels())
				}
			}
		}
		switch component {
		case "vtgate", "vttablet", "vtctld", "vtorc", "etcd":
			seen[component]++
			if len(targets) != 1 {
				t.Errorf("%s (%s): scraped %d times, want once", p.owner, component, len(targets))
				continue
			}
		default:
			if len(targets) != 0 {
				t.Errorf("%s (%s) is scraped; it serves no Vitess metrics", p.owner, component)
			}
			continue
		}
		got := targets[0].Map()
		want := map[string]string{"cluster": p.labels["vitess.io/cluster"], "cell": p.labels["vitess.io/cell"], "component": component}
		if component == "vttablet" {
			want["keyspace"] = p.labels["vitess.io/keyspace"]
			want["tablet_type"] = p.labels["vitess.io/tablet-type"]
			want["tablet"] = p.labels["vitess.io/cell"] + "-" + p.labels["vitess.io/tablet-uid"]
			if !shard.MatchString(got["shard"]) || strings.ReplaceAll(got["shard"], "-", "") != strings.ReplaceAll(strings.ReplaceAll(p.labels["vitess.io/shard"], "x", ""), "-", "") {
				t.Errorf("%s: shard %q from the label %q", p.owner, got["shard"], p.labels["vitess.io/shard"])
			}
		}
		for k, v := range want {
			if v == "" || got[k] != v {
				t.Errorf("%s: label %s = %q, want %q", p.owner, k, got[k], v)
			}
		}
	}
	for _, c := range []string{"vtgate", "vttablet", "vtctld", "vtorc", "etcd"} {
		if seen[c] == 0 {
			t.Errorf("the renders have no %s Pod to check", c)
		}
	}
}
