package standin

import (
	"testing"
	"time"
)

// TestLoad checks that the stand-in reads deploy/'s CompositeControllers
// as they are installed: one per layer, parent first, with the update
// strategies data safety depends on.
func TestLoad(t *testing.T) {
	ctrls, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	parents := []string{"VitessCluster", "VitessCell", "VitessKeyspace", "VitessShard", "VitessTablet"}
	for i, c := range ctrls {
		if c.Parent.Kind() != parents[i] {
			t.Errorf("controller %d (%s) has parent %q, want %s", i, c.Layer, c.Parent.Resource, parents[i])
		}
		if c.Raw["kind"] != "CompositeController" || len(c.Children) == 0 {
			t.Errorf("%s: kind %v, %d children", c.Layer, c.Raw["kind"], len(c.Children))
		}
	}
	want := map[string]string{"Pod.v1": Recreate, "PersistentVolumeClaim.v1": InPlace}
	for _, ch := range ctrls[4].Children {
		if m, ok := want[ch.Type()]; ok && ch.Method != m {
			t.Errorf("tablet %s: %s, want %s", ch.Type(), ch.Method, m)
		}
		delete(want, ch.Type())
	}
	if len(want) > 0 {
		t.Errorf("the tablet controller does not manage %v", want)
	}
}

// TestStockLimitOnAVirtualClock checks the token bucket the stand-in
// models: a burst of 10, then 5 requests a second, on virtual time; and no
// limit at all when unlimited.
func TestStockLimitOnAVirtualClock(t *testing.T) {
	tests := []struct {
		limit    Limit
		requests int
		want     time.Duration
	}{
		{Stock, 10, 0},
		{Stock, 11, 200 * time.Millisecond},
		{Stock, 60, 10 * time.Second},
		{Limit{QPS: 100, Burst: 200}, 300, time.Second},
		{Unlimited, 1000, 0},
	}
	for _, tt := range tests {
		c := &VirtualClock{}
		l := tt.limit.Limiter(c)
		for range tt.requests {
			l.Accept()
		}
		if got := c.Since(time.Time{}); got.Round(time.Millisecond) != tt.want {
			t.Errorf("%s: %d requests took %v, want %v", tt.limit, tt.requests, got, tt.want)
		}
	}
}
