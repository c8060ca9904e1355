// Package plane runs a real Kubernetes control plane on this machine for
// the end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (fake nodes whose Pods become Ready without a
// kubelet), all built from Go modules, on loopback ports, torn down at the
// end. It is test code, never shipped.
package plane

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Versions of what the plane is built from (etcd's is pinned in
// binaries/go.mod, next to Kubernetes'; so is kwok's, a tool of that
// module: TestKwokVersionPinned checks the two agree).
const (
	KubernetesVersion = "v1.37.2"
	KwokVersion       = "v0.8.0"
)

// kwokCmd is kwok's command, built in the binaries module.
const kwokCmd = "sigs.k8s.io/kwok/cmd/kwok"

// ServiceCIDR is the apiserver's --service-cluster-ip-range: Services'
// cluster IPs.
const ServiceCIDR = "10.96.0.0/16"

// root is the test/e2e directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// BinDir is where the built binaries are cached between runs.
func BinDir() string { return filepath.Join(root(), ".bin") }

// Build builds (or finds, cached) every binary of the plane, and kubectl,
// reporting progress through logf (nil: quietly).
func Build(logf Logf) error {
	if err := BuildPlane(logf); err != nil {
		return err
	}
	return BuildKubectl(logf)
}

// planeStamp names what BuildPlane built; an earlier release stamped the
// plane and kubectl together, with " kubectl" after it.
func planeStamp() string { return KubernetesVersion + " " + KwokVersion }

// planeBuilt says whether the plane's stamp names the pinned versions,
// written by BuildPlane or, with kubectl, by an earlier release.
func planeBuilt(stamp string) bool {
	return strings.TrimSuffix(stamp, " kubectl") == planeStamp()
}

// kubectlBuilt says whether kubectl of the pinned version is built: its
// own stamp says so, or an earlier release built it with the plane.
func kubectlBuilt(own, withPlane string) bool {
	return own == KubernetesVersion || withPlane == planeStamp()+" kubectl"
}

// BuildPlane builds (or finds, cached) what a control plane runs: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok, in one
// go build, reporting progress through logf (nil: quietly). kwok is a tool
// of the binaries module, so it compiles against the plane's own
// Kubernetes packages rather than a second copy. kubectl is not among
// them: nothing the plane starts needs it, so a first run can start
// without waiting for it (BuildKubectl).
func BuildPlane(logf Logf) error {
	bin := BinDir()
	stamp := filepath.Join(bin, "versions")
	if got, err := os.ReadFile(stamp); err == nil && planeBuilt(string(got)) {
		if _, err := os.Stat(filepath.Join(bin, KwokStages)); err == nil {
			return nil
		}
		return writeKwokStages(bin)
	}
	if logf != nil {
		logf("building the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) into %s", bin)
	}
	if err := BuildKubernetes(logf, "./cmd/kube-apiserver", "./cmd/kube-controller-manager", "./cmd/kube-scheduler", "./cmd/etcd", kwokCmd); err != nil {
		return err
	}
	if err := writeKwokStages(bin); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(planeStamp()), 0o644)
}

// KwokStages is the file in BinDir that kwok reads its Stages from.
const KwokStages = "kwok-stages.yaml"

// kwokStageFiles are the files of kwok's module whose Stages make a node
// Ready and renew its status, and take a Pod to Running and Ready, to
// Succeeded when its containers end, and away when it is deleted. kwok
// v0.7 used these when its configuration named no Stage; v0.8 runs only
// the Stages its configuration names.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat/node-heartbeat.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// writeKwokStages writes KwokStages into bin: kwokStageFiles from the
// module the binaries module builds kwok from, one YAML document each.
func writeKwokStages(bin string) error {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	cmd.Dir = filepath.Join(root(), "plane", "binaries")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("find kwok's module for its stages: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	var docs []string
	for _, f := range kwokStageFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("kwok's stages: %w", err)
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	return os.WriteFile(filepath.Join(bin, KwokStages), []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}

// BuildKubectl builds (or finds, cached) kubectl of KubernetesVersion into
// BinDir, reporting progress through logf (nil: quietly).
func BuildKubectl(logf Logf) error {
	bin := BinDir()
	stamp := filepath.Join(bin, "kubectl.version")
	own, _ := os.ReadFile(stamp)
	withPlane, _ := os.ReadFile(filepath.Join(bin, "versions"))
	if kubectlBuilt(string(own), string(withPlane)) {
		return nil
	}
	if err := BuildKubernetes(logf, "./cmd/kubectl"); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(KubernetesVersion), 0o644)
}

// BuildKubernetes builds commands of the binaries module (./cmd/NAME) into
// BinDir, stamped with KubernetesVersion, in one go build, reporting
// progress through logf (nil: quietly). It does not cache: callers keep
// their own stamp.
func BuildKubernetes(logf Logf, cmds ...string) error {
	if err := os.MkdirAll(BinDir(), 0o755); err != nil {
		return err
	}
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c[strings.LastIndex(c, "/")+1:]
	}
	return GoBuild{
		What: strings.Join(names, ", "),
		Dir:  filepath.Join(root(), "plane", "binaries"),
		Env:  []string{"GOFLAGS=-buildvcs=false", "GOBIN=" + BinDir()},
		Args: append(append([]string{"build"}, kubernetesFlags()...), append([]string{"-o", BinDir() + "/"}, cmds...)...),
		List: cmds,
	}.Run(logf)
}

// BuildFlags are the go build flags of every binary the plane and the demo
// build (the Makefile's DEMO_BUILD names them too): no DWARF (-dwarf=false,
// -w). Nothing debugs these binaries; without DWARF a package compiles
// about an eighth faster and kube-apiserver links in half the time (17.4 s
// and 8.5 s here, 2026-12-06); stack traces and profiles do not use it.
// One set of flags everywhere, and the binaries module requiring the
// versions the demo's packages come from, let the plane's build reuse the
// packages the demo command's build compiled first.
var BuildFlags = []string{"-gcflags=all=-dwarf=false", "-ldflags=-w"}

// kubernetesFlags are BuildFlags with the version Kubernetes reports.
func kubernetesFlags() []string {
	return append(slices.Clone(BuildFlags[:1]),
		fmt.Sprintf("-ldflags=-w -X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37", KubernetesVersion))
}

// FakeNodeAnnotation marks the nodes kwok plays the kubelet of (value
// "fake"); a node without it is left to its own kubelet.
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// Metacontroller's identity on the plane: a user of its own, an
// administrator, so that the audit log (see Audit) tells its requests
// apart from the other controllers'.
const (
	MetacontrollerUser  = "metacontroller"
	MetacontrollerToken = "vtmeta-e2e-metacontroller-token"
)

// auditPolicyYAML logs, at Metadata level, every request Metacontroller
// sends but its list and watch (its informers' caches answer its reads),
// and nothing else.
const auditPolicyYAML = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["` + MetacontrollerUser + `"]
  verbs: ["get", "create", "update", "patch", "delete", "deletecollection"]
- level: None
`

// Plane is a running control plane.
type Plane struct {
	// Config reaches the apiserver as an administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config.
	Kubeconfig string
	// MetacontrollerConfig and MetacontrollerKubeconfig reach it as
	// Metacontroller, without a client-side rate limit.
	MetacontrollerConfig     *rest.Config
	MetacontrollerKubeconfig string
	dir                      string
	procs                    []*exec.Cmd
	logs                     []*os.File
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Network says where the control plane listens. The zero value keeps it
// on loopback, which is all kwok needs; a real node's Pods must reach the
// apiserver at an address of the node instead (test/e2e/realnode).
type Network struct {
	// Address, when set, is the address kube-apiserver binds to and
	// advertises: the kubernetes Service's endpoint, reachable from Pods.
	Address string
	// KubeletAddressTypes, when set, is the order in which kube-apiserver
	// tries a node's addresses to reach its kubelet (exec, logs).
	KubeletAddressTypes []string
}

// Start starts a control plane on loopback in dir; Stop tears it down.
func Start(ctx context.Context, dir string) (*Plane, error) {
	return StartOn(ctx, dir, Network{})
}

// StartOn starts a control plane in dir, listening as nw says; Stop
// tears it down.
func StartOn(ctx context.Context, dir string, nw Network) (*Plane, error) {
	if err := BuildPlane(nil); err != nil {
		return nil, err
	}
	p := &Plane{dir: dir}
	ok := false
	defer func() {
		if !ok {
			p.Stop()
		}
	}()
	bin := BinDir()
	etcdClient, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdPeer, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	if err := p.run("etcd", filepath.Join(bin, "etcd"),
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeer),
		fmt.Sprintf("--initial-cluster=default=http://127.0.0.1:%d", etcdPeer),
		"--unsafe-no-fsync"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, etcdURL+"/health", nil); err != nil {
		return nil, fmt.Errorf("etcd: %w\n%s", err, p.Logs("etcd", 25))
	}
	saKey, err := writeKey(dir)
	if err != nil {
		return nil, err
	}
	const token = "vtmeta-e2e-admin-token"
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"+
		MetacontrollerToken+","+MetacontrollerUser+","+MetacontrollerUser+",system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	auditPolicy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(auditPolicy, []byte(auditPolicyYAML), 0o600); err != nil {
		return nil, err
	}
	apiHost := cmp.Or(nw.Address, "127.0.0.1")
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + apiHost, "--advertise-address=" + apiHost,
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--disable-admission-plugins=ServiceAccount",
		"--audit-policy-file=" + auditPolicy, "--audit-log-path=" + filepath.Join(dir, "audit.log"),
	}
	if nw.Address == "" {
		// On loopback, which the kubernetes Service's endpoints may not name.
		apiArgs = append(apiArgs, "--endpoint-reconciler-type=none")
	}
	if len(nw.KubeletAddressTypes) > 0 {
		apiArgs = append(apiArgs, "--kubelet-preferred-address-types="+strings.Join(nw.KubeletAddressTypes, ","))
	}
	if err := p.run("kube-apiserver", filepath.Join(bin, "kube-apiserver"), apiArgs...); err != nil {
		return nil, err
	}
	host := "https://" + net.JoinHostPort(apiHost, fmt.Sprint(apiPort))
	p.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 200, Burst: 400}
	if err := waitHTTP(ctx, host+"/readyz", map[string]string{"Authorization": "Bearer " + token}); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w\n%s", err, p.Logs("kube-apiserver", 25))
	}
	// Metacontroller (or its stand-in) gets its own user, so the audit log
	// tells its requests apart, and no client-side limit but its own.
	p.MetacontrollerConfig = &rest.Config{Host: host, BearerToken: MetacontrollerToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: -1}
	p.Kubeconfig = filepath.Join(dir, "kubeconfig")
	p.MetacontrollerKubeconfig = filepath.Join(dir, "metacontroller.kubeconfig")
	for path, tok := range map[string]string{p.Kubeconfig: token, p.MetacontrollerKubeconfig: MetacontrollerToken} {
		kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: user, user: {token: %q}}]
contexts: [{name: e2e, context: {cluster: e2e, user: user}}]
current-context: e2e
`, host, tok)
		if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
			return nil, err
		}
	}
	if err := p.run("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+p.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		// Without a kubelet, nodes renew no leases: the node lifecycle
		// controller would mark every Pod not ready after its grace period.
		"--controllers=*,-nodelifecycle",
		"--service-account-private-key-file="+saKey, "--use-service-account-credentials=false"); err != nil {
		return nil, err
	}
	if err := p.run("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig="+p.Kubeconfig, "--leader-elect=false", "--secure-port=0"); err != nil {
		return nil, err
	}
	// kwok plays the kubelet of the fake nodes only (their annotation), so
	// that a real node beside them keeps its own.
	if err := p.run("kwok", filepath.Join(bin, "kwok"), "--config="+filepath.Join(bin, KwokStages),
		"--kubeconfig="+p.Kubeconfig, "--manage-nodes-with-annotation-selector="+FakeNodeAnnotation+"=fake",
		"--cidr=10.0.0.0/16", "--node-ip=10.0.0.1", "--server-address=127.0.0.1:0"); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// run starts a process with its output in a log file.
func (p *Plane) run(name, path string, args ...string) error {
	return p.runEnv(name, nil, path, args...)
}

// runEnv starts a process with more environment, its output in a log file;
// Stop kills it.
func (p *Plane) runEnv(name string, env []string, path string, args ...string) error {
	f, err := os.Create(p.logPath(name))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = ChildAttr()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p.procs = append(p.procs, cmd)
	p.logs = append(p.logs, f)
	return nil
}

func (p *Plane) logPath(name string) string { return filepath.Join(p.dir, name+".log") }

// Kubectl runs kubectl on the plane and returns its output.
func (p *Plane) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir(), "kubectl"), append([]string{"--kubeconfig", p.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Logs returns the tail of a component's log, for failure messages.
func (p *Plane) Logs(name string, lines int) string {
	b, _ := os.ReadFile(p.logPath(name))
	all := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Stop kills every process, newest first, and waits for them.
func (p *Plane) Stop() {
	for i := len(p.procs) - 1; i >= 0; i-- {
		if p.procs[i].Process != nil {
			_ = p.procs[i].Process.Kill()
			_ = p.procs[i].Wait()
		}
	}
	for _, f := range p.logs {
		f.Close()
	}
	p.procs, p.logs = nil, nil
}

// waitHTTP waits until a URL answers 200.
func waitHTTP(ctx context.Context, url string, headers map[string]string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s answered %d", url, resp.StatusCode)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return errors.Join(errors.New("timed out"), last)
}

// writeKey writes the service-account signing key.
func writeKey(dir string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "sa.key")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return path, os.WriteFile(path, b, 0o600)
}

// insecureTLS trusts the apiserver's self-signed serving certificate: the
// plane lives on loopback for the length of a test.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // loopback test plane
