//go:build linux

package vitess

import (
	"errors"
	"testing"
	"time"
)

func TestShardPrimary(t *testing.T) {
	for _, tt := range []struct {
		name, out, want string
	}{
		{"a primary", `{
  "keyspace": "commerce",
  "name": "-80",
  "shard": {
    "primary_alias": {
      "cell": "zone2",
      "uid": 214747901
    },
    "primary_term_start_time": {"seconds": "1764943200", "nanoseconds": 0},
    "key_range": {"start": "", "end": "gA=="},
    "source_shards": [],
    "tablet_controls": [],
    "is_primary_serving": true
  }
}`, "zone2-0214747901"},
		{"none yet", `{"keyspace": "commerce", "name": "-80", "shard": {"primary_alias": null, "is_primary_serving": true}}`, ""},
	} {
		got, err := shardPrimary(tt.out)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := shardPrimary("rpc error: code = NotFound"); err == nil {
		t.Error("an answer that is no JSON: no error")
	}
}

func TestRecoveries(t *testing.T) {
	before, err := parseRecoveries([]byte(`{"RecoveriesCount": {"ElectNewPrimary.commerce.-80": 1, "ElectNewPrimary.commerce.80-": 1}, "SuccessfulRecoveries": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	after, err := parseRecoveries([]byte(`{"RecoveriesCount": {"ElectNewPrimary.commerce.-80": 1, "ElectNewPrimary.commerce.80-": 1, "RecoverDeadPrimary.commerce.-80": 1, "FixReplica.commerce.80-": 2, "RecoverPrimaryTabletDeleted.commerce.80-": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := after.Since(before)
	if got, want := d.String(), "FixReplica.commerce.80-: 2, RecoverDeadPrimary.commerce.-80: 1, RecoverPrimaryTabletDeleted.commerce.80-: 1"; got != want {
		t.Errorf("since: %s, want %s", got, want)
	}
	if d.Emergency() != 2 || before.Emergency() != 0 {
		t.Errorf("emergency reparents: %d and %d, want 2 and 0", d.Emergency(), before.Emergency())
	}
	if _, err := parseRecoveries([]byte("<html>")); err == nil {
		t.Error("a page that is no JSON: no error")
	}
}

func TestReport(t *testing.T) {
	at := time.Unix(0, 0)
	var ids [4]int64 // two ids of each shard
	n := map[string]int{}
	for id := int64(1); n["-80"] < 2 || n["80-"] < 2; id++ {
		sh := ShardOf(id)
		if n[sh] < 2 {
			ids[map[string]int{"-80": 0, "80-": 2}[sh]+n[sh]] = id
			n[sh]++
		}
	}
	writes := []Write{
		{ID: ids[0], At: at},
		{ID: ids[2], At: at, Err: errors.New("no primary")},
		{ID: ids[1], At: at.Add(7 * time.Second)},
		{ID: ids[3], At: at.Add(8 * time.Second)},
	}
	present := map[int64]bool{ids[0]: true, ids[1]: true}
	r := Report(writes, present)
	if len(r) != 2 {
		t.Fatalf("%d shards reported", len(r))
	}
	if r[0].String() != "shard -80: 2 writes acknowledged, 0 lost, 0 failed, longest gap between acknowledged writes 7s" {
		t.Errorf("%s", r[0])
	}
	if r[1].Acknowledged != 1 || r[1].Failed != 1 || len(r[1].Lost) != 1 || r[1].Lost[0] != ids[3] {
		t.Errorf("shard 80-: %+v, want one acknowledged and lost, one failed", r[1])
	}
}
