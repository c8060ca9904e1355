// Package series reads which metric series deploy/monitoring's dashboards
// and alerts select, and which series real processes expose, so that a
// test can hold one against the other: a panel or an alert on a series no
// process exports shows nothing and never fires.
package series

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Used returns the metric names PromQL expressions select, read from
// Prometheus's own parse of them (Grafana's interval variables filled in).
func Used(exprs []string) ([]string, error) {
	fill := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")
	seen := map[string]bool{}
	for _, e := range exprs {
		ast, err := parser.NewParser(parser.Options{}).ParseExpr(fill.Replace(e))
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", e, err)
		}
		parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
			if v, ok := n.(*parser.VectorSelector); ok && v.Name != "" {
				seen[v.Name] = true
			}
			return nil
		})
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// Dashboard returns a Grafana dashboard's panel titles (one per line) and
// its queries, the selectors of its label_values variables among them.
func Dashboard(path string) (titles string, exprs []string, err error) {
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any    `json:"query"`
				Type  string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		return "", nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	for _, p := range dash.Panels {
		titles += p.Title + "\n"
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		// label_values(<selector>, <label>): the selector is PromQL.
		q, ok := v.Query.(string)
		if !ok || v.Type != "query" || !strings.HasPrefix(q, "label_values(") {
			continue
		}
		q = strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
		if i := strings.LastIndex(q, ","); i > 0 {
			exprs = append(exprs, q[:i])
		}
	}
	return titles, exprs, nil
}

// Rules returns the expressions of a Prometheus rule file's rules.
func Rules(path string) ([]string, error) {
	var r struct {
		Groups []struct {
			Rules []struct {
				Expr string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("rules %s: %w", path, err)
	}
	var out []string
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			out = append(out, rule.Expr)
		}
	}
	return out, nil
}

// Foreign returns the series deploy/monitoring's Vitess dashboard and its
// alerts select that vtmeta's services do not export (vtmeta_*) and that
// Prometheus does not make itself (up): Vitess's and etcd's.
func Foreign(monitoring string) ([]string, error) {
	_, exprs, err := Dashboard(monitoring + "/vitess-dashboard.json")
	if err != nil {
		return nil, err
	}
	rules, err := Rules(monitoring + "/rules.yaml")
	if err != nil {
		return nil, err
	}
	names, err := Used(append(exprs, rules...))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == "up" || strings.HasPrefix(n, "vtmeta_") }), nil
}

// OnFirstEvent are series a process registers but exposes only once what
// they count first happens (a Vitess counter with labels has no sample
// before its first increment), each with where it is registered. A scrape
// of a healthy cluster need not hold them.
var OnFirstEvent = map[string]string{
	"vtorc_failed_recoveries": "vtorc's FailedRecoveries (go/vt/vtorc/logic/topology_recovery.go): a recovery that failed",
}

// Names returns the series names in a Prometheus text exposition.
func Names(exposition []byte) []string {
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			seen[line[:i]] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Fixture is the series names a real scrape saw, by component.
type Fixture map[string][]string

// ReadFixture reads a fixture file.
func ReadFixture(path string) (Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	return f, nil
}

// Write writes the fixture, its names sorted.
func (f Fixture) Write(path string) error {
	for c := range f {
		f[c] = slices.Compact(slices.Sorted(slices.Values(f[c])))
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Has says whether any component's scrape saw the name.
func (f Fixture) Has(name string) bool {
	for _, names := range f {
		if slices.Contains(names, name) {
			return true
		}
	}
	return false
}
