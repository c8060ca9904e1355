// Package realnode runs one real Kubernetes node beside the test control
// plane's kwok nodes (test/e2e/plane): kubelet and kube-proxy built from
// k8s.io/kubernetes, containerd, runc and the CNI plugins from Debian's
// packages, and CoreDNS built from its Go module (./coredns) as the cluster
// DNS. Its Pods really run, from images assembled without a registry
// (test/e2e/realnode/images).
//
// Use: Prepare the node, start the plane on Network(), Join the node to
// it, Stop the node at the end. Pods land on it when Spec marks them (the
// node carries a label and a taint; kwok keeps the rest), or all of them
// after OnlyNode. Claims bind to the node's own Volumes through
// StorageClass.
//
// The node is host-global (the node IP on a link of its own, a bridge,
// iptables chains, kubelet ports): one runs at a time, under a lock.
// Everything it creates is removed when it stops, and what a killed test
// left is removed when the next one starts; Leftovers lists what remains.
// It needs Linux and root. containerd 1.6 (Debian 12's) is the last line
// the kubelet supports, through a fallback that kubelet 1.38 drops. It is
// test code, never shipped.
package realnode
