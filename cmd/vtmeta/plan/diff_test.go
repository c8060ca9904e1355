package plan

import (
	"encoding/json"
	"strings"
	"testing"
)

func value(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"equal", `{"a":1}`, `{"a":1}`, nil},
		{"scalar", `{"spec":{"image":"a"}}`, `{"spec":{"image":"b"}}`, []string{"spec.image: a → b"}},
		{"added and removed", `{"a":1}`, `{"b":""}`, []string{`a: 1 → (none)`, `b: (none) → ""`}},
		{"named list items by name, in any order",
			`{"containers":[{"name":"mysqld","image":"m"},{"name":"vttablet","image":"v1"}]}`,
			`{"containers":[{"name":"vttablet","image":"v2"},{"name":"mysqld","image":"m"}]}`,
			[]string{"containers[vttablet].image: v1 → v2"}},
		{"unnamed list by index, grown",
			`{"shards":[{"end":"80"},{"start":"80"}]}`, `{"shards":[{"end":"80"},{"start":"80","end":"c0"},{"start":"c0"}]}`,
			[]string{"shards[1].end: (none) → c0", `shards[2]: (none) → {"start":"c0"}`}},
		{"map keys with dots", `{"metadata":{"labels":{"vitess.io/cell":"a"}}}`, `{"metadata":{"labels":{"vitess.io/cell":"b"}}}`,
			[]string{"metadata.labels[vitess.io/cell]: a → b"}},
		{"the desired-hash annotation says nothing", `{"metadata":{"annotations":{"vitess.io/desired-hash":"1"}}}`,
			`{"metadata":{"annotations":{"vitess.io/desired-hash":"2"}}}`, nil},
		{"a large object added is shown field by field",
			`{"spec":{}}`, `{"spec":{"backup":{"storage":"s3","engine":"xtrabackup","flags":{"bucket":"acme-vitess-backups"}}}}`,
			[]string{"spec.backup.engine: (none) → xtrabackup", `spec.backup.flags: (none) → {"bucket":"acme-vitess-backups"}`, "spec.backup.storage: (none) → s3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range Compare(value(t, tt.old), value(t, tt.new)) {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestShow(t *testing.T) {
	long := strings.Repeat("x", 100)
	for v, want := range map[string]string{`"a b"`: "a b", `" a"`: `" a"`, `""`: `""`, `3`: "3", `true`: "true",
		`["` + long + `"]`: `["` + strings.Repeat("x", 55) + "..."} {
		if got := show(value(t, v)); got != want {
			t.Errorf("show(%s) = %s, want %s", v, got, want)
		}
	}
}
