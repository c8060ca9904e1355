// Package realnode runs one real Kubernetes node beside the test control
// plane's kwok nodes (test/e2e/plane): kubelet and kube-proxy built from
// k8s.io/kubernetes, containerd, runc and the CNI plugins from Debian's
// packages, and CoreDNS built from its Go module as the cluster DNS. Its
// Pods really run, from images assembled without a registry
// (test/e2e/realnode/images).
//
// The node is host-global (one bridge, iptables chains, kubelet ports, the
// node IP): one runs at a time, under a lock. It carries a label and a
// taint so that only Pods asking for it land there (Spec does that to a
// Pod); kwok keeps the rest. Everything it creates is removed when it
// stops, and what a killed test left behind is removed when the next one
// starts. It needs Linux and root. It is test code, never shipped.
package realnode
