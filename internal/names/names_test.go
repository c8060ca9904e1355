package names

import (
	"regexp"
	"strings"
	"testing"
)

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func TestJoin(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"original cell", []string{"vitess", "global"}, "vitess-global"},
		{"empty parts dropped", []string{"vitess", "", "zone1"}, "vitess-zone1"},
		{"lowercased", []string{"Vitess", "Zone1"}, "vitess-zone1"},
		{"exactly the limit", []string{strings.Repeat("b", 63)}, strings.Repeat("b", 63)},
		{"too long", []string{long, "zone1", "main"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Join(tt.parts...)
			if tt.want != "" && got != tt.want {
				t.Errorf("Join = %q, want %q", got, tt.want)
			}
			if len(got) > MaxLength || !dns1123.MatchString(got) {
				t.Errorf("Join = %q (%d chars) is not a DNS-1123 label", got, len(got))
			}
		})
	}
	a := Join(long, "zone1", "main")
	b := Join(long, "zone1", "other")
	if a == b {
		t.Errorf("distinct long names collide: %q", a)
	}
	if a != Join(long, "zone1", "main") {
		t.Error("Join is not deterministic")
	}
}

func TestShardNames(t *testing.T) {
	tests := map[string]string{"-80": "x-80", "80-": "80-x", "40-80": "40-80", "0": "0", "-": "x-x"}
	for in, want := range tests {
		if got := Shard(in); got != want {
			t.Errorf("Shard(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ShardObject("vitess", "zone1", "main", "-80"); got != "vitess-zone1-main-x-80" {
		t.Errorf("ShardObject = %q", got)
	}
}

func TestEtcdLeavesRoomForOrdinals(t *testing.T) {
	e := Etcd(strings.Repeat("c", 80))
	if len(e)+4 > MaxLength {
		t.Errorf("Etcd name %q leaves no room for a Pod ordinal", e)
	}
	if len(EtcdClient(strings.Repeat("c", 80))) > MaxLength {
		t.Error("EtcdClient too long")
	}
}

func TestValid(t *testing.T) {
	for _, tt := range []struct {
		kind, name string
		ok         bool
	}{
		{"Service", "db-zone1-vtgate", true},
		{"Service", "2024-db-zone1-vtgate", false},
		{"Pod", "2024-db-vttablet-zone1-1700000000", true},
		{"Pod", "db-vttablet-zone_1-1700000000", false},
		{"VitessShard", "db-zone1-main-x-80", true},
		{"Job", strings.Repeat("a", 64), false},
	} {
		if err := Valid(tt.kind, tt.name); (err == nil) != tt.ok {
			t.Errorf("Valid(%s, %s) = %v, want ok %v", tt.kind, tt.name, err, tt.ok)
		}
	}
}
