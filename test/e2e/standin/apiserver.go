package standin

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
)

// APIServer is the Store of a real apiserver. Its client should not limit
// its rate: the stand-in's Limiter does, and only where Metacontroller's
// client would.
type APIServer struct {
	Client dynamic.Interface
}

var _ Store = APIServer{}

func (a APIServer) resource(r Resource, namespace string) dynamic.ResourceInterface {
	if namespace == "" {
		return a.Client.Resource(r.GVR())
	}
	return a.Client.Resource(r.GVR()).Namespace(namespace)
}

// List lists by label selector.
func (a APIServer) List(ctx context.Context, r Resource, namespace string, selector map[string]string) ([]*unstructured.Unstructured, error) {
	l, err := a.resource(r, namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(selector).String()})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}

// Get reads one object.
func (a APIServer) Get(ctx context.Context, r Resource, namespace, name string) (*unstructured.Unstructured, error) {
	return a.resource(r, namespace).Get(ctx, name, metav1.GetOptions{})
}

// Create creates an object.
func (a APIServer) Create(ctx context.Context, r Resource, o *unstructured.Unstructured) error {
	_, err := a.resource(r, o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{})
	return err
}

// Update replaces an object.
func (a APIServer) Update(ctx context.Context, r Resource, o *unstructured.Unstructured) error {
	_, err := a.resource(r, o.GetNamespace()).Update(ctx, o, metav1.UpdateOptions{})
	return err
}

// Delete deletes an object in the background, as Metacontroller does: the
// garbage collector removes what it owns.
func (a APIServer) Delete(ctx context.Context, r Resource, namespace, name string) error {
	bg := metav1.DeletePropagationBackground
	return a.resource(r, namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
}

// UpdateStatus writes the status subresource.
func (a APIServer) UpdateStatus(ctx context.Context, r Resource, o *unstructured.Unstructured) error {
	_, err := a.resource(r, o.GetNamespace()).UpdateStatus(ctx, o, metav1.UpdateOptions{})
	return err
}
