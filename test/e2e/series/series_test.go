package series

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestUsed(t *testing.T) {
	for _, tc := range []struct {
		exprs []string
		want  []string
		bad   bool
	}{
		{exprs: []string{`sum by (keyspace) (rate(vtgate_api_count{cluster="$cluster"}[$__rate_interval]))`}, want: []string{"vtgate_api_count"}},
		{exprs: []string{`a / b`, `histogram_quantile(0.99, sum by (le) (rate(c_bucket[5m])))`}, want: []string{"a", "b", "c_bucket"}},
		// A label named like a metric is no series.
		{exprs: []string{`count by (vttablet_queries_count) (up)`}, want: []string{"up"}},
		{exprs: []string{`sum(rate(x[5m]`}, bad: true},
	} {
		got, err := Used(tc.exprs)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want one: %v", tc.exprs, err, tc.bad)
			continue
		}
		if !tc.bad && !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.exprs, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	text := `# HELP vtgate_api_count Vtgate API query count
# TYPE vtgate_api_count counter
vtgate_api_count{db_type="primary",keyspace="commerce",operation="Execute"} 12
vtgate_api_bucket{le="0.005"} 1
up 1
go_goroutines 40

`
	if got, want := Names([]byte(text)), []string{"go_goroutines", "up", "vtgate_api_bucket", "vtgate_api_count"}; !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestFixtureRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	f := Fixture{"vtgate": {"b", "a", "b"}, "etcd": {"etcd_server_has_leader"}}
	if err := f.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["vtgate"], []string{"a", "b"}) || !got.Has("etcd_server_has_leader") || got.Has("c") {
		t.Errorf("read back %v", got)
	}
}

// TestForeign reads the repository's own monitoring: the Vitess series it
// selects, none of vtmeta's own.
func TestForeign(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "deploy", "monitoring")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	names, err := Foreign(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"vtgate_api_count", "vttablet_tablet_server_state", "etcd_server_has_leader"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not among %q", want, names)
		}
	}
	for _, n := range names {
		if n == "up" || n == "vtmeta_parent_last_backup_timestamp_seconds" {
			t.Errorf("%s is not foreign", n)
		}
	}
}
