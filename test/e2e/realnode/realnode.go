//go:build linux

package realnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/debian"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// The node as Pods and the plane see it.
const (
	// Name is the Node's name.
	Name = "vtmeta-real-node"
	// IP is the node's address, on a link of its own: a documentation
	// range address (RFC 5737), which no real network uses. The apiserver
	// listens and advertises here, the kubelet serves here and CoreDNS
	// answers here, so Pods reach all three.
	IP = "192.0.2.2"
	// PodCIDR is where the bridge gives Pods their addresses.
	PodCIDR = "10.244.0.0/24"
	gateway = "10.244.0.1"
	// LabelKey=LabelValue labels the node, and TaintKey=LabelValue:NoSchedule
	// taints it: Spec makes a Pod select and tolerate them.
	LabelKey   = "vtmeta.io/node"
	LabelValue = "real"
	TaintKey   = "vtmeta.io/node"
)

// Host-global names and places, fixed so that a later run finds what a
// killed one left.
const (
	// StateDir holds sockets, generated configuration, containerd's state,
	// network namespaces and CNI's address leases.
	StateDir = "/run/vtmeta-realnode"
	// RootDir holds containerd's images and snapshots, the kubelet's root
	// and the Pods' logs.
	RootDir = "/var/lib/vtmeta-realnode"
	// lockFile is held while a node runs (outside StateDir, which cleanup
	// removes).
	lockFile   = "/run/vtmeta-realnode.lock"
	nodeLink   = "vtmeta0"
	bridgeLink = "vtmetacni0"
)

// Packages are the Debian packages the node runs on.
var Packages = []string{"containerd", "runc", "containernetworking-plugins", "iptables", "iproute2"}

// Network is how the control plane must listen for the node: on the node
// IP, preferring the node's InternalIP to reach its kubelet.
func Network() plane.Network {
	return plane.Network{Address: IP, KubeletAddressTypes: []string{"InternalIP", "Hostname"}}
}

// Spec makes a Pod spec land on the real node: it selects the node's label
// and tolerates its taint.
func Spec(s *corev1.PodSpec) {
	if s.NodeSelector == nil {
		s.NodeSelector = map[string]string{}
	}
	s.NodeSelector[LabelKey] = LabelValue
	s.Tolerations = append(s.Tolerations, corev1.Toleration{Key: TaintKey, Operator: corev1.TolerationOpEqual, Value: LabelValue, Effect: corev1.TaintEffectNoSchedule})
}

// Node is the real node: Prepare it before the control plane starts (the
// plane listens on its IP), Join it to the plane, Stop it at the end.
type Node struct {
	// Timings name how long each step took, in order.
	Timings []Timing
	dir     string
	lock    *os.File
	procs   []*proc
	saved   map[string]string
	logf    func(string, ...any)
}

// Timing is how long a step took.
type Timing struct {
	Step string
	Took time.Duration
}

// Options configure Prepare.
type Options struct {
	// Dir receives the node's logs (containerd, kubelet, kube-proxy,
	// coredns).
	Dir string
	// Log, when set, receives a line per step.
	Log func(format string, args ...any)
}

// Prepare takes the host-wide lock, removes what an earlier node left,
// installs the Debian packages, builds kubelet, kube-proxy and CoreDNS
// (cached in test/e2e/.bin) and the pause image, and brings up the node's
// address. Stop undoes it.
func Prepare(ctx context.Context, opts Options) (*Node, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the real node needs root: it runs containerd, the kubelet and iptables")
	}
	n := &Node{dir: opts.Dir, logf: opts.Log}
	if n.logf == nil {
		n.logf = func(string, ...any) {}
	}
	var err error
	if n.lock, err = takeLock(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.Stop()
		}
	}()
	if err := n.step("clean what an earlier node left", cleanup); err != nil {
		return nil, err
	}
	if err := n.step("install Debian packages ("+strings.Join(Packages, ", ")+")", func() error { return debian.Ensure(Packages...) }); err != nil {
		return nil, err
	}
	if err := n.step("build kubelet, kube-proxy and CoreDNS", func() error { return Build(n.logf) }); err != nil {
		return nil, err
	}
	if err := n.step("build the pause image", func() error { _, err := images.BuildPause(); return err }); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return nil, err
	}
	if n.saved, err = saveSysctls(); err != nil {
		return nil, err
	}
	if err := n.step("bring up "+IP+" on "+nodeLink, nodeAddress); err != nil {
		return nil, err
	}
	if err := n.step("refuse cluster IPs kube-proxy has not programmed", guardServices); err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

// step runs and times one step.
func (n *Node) step(name string, f func() error) error {
	start := time.Now()
	err := f()
	took := time.Since(start)
	n.Timings = append(n.Timings, Timing{Step: name, Took: took})
	if err != nil {
		return fmt.Errorf("real node: %s: %w", name, err)
	}
	n.logf("real node: %s (%s)", name, took.Round(10*time.Millisecond))
	return nil
}

// Join starts containerd, imports the images (the pause image and imgs),
// starts CoreDNS, kube-proxy and the kubelet against the plane whose
// administrator kubeconfig and config are given, and waits until the node
// is Ready and CoreDNS answers.
func (n *Node) Join(ctx context.Context, kubeconfig string, cfg *rest.Config, imgs ...images.Image) error {
	if err := newConfigs(kubeconfig).write(); err != nil {
		return err
	}
	for _, d := range []string{RootDir, filepath.Join(StateDir, "cni-ipam")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := n.step("start containerd", n.containerd); err != nil {
		return err
	}
	pause, err := images.BuildPause()
	if err != nil {
		return err
	}
	all := []images.Image{pause}
	for _, img := range imgs {
		if img.Ref != pause.Ref {
			all = append(all, img)
		}
	}
	if err := n.step(fmt.Sprintf("import %d images", len(all)), func() error { return n.Import(ctx, all...) }); err != nil {
		return err
	}
	bin := plane.BinDir()
	if err := n.run("coredns", filepath.Join(bin, "coredns"), "-conf", filepath.Join(StateDir, "Corefile")); err != nil {
		return err
	}
	if err := n.run("kube-proxy", filepath.Join(bin, "kube-proxy"), "--config", filepath.Join(StateDir, "kube-proxy.yaml")); err != nil {
		return err
	}
	if err := n.run("kubelet", filepath.Join(bin, "kubelet"),
		"--config", filepath.Join(StateDir, "kubelet.yaml"),
		"--kubeconfig", kubeconfig,
		"--hostname-override", Name, "--node-ip", IP,
		"--root-dir", filepath.Join(RootDir, "kubelet"),
		"--node-labels", LabelKey+"="+LabelValue); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := n.step("node Ready", func() error { return n.ready(ctx, client) }); err != nil {
		return err
	}
	if err := n.step("CoreDNS answers", func() error { return waitDNS(ctx) }); err != nil {
		return fmt.Errorf("%w\n%s", err, n.Logs("coredns", 20))
	}
	n.Timings = append(n.Timings, Timing{Step: "join: containerd start to node Ready and DNS", Took: time.Since(start)})
	return nil
}

// containerd starts containerd and waits until it serves.
func (n *Node) containerd() error {
	if err := n.run("containerd", "/usr/bin/containerd", "--config", filepath.Join(StateDir, "containerd.toml")); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := n.ctr("version"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("containerd does not serve: %w\n%s", err, n.Logs("containerd", 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ctr runs ctr against the node's containerd, in the kubelet's namespace.
func (n *Node) ctr(args ...string) (string, error) {
	cmd := exec.Command("ctr", append([]string{"--address", filepath.Join(StateDir, "containerd.sock"), "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Tag gives an imported image a second name, as pushing the same image
// under a new tag to a registry would: Pods that name it start from the
// same content.
func (n *Node) Tag(src, dst string) error {
	_, err := n.ctr("images", "tag", "--force", src, dst)
	return err
}

// Kill sends SIGKILL to every process of a container, as a crash would
// end them: containerID is a Pod's containerStatuses[].containerID
// (containerd://...).
func (n *Node) Kill(containerID string) error {
	id, ok := strings.CutPrefix(containerID, "containerd://")
	if !ok || id == "" {
		return fmt.Errorf("kill %q: not a containerd container", containerID)
	}
	_, err := n.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", id)
	return err
}

// Import imports image tarballs into the node's containerd, where the
// kubelet finds them: Pods name them with imagePullPolicy IfNotPresent.
func (n *Node) Import(ctx context.Context, imgs ...images.Image) error {
	for _, img := range imgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if _, err := n.ctr("images", "import", img.Tarball); err != nil {
			return fmt.Errorf("import %s: %w", img.Ref, err)
		}
		n.Timings = append(n.Timings, Timing{Step: "import " + img.Ref, Took: time.Since(start)})
		if out, err := n.ctr("images", "ls", "-q", "name=="+img.Ref); err != nil || strings.TrimSpace(out) != img.Ref {
			return fmt.Errorf("import %s: containerd does not list it after the import (%q, %v)", img.Ref, out, err)
		}
	}
	return nil
}

// ready waits until the node is Ready, then lifts the not-ready taint the
// apiserver gave it at registration: the plane runs no node lifecycle
// controller (kwok's nodes renew no leases), so nothing else would.
func (n *Node) ready(ctx context.Context, c kubernetes.Interface) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		node, err := c.CoreV1().Nodes().Get(ctx, Name, metav1.GetOptions{})
		if err == nil && nodeReady(node) {
			var keep []corev1.Taint
			for _, t := range node.Spec.Taints {
				if t.Key != corev1.TaintNodeNotReady {
					keep = append(keep, t)
				}
			}
			if len(keep) == len(node.Spec.Taints) {
				return nil
			}
			node.Spec.Taints = keep
			if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil && !strings.Contains(err.Error(), "modified") {
				return fmt.Errorf("lift the not-ready taint: %w", err)
			}
			continue
		}
		if time.Now().After(deadline) {
			msg := "not registered"
			if err == nil {
				msg = readyMessage(node)
			}
			return fmt.Errorf("node %s not Ready after 2 minutes (%s)\nkubelet: %s\ncontainerd: %s", Name, msg, n.Logs("kubelet", 25), n.Logs("containerd", 10))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readyMessage(node *corev1.Node) string {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	return "no Ready condition yet"
}

// Logs returns the tail of a component's log.
func (n *Node) Logs(name string, lines int) string {
	b, _ := os.ReadFile(filepath.Join(n.dir, name+".log"))
	all := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Stop stops every process the node started and removes everything it
// created: Pods' processes, mounts, network namespaces, links, iptables
// chains, directories; it restores the sysctls the node changed and
// releases the lock.
func (n *Node) Stop() {
	// The kubelet first, so that it restarts nothing while the rest goes.
	for i := len(n.procs) - 1; i >= 0; i-- {
		n.procs[i].stop()
	}
	n.procs = nil
	if err := cleanup(); err != nil {
		n.logf("real node: cleanup: %v", err)
	}
	if n.saved != nil {
		restoreSysctls(n.saved)
		n.saved = nil
	}
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		n.lock.Close()
		n.lock = nil
	}
}

// OnlyNode makes the real node the plane's only node: it deletes every
// other node (the plane's kwok nodes) and lifts the node's taint, so that
// every Pod lands here, also those whose spec cannot ask for the node (a
// layer's Jobs). Claims must still name StorageClass: the plane's kwok
// volumes stay, and their host paths are of no use here.
func OnlyNode(ctx context.Context, c kubernetes.Interface) error {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, other := range nodes.Items {
		if other.Name == Name {
			continue
		}
		if err := c.CoreV1().Nodes().Delete(ctx, other.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete node %s: %w", other.Name, err)
		}
	}
	node, err := c.CoreV1().Nodes().Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var keep []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Key != TaintKey {
			keep = append(keep, t)
		}
	}
	node.Spec.Taints = keep
	if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("lift the taint %s: %w", TaintKey, err)
	}
	return nil
}
