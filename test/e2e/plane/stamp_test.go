package plane

import "testing"

// A cache built before kubectl had a build of its own (one stamp for the
// plane and kubectl) is still used for both; anything else is rebuilt.
func TestStamps(t *testing.T) {
	old := planeStamp() + " kubectl"
	for _, tc := range []struct {
		name            string
		plane           string // the plane's stamp
		kubectl         string // kubectl's own stamp
		planeOK, kubeOK bool
	}{
		{"nothing built", "", "", false, false},
		{"an earlier release's stamp", old, "", true, true},
		{"the plane alone", planeStamp(), "", true, false},
		{"the plane, then kubectl", planeStamp(), KubernetesVersion, true, true},
		{"another Kubernetes", "v1.0.0 " + KwokVersion + " kubectl", "v1.0.0", false, false},
		{"another kwok", KubernetesVersion + " v0.0.1", KubernetesVersion, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planeBuilt(tc.plane); got != tc.planeOK {
				t.Errorf("planeBuilt(%q) = %v, want %v", tc.plane, got, tc.planeOK)
			}
			if got := kubectlBuilt(tc.kubectl, tc.plane); got != tc.kubeOK {
				t.Errorf("kubectlBuilt(%q, %q) = %v, want %v", tc.kubectl, tc.plane, got, tc.kubeOK)
			}
		})
	}
}
