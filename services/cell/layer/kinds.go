package layer

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/rollout"
)

// typed is a typed Kubernetes object that knows its type (TypeMeta).
type typed interface {
	kube.Object
	GetObjectKind() schema.ObjectKind
}

// child stamps a typed object as a child of the type its TypeMeta names.
func child(o kube.Object) (rollout.Child, error) {
	t, ok := o.(typed)
	if !ok || t.GetObjectKind().GroupVersionKind().Kind == "" {
		return rollout.Child{}, fmt.Errorf("child %s has no kind", o.GetName())
	}
	gvk := t.GetObjectKind().GroupVersionKind()
	return kube.Child(gvk.Kind, gvk.GroupVersion().String(), t)
}
