//go:build linux

package realnode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// TestRealNodeRunsVitessAndMySQL starts the control plane with the real
// node, and checks on it what Vitess needs from a node: Vitess's binaries
// run from the locally built image, mysqlctld initializes and starts
// MySQL, cluster DNS resolves a Service and a Pod reaches another
// through it, and logs and exec work through the apiserver. It prints how
// long each phase took and what the node costs in memory.
func TestRealNodeRunsVitessAndMySQL(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 (make test-realnode) to run a real node")
	}
	if os.Geteuid() != 0 {
		t.Skip("the real node needs root (containerd, the kubelet, iptables); run make test-realnode as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	dir := t.TempDir()
	defer keepLogs(t, dir)
	var timings []realnode.Timing
	phase := func(name string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		timings = append(timings, realnode.Timing{Step: name, Took: time.Since(start)})
		t.Logf("%s: %s", name, time.Since(start).Round(10*time.Millisecond))
	}
	defer func() {
		var b strings.Builder
		for _, tm := range timings {
			fmt.Fprintf(&b, "\n  %-58s %8s", tm.Step, tm.Took.Round(10*time.Millisecond))
		}
		t.Logf("phases (wall clock):%s", b.String())
	}()

	var node *realnode.Node
	phase("prepare the node (packages, kubelet/kube-proxy/CoreDNS builds)", func() (err error) {
		node, err = realnode.Prepare(ctx, realnode.Options{Dir: dir, Log: t.Logf})
		return err
	})
	defer node.Stop()
	var imgs []images.Image
	phase("build the images (Vitess, MySQL, etcd, pause)", func() (err error) {
		// The plane first, with its progress: the etcd image is built from it.
		if err := plane.Build(t.Logf); err != nil {
			return err
		}
		imgs, err = images.All(t.Logf)
		return err
	})
	var p *plane.Plane
	phase("start the control plane", func() (err error) {
		p, err = plane.StartOn(ctx, dir, realnode.Network())
		return err
	})
	defer p.Stop()
	phase("join the node: containerd, image import, node Ready, DNS", func() error {
		return node.Join(ctx, p.Kubeconfig, p.Config, imgs...)
	})
	for _, tm := range node.Timings {
		timings = append(timings, realnode.Timing{Step: "  node: " + tm.Step, Took: tm.Took})
	}
	c, err := kubernetes.NewForConfig(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	pods := c.CoreV1().Pods("default")
	phase("create the node's volumes and a claim", func() error {
		if err := realnode.Volumes(ctx, c, 2, "1Gi"); err != nil {
			return err
		}
		_, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "mysqld-data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: ptr(realnode.StorageClass),
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{})
		return err
	})

	// Vitess's binaries run from the image, as uid 999, and report 24.0.4.
	phase("a Pod runs vttablet --version and vtctldclient --help to completion", func() error {
		pod := realPod("vitess-version")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.Containers = []corev1.Container{
			{Name: "vttablet", Image: images.Vitess, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/vt/bin/vttablet", "--version"}},
			{Name: "vtctldclient", Image: images.Vitess, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"vtctldclient", "--help"}},
		}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := waitPod(ctx, c, pod.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }); err != nil {
			return err
		}
		version, err := logs(ctx, c, pod.Name, "vttablet")
		if err != nil {
			return err
		}
		if !strings.Contains(version, "24.0.4") {
			return fmt.Errorf("vttablet --version printed %q, want 24.0.4", version)
		}
		help, err := logs(ctx, c, pod.Name, "vtctldclient")
		if err != nil {
			return err
		}
		if !strings.Contains(help, "PlannedReparentShard") {
			return fmt.Errorf("vtctldclient --help does not list PlannedReparentShard:\n%s", help)
		}
		return nil
	})

	// mysqlctld, copied in from the Vitess image as vtmeta's tablet Pods do,
	// initializes and starts MySQL.
	var mysqldReady time.Duration
	phase("a Pod starts MySQL through mysqlctld and becomes Ready", func() error {
		pod := mysqlPod()
		created := time.Now()
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		err := waitPod(ctx, c, pod.Name, podReady)
		mysqldReady = time.Since(created)
		if err != nil {
			l, _ := logs(ctx, c, pod.Name, "mysqld")
			return fmt.Errorf("%w\nmysqld container:\n%s", err, tail(l, 30))
		}
		return nil
	})
	t.Logf("mysqld Pod created to Ready: %s", mysqldReady.Round(10*time.Millisecond))
	phase("kubectl logs and exec through the apiserver reach MySQL", func() error {
		out, err := p.Kubectl(ctx, "logs", "mysqld", "-c", "mysqld")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Using flavor: mysql") {
			return fmt.Errorf("mysqlctld did not detect MySQL:\n%s", tail(out, 30))
		}
		out, err = p.Kubectl(ctx, "exec", "mysqld", "-c", "mysqld", "--", "mysql", "-u", "vt_dba", "-S", "/vt/vtdataroot/vt_0000000100/mysql.sock", "-N", "-e", "SELECT @@version")
		if err != nil {
			return err
		}
		if !strings.Contains(out, images.MySQLVersion+"-") {
			return fmt.Errorf("SELECT @@version through kubectl exec: %q, want MySQL %s", out, images.MySQLVersion)
		}
		return nil
	})

	// Cluster DNS resolves a Service, and a Pod reaches MySQL through
	// its ClusterIP (kube-proxy and the bridge).
	phase("DNS resolves a Service and a Pod connects through it", func() error {
		svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "mysql"},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "mysqld"},
				Ports:    []corev1.ServicePort{{Name: "mysql", Port: 3306, TargetPort: intstr.FromInt32(3306)}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		pod := realPod("dns")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		// Retried: kube-proxy programs the Service within a second or so.
		// MySQL greets a new connection with its version.
		script := `for i in $(seq 30); do nslookup mysql.default.svc.cluster.local && timeout 3 nc mysql 3306 </dev/null >/tmp/greeting; grep -q ` + images.MySQLVersion + ` /tmp/greeting && echo connected && exit 0; sleep 1; done; exit 1`
		pod.Spec.Containers = []corev1.Container{{Name: "probe", Image: images.Vitess, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sh", "-c", script}}}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		err = waitPod(ctx, c, pod.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		out, lerr := logs(ctx, c, pod.Name, "probe")
		if err != nil {
			return fmt.Errorf("%w\n%s %v", err, out, lerr)
		}
		if !strings.Contains(out, svc.Spec.ClusterIP) || !strings.Contains(out, "connected") {
			return fmt.Errorf("want mysql.default.svc.cluster.local to resolve to %s and a connection through it:\n%s", svc.Spec.ClusterIP, out)
		}
		return nil
	})

	// As the only node, it takes Pods that do not ask for it.
	phase("as the only node, it runs a Pod that does not ask for it", func() error {
		if err := realnode.OnlyNode(ctx, c); err != nil {
			return err
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "anywhere", Namespace: "default"}, Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "true", Image: images.Vitess, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"true"}}},
		}}
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		return waitPod(ctx, c, pod.Name, func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded && p.Spec.NodeName == realnode.Name
		})
	})

	var total int64
	var lines []string
	for name, b := range node.Processes() {
		total += b
		lines = append(lines, fmt.Sprintf("  %-36s %6d MiB", name, b>>20))
	}
	slices.Sort(lines)
	t.Logf("the node's processes and its Pods' containers, resident memory (%d MiB in all):\n%s", total>>20, strings.Join(lines, "\n"))
	t.Logf("the control plane's processes, resident memory: %d MiB", planeRSS()>>20)

	// The node removes all it created; Stop may run again (deferred).
	start := time.Now()
	node.Stop()
	t.Logf("node stopped and cleaned up in %s", time.Since(start).Round(10*time.Millisecond))
	if left := realnode.Leftovers(); len(left) > 0 {
		t.Errorf("the stopped node left on the host:\n%s", strings.Join(left, "\n"))
	}
}

// realPod is a Pod for the real node.
func realPod(name string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	realnode.Spec(&p.Spec)
	return p
}

// mysqlPod is MySQL run by mysqlctld the way vtmeta's tablet Pods run it
// (services/tablet/layer/pod.go): an init container copies mysqlctld and
// /vt/config from the Vitess image into a shared volume; the MySQL image
// runs them, its data on a claim bound to one of the node's volumes, with
// Vitess's stock config and init SQL.
func mysqlPod() *corev1.Pod {
	p := realPod("mysqld")
	p.Labels = map[string]string{"app": "mysqld"}
	uid := int64(999)
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid, RunAsNonRoot: ptr(true)}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "vtdataroot", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "mysqld-data"}}},
		{Name: "vt", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	p.Spec.InitContainers = []corev1.Container{{
		Name: "init-vt", Image: images.Vitess, ImagePullPolicy: corev1.PullIfNotPresent,
		Command:      []string{"sh", "-c", "mkdir -p /mnt/vt/bin && cp /vt/bin/mysqlctld /mnt/vt/bin/ && cp -R /vt/config /mnt/vt/"},
		VolumeMounts: []corev1.VolumeMount{{Name: "vt", MountPath: "/mnt/vt"}},
	}}
	p.Spec.Containers = []corev1.Container{{
		Name: "mysqld", Image: images.MySQL, ImagePullPolicy: corev1.PullIfNotPresent,
		Command:        []string{"/mnt/vt/bin/mysqlctld"},
		Args:           []string{"--tablet-uid=100", "--mysql-port=3306", "--socket-file=/vt/vtdataroot/mysqlctl.sock"},
		Env:            []corev1.EnvVar{{Name: "VTDATAROOT", Value: "/vt/vtdataroot"}, {Name: "VTROOT", Value: "/mnt/vt"}},
		Ports:          []corev1.ContainerPort{{Name: "mysql", ContainerPort: 3306}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("mysql")}}, PeriodSeconds: 1},
		VolumeMounts:   []corev1.VolumeMount{{Name: "vtdataroot", MountPath: "/vt/vtdataroot"}, {Name: "vt", MountPath: "/mnt/vt"}},
	}}
	return p
}

func ptr[T any](v T) *T { return &v }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitPod waits until a Pod satisfies ok, failing early when it fails.
func waitPod(ctx context.Context, c kubernetes.Interface, name string, ok func(*corev1.Pod) bool) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if ok(p) {
				return nil
			}
			if p.Status.Phase == corev1.PodFailed {
				return fmt.Errorf("pod %s failed: %s", name, describe(p))
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("pod %s: %w", name, err)
			}
			return fmt.Errorf("pod %s not there after 3 minutes: %s", name, describe(p))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// describe sums up a Pod's phase and its containers' states.
func describe(p *corev1.Pod) string {
	parts := []string{string(p.Status.Phase)}
	for _, s := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		switch {
		case s.State.Waiting != nil:
			parts = append(parts, fmt.Sprintf("%s waiting: %s %s", s.Name, s.State.Waiting.Reason, s.State.Waiting.Message))
		case s.State.Terminated != nil:
			parts = append(parts, fmt.Sprintf("%s terminated: exit %d %s %s", s.Name, s.State.Terminated.ExitCode, s.State.Terminated.Reason, s.State.Terminated.Message))
		default:
			parts = append(parts, fmt.Sprintf("%s running (ready %v, restarts %d)", s.Name, s.Ready, s.RestartCount))
		}
	}
	return strings.Join(parts, "; ")
}

// logs reads a container's log through the apiserver (which asks the
// kubelet).
func logs(ctx context.Context, c kubernetes.Interface, pod, container string) (string, error) {
	b, err := c.CoreV1().Pods("default").GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of %s/%s: %w", pod, container, err)
	}
	return string(b), nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// planeRSS is the resident memory of the control plane's processes (those
// run from test/e2e/.bin but the node's).
func planeRSS() int64 {
	var total int64
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || filepath.Dir(exe) != plane.BinDir() {
			continue
		}
		switch filepath.Base(exe) {
		case "kubelet", "kube-proxy", "coredns":
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				total += kb << 10
			}
		}
	}
	return total
}

// keepLogs copies the logs out of a failed test's temporary directory.
func keepLogs(t *testing.T, dir string) {
	if !t.Failed() {
		return
	}
	keep := filepath.Join(os.TempDir(), "vtmeta-realnode-logs")
	_ = os.RemoveAll(keep)
	_ = os.MkdirAll(keep, 0o755)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(l)), b, 0o644)
		}
	}
	t.Logf("logs kept in %s", keep)
}
