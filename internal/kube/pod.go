package kube

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Resources converts a resources block; a bad quantity is a spec problem
// naming its field.
func Resources(field string, r *v1.ResourceRequirements) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	for _, part := range []struct {
		name string
		in   map[string]string
		out  *corev1.ResourceList
	}{{"limits", r.GetLimits(), &out.Limits}, {"requests", r.GetRequests(), &out.Requests}} {
		for k, v := range part.in {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return out, &spec.FieldError{Field: field + "." + part.name + "." + k, Reason: "InvalidQuantity",
					Message: fmt.Sprintf("%q is not a quantity: write it like 500m, 2, 512Mi or 10Gi", v)}
			}
			if *part.out == nil {
				*part.out = corev1.ResourceList{}
			}
			(*part.out)[corev1.ResourceName(k)] = q
		}
	}
	return out, nil
}

// Embedded decodes an embedded Kubernetes object into its type; one that
// does not fit is a spec problem naming its field.
func Embedded(field string, raw []byte, into any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return &spec.FieldError{Field: field, Reason: "InvalidObject", Message: fmt.Sprintf("not a valid %T: %v", into, err)}
	}
	return nil
}

// Schedule sets where a Pod may run from a scheduling block.
func Schedule(field string, s *v1.Scheduling, pod *corev1.PodSpec) error {
	if raw := s.GetAffinity().GetJson(); len(raw) > 0 {
		pod.Affinity = &corev1.Affinity{}
		if err := Embedded(field+".affinity", raw, pod.Affinity); err != nil {
			return err
		}
	}
	for i, r := range s.GetTolerations() {
		var t corev1.Toleration
		if err := Embedded(fmt.Sprintf("%s.tolerations[%d]", field, i), r.GetJson(), &t); err != nil {
			return err
		}
		pod.Tolerations = append(pod.Tolerations, t)
	}
	for i, r := range s.GetTopologySpreadConstraints() {
		var c corev1.TopologySpreadConstraint
		if err := Embedded(fmt.Sprintf("%s.topologySpreadConstraints[%d]", field, i), r.GetJson(), &c); err != nil {
			return err
		}
		pod.TopologySpreadConstraints = append(pod.TopologySpreadConstraints, c)
	}
	pod.NodeSelector = s.GetNodeSelector()
	pod.PriorityClassName = s.GetPriorityClassName()
	return nil
}

// SecurityContext is the Pod security context: vtmeta's safe default
// (non-root as uid and gid 999, the vitess and mysql users of the images;
// RuntimeDefault seccomp; volumes re-owned only when their root is not the
// Pod's group yet, so a large data volume is not walked on every start),
// or the spec's own, which replaces it whole.
func SecurityContext(field string, raw []byte) (*corev1.PodSecurityContext, error) {
	if len(raw) > 0 {
		sc := &corev1.PodSecurityContext{}
		return sc, Embedded(field, raw, sc)
	}
	uid := int64(999)
	onRootMismatch := corev1.FSGroupChangeOnRootMismatch
	return &corev1.PodSecurityContext{
		RunAsNonRoot:        ptr(true),
		RunAsUser:           &uid,
		RunAsGroup:          &uid,
		FSGroup:             &uid,
		FSGroupChangePolicy: &onRootMismatch,
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}, nil
}

// ContainerSecurity is the container security context of every vtmeta
// container: no privilege escalation, no capabilities.
func ContainerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func ptr[T any](v T) *T { return &v }

// ClaimSpec converts a volume claim template: its size (required, above
// zero), access modes (ReadWriteOnce by default), storage class, volume
// mode and selector.
func ClaimSpec(field string, tmpl *v1.PersistentVolumeClaimSpec) (corev1.PersistentVolumeClaimSpec, error) {
	var out corev1.PersistentVolumeClaimSpec
	size := tmpl.GetResources().GetRequests()["storage"]
	q, err := resource.ParseQuantity(size)
	if err != nil || q.Sign() <= 0 {
		return out, &spec.FieldError{Field: field + ".resources.requests.storage", Reason: "InvalidQuantity",
			Message: fmt.Sprintf("%q is not a size above zero: write it like 10Gi", size)}
	}
	modes := tmpl.GetAccessModes()
	if len(modes) == 0 {
		modes = []string{string(corev1.ReadWriteOnce)}
	}
	for _, m := range modes {
		out.AccessModes = append(out.AccessModes, corev1.PersistentVolumeAccessMode(m))
	}
	out.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: q}
	if tmpl != nil {
		out.StorageClassName = tmpl.StorageClassName
	}
	if tmpl.GetVolumeMode() != "" {
		mode := corev1.PersistentVolumeMode(tmpl.GetVolumeMode())
		out.VolumeMode = &mode
	}
	if sel := tmpl.GetSelector(); len(sel.GetMatchLabels()) > 0 {
		out.Selector = &metav1.LabelSelector{MatchLabels: sel.GetMatchLabels()}
	}
	return out, nil
}
