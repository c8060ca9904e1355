package rollout

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestWalkProperties walks random observed sets towards random desired
// states and checks, every time: at most one existing child moves; it is
// the first one out of date, and every child before it is up to date and
// healthy; every other out-of-date child is held byte for byte; missing
// children are created; and the answer keeps the desired order. Then it
// plays the walk out, children turning ready at random, checking each sync
// the same way, until the rollout finishes.
func TestWalkProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	images := []string{"v1", "v2", "v3"}
	for iter := range 2000 {
		n := 1 + rng.IntN(8)
		names := make([]string, n)
		want := map[string]string{}
		states := map[string]state{}
		for i := range n {
			names[i] = fmt.Sprintf("c%d", i)
			want[names[i]] = images[rng.IntN(len(images))]
			if rng.IntN(5) > 0 { // most children exist
				states[names[i]] = state{image: images[rng.IntN(len(images))], ready: rng.IntN(3) > 0, stale: rng.IntN(8) == 0}
			}
		}
		desired := make([]Child, n)
		for i, name := range names {
			desired[i] = cell(t, name, want[name])
		}
		obs := observe(t, states)
		res, err := Walk(desired, obs, Options{Owned: []Type{{Kind: "VitessCell", APIVersion: api}}})
		if err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		if err := checkWalk(desired, obs, res); err != nil {
			t.Fatalf("iteration %d (desired %v, observed %v): %v", iter, want, states, err)
		}
		// Play it out: apply the answer, let children turn ready at
		// random, walk again.
		for step := 0; ; step++ {
			if step > 200 {
				t.Fatalf("iteration %d: the rollout did not finish in 200 syncs: %v", iter, states)
			}
			states = apply(t, res.Children, states, rng)
			obs = observe(t, states)
			if res, err = Walk(desired, obs, Options{Owned: []Type{{Kind: "VitessCell", APIVersion: api}}}); err != nil {
				t.Fatal(err)
			}
			if err := checkWalk(desired, obs, res); err != nil {
				t.Fatalf("iteration %d step %d: %v", iter, step, err)
			}
			if res.Moving == "" && res.Updated == n && res.Ready == n {
				break
			}
		}
	}
}

// checkWalk checks one walk's answer against the rules.
func checkWalk(desired []Child, obs observed.Children, res Result) error {
	if len(res.Children) != len(desired) {
		return fmt.Errorf("%d children answered for %d desired", len(res.Children), len(desired))
	}
	moved := 0
	gate := true
	for i, c := range desired {
		got := res.Children[i].GetJson()
		o := obs.Get(c.Kind, c.APIVersion, c.Name)
		switch {
		case o == nil:
			if !bytes.Equal(got, c.JSON) {
				return fmt.Errorf("%s does not exist and was not created", c)
			}
			gate = false
		case observed.Hash(o) == c.Hash:
			if !bytes.Equal(got, c.JSON) {
				return fmt.Errorf("%s is up to date but not sent as desired", c)
			}
			healthy, _ := Healthy(o)
			gate = gate && healthy
		default:
			record, _ := observed.LastApplied(o)
			switch {
			case bytes.Equal(got, c.JSON):
				moved++
				if !gate {
					return fmt.Errorf("%s moved although a child before it is not up to date and healthy", c)
				}
				if res.Moving != c.String() {
					return fmt.Errorf("%s moved but the result names %q", c, res.Moving)
				}
			case bytes.Equal(got, record):
			default:
				return fmt.Errorf("%s is out of date and neither moved nor held", c)
			}
			gate = false
		}
	}
	if moved > 1 {
		return fmt.Errorf("%d existing children moved in one sync", moved)
	}
	return nil
}

// apply records what an answer applied, as Metacontroller would: a child
// whose bytes changed gets the new image and is not ready yet; children
// that were not ready turn ready with probability one half.
func apply(t *testing.T, children []*v1.Raw, states map[string]state, rng *rand.Rand) map[string]state {
	t.Helper()
	out := map[string]state{}
	for _, raw := range children {
		var c v1.VitessCell
		if err := kjson.Unmarshal(raw.GetJson(), &c); err != nil {
			t.Fatal(err)
		}
		name, image := c.GetMetadata().GetName(), c.GetSpec().GetVtgate().GetImage()
		s, ok := states[name]
		switch {
		case !ok || s.image != image:
			out[name] = state{image: image}
		default:
			s.ready = s.ready || rng.IntN(2) == 0
			s.stale = s.stale && rng.IntN(2) == 0
			out[name] = s
		}
	}
	return out
}
