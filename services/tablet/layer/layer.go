// Package layer is the tablet layer's pure logic: one VitessTablet in, its
// Pod (vttablet, and mysqld run by mysqlctld) and its PersistentVolumeClaim
// out. The Pod is replaced when its spec changes; the claim is never
// replaced: once it exists, only a larger size is ever asked of it. A
// retired tablet has no Pod and keeps its claim.
package layer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// The child types of the tablet layer.
var (
	podType   = rollout.Type{Kind: "Pod", APIVersion: "v1"}
	claimType = rollout.Type{Kind: "PersistentVolumeClaim", APIVersion: "v1"}
	owned     = []rollout.Type{claimType, podType}
)

// Phase of a retired tablet.
const PhaseRetired = "Retired"

// Sync computes the Pod and claim of a VitessTablet and its status.
func Sync(ctx context.Context, req *v1.TabletSyncRequest) (*v1.TabletSyncResponse, error) {
	t := req.GetParent()
	obs := observed.Index(req.GetChildren())
	name := t.GetMetadata().GetName()
	gen := t.GetMetadata().GetGeneration()
	pod := obs.Get(podType.Kind, podType.APIVersion, name)
	claim := obs.Get(claimType.Kind, claimType.APIVersion, name)
	st := &v1.VitessTabletStatus{
		ObservedGeneration: gen, PodName: name, VolumeName: name,
		VolumeBound: claim.GetStatus().GetPhase() == "Bound",
		Phase:       cmp.Or(pod.GetStatus().GetPhase(), "Pending"),
	}
	fail := func(err error) (*v1.TabletSyncResponse, error) {
		return nil, fmt.Errorf("VitessTablet %s/%s: %w", t.GetMetadata().GetNamespace(), name, err)
	}
	claimJSON, drift, podChild, invalid := build(t, claim)
	var children []*v1.Raw
	var conds []*v1.Condition
	switch {
	case invalid != nil:
		// Freeze the claim and the Pod exactly as last applied.
		res, c, err := rollout.Plan(ctx, obs, invalid, nil, rollout.Options{Owned: owned})
		if err != nil {
			return fail(err)
		}
		children, conds = res.Children, c
	case t.GetSpec().GetRetired():
		// No Pod; the claim stays, as it was.
		children = []*v1.Raw{{Json: claimJSON}}
		st.Phase = PhaseRetired
		conds = phaseConditions(pod == nil, PhaseRetired, "the tablet left the spec: no Pod, volume "+name+" kept")
		if pod != nil {
			conds = phaseConditions(false, "Retiring", "the tablet left the spec; waiting for its Pod to go (its volume stays)")
		}
	case claim.GetStatus().GetPhase() == "Lost":
		// The volume is gone: change nothing, say so.
		children = []*v1.Raw{{Json: claimJSON}}
		if pod != nil {
			held, err := observed.LastApplied(pod)
			if err != nil {
				return fail(err)
			}
			children = append(children, &v1.Raw{Json: held})
		}
		conds = phaseConditions(false, "VolumeLost", "claim "+name+" is Lost: its PersistentVolume is gone; the Pod is held as it was: restore the volume, or delete the claim to start the tablet from a backup")
	default:
		// The claim never waits; the Pod is replaced when its spec changes.
		res, _, err := rollout.Plan(ctx, obs, nil,
			func() ([]rollout.Child, error) { return []rollout.Child{podChild}, nil },
			rollout.Options{Owned: []rollout.Type{podType}})
		if err != nil {
			return fail(err)
		}
		children = append([]*v1.Raw{{Json: claimJSON}}, res.Children...)
		// The tablet counts as updated once its Pod runs the current spec
		// and is Ready: then the shard can move on. Updated and Ready turn
		// True in the same sync, and the status moves twice per
		// replacement, not once per step of it: from the sync that
		// replaces the Pod (or finds it missing, going or starting) until
		// the new one is Ready, the tablet is Pending and not Ready,
		// whatever the step.
		st.Updated = res.States[0].Updated && res.States[0].Healthy
		if pod == nil || res.Moving != "" || pod.GetMetadata().GetDeletionTimestamp() != "" {
			st.Phase = "Pending"
		}
		conds = podConditions(name, st, claim)
	}
	if invalid == nil {
		stray, err := strayClaims(obs, name)
		if err != nil {
			return fail(err)
		}
		children = append(children, stray...)
		conds = append(conds, volumeCondition(drift))
	}
	conds = append(conds, podAvailable(t, pod, st.Phase == "Pending"))
	st.Conditions = conditions.Merge(t.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...)
	return &v1.TabletSyncResponse{Status: st, Children: children}, nil
}

// strayClaims holds, as last applied, every observed claim not named for
// the tablet. A tablet has one claim, of its own name, so there are none
// unless something renamed the parent or its children; whatever happened,
// a claim left out of the answer is deleted with its volume, so a claim the
// layer cannot explain is kept.
func strayClaims(obs observed.Children, name string) ([]*v1.Raw, error) {
	var out []*v1.Raw
	for _, n := range obs.Names(claimType.Kind, claimType.APIVersion) {
		if n == name {
			continue
		}
		b, err := observed.LastApplied(obs.Get(claimType.Kind, claimType.APIVersion, n))
		if err != nil {
			return nil, err
		}
		out = append(out, &v1.Raw{Json: b})
	}
	return out, nil
}

// podConditions are the conditions of a tablet that runs a Pod.
func podConditions(name string, st *v1.VitessTabletStatus, claim *v1.Object) []*v1.Condition {
	ready := conditions.New(conditions.Ready, true, "PodReady", "Pod "+name+" is Ready")
	switch {
	case claim != nil && !st.VolumeBound:
		ready = conditions.New(conditions.Ready, false, "VolumePending", "claim "+name+" is "+cmp.Or(claim.GetStatus().GetPhase(), "Pending")+", not Bound yet")
	case !st.Updated:
		ready = conditions.New(conditions.Ready, false, "PodNotReady", "Pod "+name+" is not Ready on the current spec yet")
	}
	if st.Updated {
		return []*v1.Condition{
			ready,
			conditions.New(conditions.Updated, true, "PodUpdated", "Pod "+name+" runs the current spec"),
			conditions.New(conditions.Progressing, false, "Complete", "rollout complete"),
		}
	}
	return []*v1.Condition{
		ready,
		conditions.New(conditions.Updated, false, "Rolling", "rolling Pod "+name),
		conditions.New(conditions.Progressing, true, "Rolling", "rolling Pod "+name),
	}
}

// podAvailable is the tablet's Available condition: its Pod serves
// (Ready), whatever spec it runs; a retired tablet serves nothing, nor one
// whose Pod this sync replaces (pending: said now, in the same status write
// as its Ready condition, rather than in one more when its Pod goes).
func podAvailable(t *v1.VitessTablet, pod *v1.Object, pending bool) *v1.Condition {
	switch {
	case t.GetSpec().GetRetired():
		return conditions.New(conditions.Available, false, PhaseRetired, "the tablet left the spec")
	case !pending && rollout.Available(pod):
		return conditions.New(conditions.Available, true, "Serving", "Pod "+pod.GetMetadata().GetName()+" is Ready")
	}
	return conditions.New(conditions.Available, false, "NotServing", "Pod "+t.GetMetadata().GetName()+" is not Ready")
}

// phaseConditions are the conditions of a tablet in a terminal or odd state.
func phaseConditions(ready bool, reason, msg string) []*v1.Condition {
	return []*v1.Condition{
		conditions.New(conditions.Ready, ready, reason, msg),
		conditions.New(conditions.Updated, ready, reason, msg),
		conditions.New(conditions.Progressing, false, reason, msg),
	}
}

// build returns the tablet's desired claim and Pod, or the spec problem
// that freezes them.
func build(t *v1.VitessTablet, observedClaim *v1.Object) ([]byte, []string, rollout.Child, error) {
	if err := check(t); err != nil {
		return nil, nil, rollout.Child{}, err
	}
	claim, drift, err := Claim(t, observedClaim)
	if err != nil {
		return nil, nil, rollout.Child{}, err
	}
	pod, err := Pod(t)
	if err != nil {
		return nil, nil, rollout.Child{}, err
	}
	c, err := kube.Child(podType.Kind, podType.APIVersion, pod)
	if err != nil {
		return nil, nil, rollout.Child{}, err
	}
	return claim, drift, c, nil
}

// VolumeMatchesSpec is the tablet condition that says whether its claim
// is what the spec asks; False names each field the claim keeps.
const VolumeMatchesSpec = "VolumeMatchesSpec"

// volumeCondition is the VolumeMatchesSpec condition of a claim's drift.
func volumeCondition(drift []string) *v1.Condition {
	if len(drift) == 0 {
		return conditions.New(VolumeMatchesSpec, true, "AsSpecified", "the claim is as the spec asks")
	}
	return conditions.New(VolumeMatchesSpec, false, "CannotChange", "the claim is kept as it is: "+strings.Join(drift, "; "))
}

// check refuses a tablet spec the layer cannot run.
func check(t *v1.VitessTablet) error {
	return spec.TabletObject(t.GetSpec())
}

// Claim returns the tablet's PersistentVolumeClaim. A new claim follows the
// pool's template. An existing one is sent back exactly as last applied,
// except that a larger requested size replaces its size (expansion in
// place, which the claim's storage class must allow). Nothing else of a
// claim can change once it is bound, so what the spec asks beyond that is
// returned as drift, one message per field, for a condition to say.
func Claim(t *v1.VitessTablet, observedClaim *v1.Object) ([]byte, []string, error) {
	want, err := newClaim(t)
	if err != nil {
		return nil, nil, err
	}
	if observedClaim == nil {
		b, err := kube.Marshal(want)
		return b, nil, err
	}
	last, err := observed.LastApplied(observedClaim)
	if err != nil {
		return nil, nil, err
	}
	var pvc map[string]any
	var held corev1.PersistentVolumeClaim
	if err := json.Unmarshal(last, &pvc); err != nil {
		return nil, nil, fmt.Errorf("read the claim's last-applied state: %w", err)
	}
	if err := json.Unmarshal(last, &held); err != nil {
		return nil, nil, fmt.Errorf("read the claim's last-applied state: %w", err)
	}
	drift := claimDrift(t.GetSpec().GetPool().GetVolumeClaim(), want, &held)
	size, cur := want.Spec.Resources.Requests[corev1.ResourceStorage], held.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.Cmp(cur) <= 0 {
		return last, drift, nil
	}
	sp, _ := pvc["spec"].(map[string]any)
	res, _ := sp["resources"].(map[string]any)
	req, _ := res["requests"].(map[string]any)
	if req == nil {
		return last, drift, nil
	}
	req["storage"] = size.String()
	b, err := kube.Marshal(pvc)
	return b, drift, err
}

// newClaim is the claim the pool's template asks for.
func newClaim(t *v1.VitessTablet) (*corev1.PersistentVolumeClaim, error) {
	s := t.GetSpec()
	claim, err := kube.ClaimSpec("spec.pool.volumeClaim", s.GetPool().GetVolumeClaim())
	if err != nil {
		return nil, err
	}
	return &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      t.GetMetadata().GetName(),
			Namespace: t.GetMetadata().GetNamespace(),
			Labels:    s.GetTemplate().GetMetadata().GetLabels(),
		},
		Spec: claim,
	}, nil
}

// claimDrift says, per field, what the template asks of an existing claim
// that the claim keeps as it is: every field but a larger size.
func claimDrift(tmpl *v1.PersistentVolumeClaimSpec, want, held *corev1.PersistentVolumeClaim) []string {
	const f = "spec.pool.volumeClaim."
	var out []string
	size, cur := want.Spec.Resources.Requests[corev1.ResourceStorage], held.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.Cmp(cur) < 0 {
		out = append(out, fmt.Sprintf("%sresources.requests.storage: %s is smaller than the claim's %s, and a volume cannot shrink", f, size.String(), cur.String()))
	}
	if tmpl.StorageClassName != nil && tmpl.GetStorageClassName() != ptrOr(held.Spec.StorageClassName, "") {
		out = append(out, fmt.Sprintf("%sstorageClassName: the claim keeps %q; a claim's storage class cannot change (to move the data, restore the tablet from a backup onto a new claim)", f, ptrOr(held.Spec.StorageClassName, "")))
	}
	if !slices.Equal(want.Spec.AccessModes, held.Spec.AccessModes) {
		out = append(out, fmt.Sprintf("%saccessModes: the claim keeps %v; a claim's access modes cannot change", f, held.Spec.AccessModes))
	}
	if tmpl.GetVolumeMode() != "" && tmpl.GetVolumeMode() != string(ptrOr(held.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)) {
		out = append(out, fmt.Sprintf("%svolumeMode: the claim keeps %s; a claim's volume mode cannot change", f, ptrOr(held.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)))
	}
	if len(tmpl.GetSelector().GetMatchLabels()) > 0 && (held.Spec.Selector == nil || !maps.Equal(held.Spec.Selector.MatchLabels, tmpl.GetSelector().GetMatchLabels())) {
		out = append(out, f+"selector: the claim keeps its selector; a bound claim's selector cannot change")
	}
	return out
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
