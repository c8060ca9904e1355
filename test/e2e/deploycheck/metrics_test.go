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
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/cluster/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	"github.com/vtmeta/vtmeta/test/e2e/series"
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
	recorded, err := os.ReadFile(golden.Fixture("original-example-sync-cluster.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Recorded before the cluster layer had budgets: given the child
	// types it has now, as Metacontroller sends them.
	valid, err := golden.Recast(recorded, layer.Service.ChildTypes)
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := golden.Recast(bytes.Replace(recorded, []byte(`"start": "80"`), []byte(`"start": "40"`), 1), layer.Service.ChildTypes)
	if err != nil {
		t.Fatal(err)
	}
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
	// Its schedules' CronJobs, as the layer answered them (its golden
	// response), applied and succeeded once: the series of its last
	// backup's time.
	backups = withSucceededCronJobs(t, backups, filepath.Join("..", "..", "..", "services", "shard", "layer", "testdata", "backup-volume.response.json"))
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

// withSucceededCronJobs adds to a shard's request the CronJobs of its
// golden response as Metacontroller would observe them once applied
// (with the last-applied annotation), each with a last success.
func withSucceededCronJobs(t *testing.T, request []byte, response string) []byte {
	t.Helper()
	b, err := os.ReadFile(response)
	if err != nil {
		t.Fatal(err)
	}
	var req, resp map[string]any
	if err := json.Unmarshal(request, &req); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	cjs := map[string]any{}
	for _, c := range resp["children"].([]any) {
		obj := c.(map[string]any)
		if obj["kind"] != "CronJob" {
			continue
		}
		applied, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		meta := obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
		}
		ann["metacontroller.k8s.io/last-applied-configuration"] = string(applied)
		meta["annotations"] = ann
		obj["status"] = map[string]any{"lastSuccessfulTime": "2026-12-05T03:00:00Z"}
		cjs[meta["name"].(string)] = obj
	}
	if len(cjs) == 0 {
		t.Fatalf("%s has no CronJob", response)
	}
	req["children"].(map[string]any)["CronJob.batch/v1"] = cjs
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDashboardsAndAlertsUseRealSeries checks every series the dashboards
// and alerts name: vtmeta's own against what the services export, Vitess's
// and etcd's against the real scrape; up is Prometheus's own.
func TestDashboardsAndAlertsUseRealSeries(t *testing.T) {
	have := exported(t)
	scraped, err := series.ReadFixture(filepath.Join("..", "vitess", "testdata", "scraped-series.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"vtgate", "vttablet", "vtctld", "vtorc", "etcd"} {
		if len(scraped[c]) == 0 {
			t.Errorf("the scrape fixture has no series of %s", c)
		}
		for _, n := range scraped[c] {
			have[n] = true
		}
	}
	for n := range series.OnFirstEvent {
		have[n] = true
	}
	have["up"] = true
	monitoring := filepath.Join(deployDir, "monitoring")
	hooks, hookExprs, err := series.Dashboard(filepath.Join(monitoring, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p50 / p90 / p99", "Requests per second", "Error ratio", "Request size", "Response size", "Children per sync", "in flight"} {
		if !strings.Contains(hooks, want) {
			t.Errorf("the hook dashboard has no %q panel", want)
		}
	}
	vitess, vitessExprs, err := series.Dashboard(filepath.Join(monitoring, "vitess-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"queries per second by keyspace and tablet type", "p50 / p99", "errors per second by code", "serving and not serving", "Replication lag", "vtorc recoveries", "last backup"} {
		if !strings.Contains(vitess, want) {
			t.Errorf("the Vitess dashboard has no %q panel", want)
		}
	}
	ruleExprs, err := series.Rules(filepath.Join(monitoring, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for what, exprs := range map[string][]string{"hook dashboard": hookExprs, "Vitess dashboard": vitessExprs, "alerts": ruleExprs} {
		names, err := series.Used(exprs)
		if err != nil {
			t.Errorf("the %s: %v", what, err)
		}
		if len(names) == 0 {
			t.Errorf("the %s use no metric", what)
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("the %s use %s, which neither the services export nor the real scrape saw", what, n)
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
