package kube

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vtmeta/vtmeta/internal/observed"
)

func TestChildIsCanonical(t *testing.T) {
	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"a": "b"}},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one},
	}
	c, err := Child("PodDisruptionBudget", "policy/v1", pdb)
	if err != nil {
		t.Fatal(err)
	}
	s := string(c.JSON)
	if strings.Contains(s, "creationTimestamp") || strings.Contains(s, `"status"`) || !strings.Contains(s, `"maxUnavailable":1`) {
		t.Errorf("child %s", s)
	}
	if !json.Valid(c.JSON) || pdb.Annotations[observed.HashAnnotation] != c.Hash || !strings.Contains(s, c.Hash) {
		t.Errorf("stamp: %s", s)
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": resource.MustParse("0.5"), "memory": resource.MustParse("1024Mi")}},
	}}}}
	b, err := Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"cpu":"500m"`) || !strings.Contains(string(b), `"memory":"1Gi"`) || !json.Valid(b) {
		t.Errorf("quantities must be canonical: %s", b)
	}
}
