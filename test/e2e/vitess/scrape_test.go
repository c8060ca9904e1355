//go:build linux

package vitess

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/test/e2e/series"
)

// monitoringDir is deploy/monitoring, from this package.
var monitoringDir = filepath.Join("..", "..", "..", "deploy", "monitoring")

// fixturePath is where the scrape's series names are kept for the static
// check of the dashboards and alerts (test/e2e/deploycheck).
var fixturePath = filepath.Join("testdata", "scraped-series.json")

// podMonitor is what a scrape needs of a PodMonitor: its Pod selector and
// endpoints.
type podMonitor struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port string `json:"port"`
			Path string `json:"path"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// podMonitors reads deploy/monitoring/podmonitors.yaml.
func podMonitors() ([]podMonitor, error) {
	b, err := os.ReadFile(filepath.Join(monitoringDir, "podmonitors.yaml"))
	if err != nil {
		return nil, err
	}
	var out []podMonitor
	d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var pm podMonitor
		if err := d.Decode(&pm); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("podmonitors.yaml: %w", err)
		}
		out = append(out, pm)
	}
}

// scrapeAll scrapes every Pod the shipped PodMonitors select, on the port
// and path they name, as Prometheus would, and returns the series names by
// component (the Pod's vitess.io/component label) and how many Pods each
// had.
func (s *scenario) scrapeAll(ctx context.Context) (series.Fixture, map[string]int, error) {
	pms, err := podMonitors()
	if err != nil {
		return nil, nil, err
	}
	out, pods := series.Fixture{}, map[string]int{}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, pm := range pms {
		sel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
		if err != nil {
			return nil, nil, fmt.Errorf("PodMonitor %s: %w", pm.Metadata.Name, err)
		}
		list, err := s.c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, nil, err
		}
		for _, p := range list.Items {
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
				continue
			}
			component := p.Labels["vitess.io/component"]
			for _, ep := range pm.Spec.PodMetricsEndpoints {
				port := namedPort(&p, ep.Port)
				if port == 0 {
					return nil, nil, fmt.Errorf("PodMonitor %s: Pod %s has no port named %s", pm.Metadata.Name, p.Name, ep.Port)
				}
				url := fmt.Sprintf("http://%s:%d%s", p.Status.PodIP, port, ep.Path)
				resp, err := client.Get(url)
				if err != nil {
					return nil, nil, fmt.Errorf("scrape %s (%s): %w", p.Name, url, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					return nil, nil, fmt.Errorf("scrape %s (%s): %s %v", p.Name, url, resp.Status, err)
				}
				out[component] = append(out[component], series.Names(body)...)
				pods[component]++
			}
		}
	}
	for c := range out {
		out[c] = slices.Compact(slices.Sorted(slices.Values(out[c])))
	}
	return out, pods, nil
}

// namedPort is the number of a Pod's container port of that name.
func namedPort(p *corev1.Pod, name string) int32 {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// scrape is Prometheus's view of the cluster, after the disruptions (so
// that vtorc has recovered something): every Pod the shipped PodMonitors
// select answers on the port they name, and every Vitess and etcd series
// the Vitess dashboard and the alerts select is exposed by a real process
// (or, for a series that appears on its first event, registered by one).
// With -update it rewrites the fixture test/e2e/deploycheck checks the
// dashboards and alerts against.
func (s *scenario) scrape(t *testing.T, ctx context.Context) {
	got, pods, err := s.scrapeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"vtgate", "vttablet", "vtctld", "vtorc", "etcd"} {
		if pods[c] == 0 || len(got[c]) == 0 {
			t.Errorf("no %s Pod was scraped (%d Pods, %d series)", c, pods[c], len(got[c]))
		}
	}
	used, err := series.Foreign(monitoringDir)
	if err != nil {
		t.Fatal(err)
	}
	var missing, eventOnly []string
	for _, n := range used {
		switch {
		case got.Has(n):
		case series.OnFirstEvent[n] != "":
			eventOnly = append(eventOnly, n)
		default:
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the Vitess dashboard and alerts select series no real process exposes: %s", strings.Join(missing, ", "))
	}
	var counts []string
	for _, c := range slices.Sorted(maps.Keys(got)) {
		counts = append(counts, fmt.Sprintf("%s %d series from %d Pods", c, len(got[c]), pods[c]))
	}
	line := fmt.Sprintf("scrape: %s; the dashboards and alerts select %d Vitess and etcd series, %d seen, not yet seen (they appear on their first event): %v",
		strings.Join(counts, ", "), len(used), len(used)-len(missing)-len(eventOnly), eventOnly)
	t.Log(line)
	fmt.Println(line)
	if golden.Updating() {
		if err := got.Write(fixturePath); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", fixturePath)
	}
}
