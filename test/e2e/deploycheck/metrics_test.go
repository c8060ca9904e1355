package deploycheck

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/cluster/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
)

// exported scrapes a real layer service after a valid, an invalid and a
// refused call, and returns the metric names it exports.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	o, err := hook.ParseOptions("cluster", nil, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := hook.New(context.Background(), layer.Service, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile(golden.Fixture("original-example-sync-cluster.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	invalid := bytes.Replace(valid, []byte(`"start": "80"`), []byte(`"start": "40"`), 1)
	for _, body := range [][]byte{valid, invalid, []byte(`{`)} {
		svc.HTTP.ServeHTTP(httptest.NewRecorder(), golden.Post("/sync", body))
	}
	// A shard a backup schedule covers, for the series of its BackedUp.
	shards, err := hook.New(context.Background(), shard.Service, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	backups, err := os.ReadFile(filepath.Join("..", "..", "..", "services", "shard", "layer", "testdata", "backup-volume.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := golden.Recast(backups, shard.Service.ChildTypes)
	if err != nil {
		t.Fatal(err)
	}
	answer := httptest.NewRecorder()
	shards.HTTP.ServeHTTP(answer, golden.Post("/sync", b))
	if answer.Code != http.StatusOK {
		t.Fatalf("the shard layer answered %d: %s", answer.Code, answer.Body)
	}
	var scraped strings.Builder
	for _, s := range []*hook.Service{svc, shards} {
		w := httptest.NewRecorder()
		s.HTTP.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		scraped.WriteString(w.Body.String())
	}
	names := map[string]bool{}
	for _, line := range strings.Split(scraped.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f[2]+s] = true
				}
			}
		}
	}
	if !names["vtmeta_invalid_specs_total"] {
		t.Fatal("the invalid request did not reach vtmeta_invalid_specs_total; the scrape cannot vouch for it")
	}
	return names
}

// used returns the vtmeta metric names in PromQL expressions.
func used(exprs []string) []string {
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, n := range regexp.MustCompile(`\bvtmeta_[a-z_]+\b`).FindAllString(e, -1) {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	have := exported(t)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var dashExprs []string
	titles := ""
	for _, p := range dash.Panels {
		titles += p.Title + "\n"
		for _, tg := range p.Targets {
			dashExprs = append(dashExprs, tg.Expr)
		}
	}
	for _, want := range []string{"p50 / p90 / p99", "Requests per second", "Error ratio", "Request size", "Response size", "Children per sync", "in flight"} {
		if !strings.Contains(titles, want) {
			t.Errorf("the dashboard has no %q panel", want)
		}
	}
	rules := readRules(t)
	var ruleExprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			ruleExprs = append(ruleExprs, r.Expr)
		}
	}
	for what, exprs := range map[string][]string{"dashboard": dashExprs, "alerts": ruleExprs} {
		names := used(exprs)
		if len(names) == 0 {
			t.Errorf("the %s use no vtmeta metric", what)
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("the %s use %s, which the services do not export", what, n)
			}
		}
	}
}

func readRules(t *testing.T) ruleGroups {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "monitoring", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var r ruleGroups
	if err := yaml.UnmarshalStrict(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPrometheusRuleMatchesRules keeps the PrometheusRule (what the
// operator installs) equal to rules.yaml (what promtool checks and tests).
func TestPrometheusRuleMatchesRules(t *testing.T) {
	path := filepath.Join(deployDir, "monitoring", "prometheusrule.yaml")
	rules := readRules(t)
	if golden.Updating() {
		pr := map[string]any{
			"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
			"metadata": map[string]any{"name": "vtmeta", "namespace": "vtmeta-system", "labels": map[string]any{"app.kubernetes.io/part-of": "vtmeta"}},
			"spec":     rules,
		}
		b, err := yaml.Marshal(pr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append([]byte("# Generated from rules.yaml by the deploy check's -update; edit rules.yaml.\n"), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(b, &pr); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pr.Spec, rules) {
		t.Error("prometheusrule.yaml differs from rules.yaml: run go test ./deploycheck -update in test/e2e")
	}
}
