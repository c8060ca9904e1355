// Package binaries builds the Kubernetes control plane the end-to-end tests
// run against (kube-apiserver, kube-controller-manager, kube-scheduler, and
// kubectl for the demo and the printer-column checks), and the kubelet and
// kube-proxy of the real node (test/e2e/realnode), from the
// k8s.io/kubernetes module, with every staging module replaced by its
// published version. It is a module of its own, outside go.work:
// Kubernetes' pins would collide with the services' dependencies. Build it
// with GOWORK=off; test/e2e/plane and test/e2e/realnode do.
package binaries
