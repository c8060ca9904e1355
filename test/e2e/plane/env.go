package plane

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

// Default sizes of the fake cluster Up prepares: enough for the original
// example and the suite's edits.
const (
	Nodes   = 3
	Volumes = 24
)

// StorageClass is the plane's default storage class, which allows volume
// expansion, and the class of its PersistentVolumes.
const StorageClass = "vtmeta-local"

// Options configure Up.
type Options struct {
	// Dir holds the plane's data, the services' binaries and every log.
	Dir string
	// Metacontroller is the path of a real Metacontroller binary; empty
	// runs the stand-in of package standin.
	Metacontroller string
	// Client is Metacontroller's client rate: the real one's
	// --client-go-qps and --client-go-burst, the stand-in's token bucket.
	// The zero value is Metacontroller's stock rate (standin.Stock).
	Client standin.Limit
	// Workers is the real Metacontroller's --workers (0: its default, 5).
	Workers int
	// Nodes and Volumes size the fake cluster: kwok nodes (64 CPUs, 256Gi
	// and 110 Pods each) and PersistentVolumes in the pool. Zero: Nodes
	// and Volumes.
	Nodes, Volumes int
	// Log, when set, receives a line per step.
	Log func(format string, args ...any)
	// Network says where the apiserver listens: loopback unless a real
	// node joins (test/e2e/realnode).
	Network Network
}

// Env is a control plane with vtmeta installed as users install it: the
// CRDs and admission policy of deploy/, the five layer services running as
// processes, and Metacontroller running deploy/'s CompositeControllers.
type Env struct {
	*Plane
	// Client reaches the apiserver as an administrator.
	Client dynamic.Interface
	// Services are the five layer services, by layer.
	Services map[string]*Service
	// Driver says what plays Metacontroller.
	Driver string
	// StandIn is the stand-in, nil when the real Metacontroller runs.
	StandIn *standin.Metacontroller
	// Rate is Metacontroller's client rate.
	Rate   standin.Limit
	cancel context.CancelFunc
}

// Service is a running layer service, which can be stopped and started
// again on the same address.
type Service struct {
	// Layer is the layer it serves; Addr its HTTP address.
	Layer, Addr string
	bin, log    string
	cmd         *exec.Cmd
	done        chan struct{}
}

// Start starts the service and waits until it is ready.
func (s *Service) Start(ctx context.Context) error {
	log, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// The same settings deploy/base gives the container, on loopback.
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(), "VTMETA_HTTP_ADDR="+s.Addr, "VTMETA_GRPC_ADDR=127.0.0.1:0", "VTMETA_LOG_LEVEL=warn")
	cmd.SysProcAttr = ChildAttr()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start the %s service: %w", s.Layer, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); log.Close(); close(done) }(s.done)
	if err := waitHTTP(ctx, "http://"+s.Addr+"/readyz", nil); err != nil {
		return fmt.Errorf("the %s service: %w", s.Layer, err)
	}
	return nil
}

// Stop kills the service and waits for it to exit.
func (s *Service) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// Up starts a control plane in opts.Dir, prepares fake nodes and volumes,
// installs vtmeta and starts Metacontroller. Stop tears it all down.
func Up(ctx context.Context, opts Options) (*Env, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := BuildPlane(logf); err != nil {
		return nil, err
	}
	// The services compile while the plane's processes start, which
	// mostly wait on each other.
	servicesBuilt := make(chan error, 1)
	go func() { servicesBuilt <- buildServices(opts.Dir) }()
	logf("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok")
	p, err := StartOn(ctx, opts.Dir, opts.Network)
	if err != nil {
		return nil, err
	}
	if opts.Client == (standin.Limit{}) {
		opts.Client = standin.Stock
	}
	opts.Nodes = cmp.Or(opts.Nodes, Nodes)
	opts.Volumes = cmp.Or(opts.Volumes, Volumes)
	e := &Env{Plane: p, Services: map[string]*Service{}, Rate: opts.Client}
	ok := false
	defer func() {
		if !ok {
			e.Stop()
		}
	}()
	if e.Client, err = dynamic.NewForConfig(p.Config); err != nil {
		return nil, err
	}
	logf("creating %d kwok nodes and %d PersistentVolumes", opts.Nodes, opts.Volumes)
	if err := e.fakeCluster(ctx, opts.Nodes, opts.Volumes); err != nil {
		return nil, err
	}
	logf("installing deploy/crds and deploy/policy")
	for _, dir := range []string{"crds", "policy"} {
		objs, err := manifests.Render(dir)
		if err != nil {
			return nil, err
		}
		if err := e.CreateAll(ctx, objs); err != nil {
			return nil, err
		}
	}
	if err := e.established(ctx); err != nil {
		return nil, err
	}
	logf("starting the five layer services (built while the plane started)")
	if err := <-servicesBuilt; err != nil {
		return nil, err
	}
	if err := e.services(ctx, opts.Dir); err != nil {
		return nil, err
	}
	ctrls, err := standin.Load()
	if err != nil {
		return nil, err
	}
	if opts.Metacontroller != "" {
		logf("starting Metacontroller from %s (client: %s)", opts.Metacontroller, opts.Client)
		if err := e.metacontroller(ctx, opts.Metacontroller, opts.Client, opts.Workers, ctrls); err != nil {
			return nil, err
		}
	} else {
		logf("starting the Metacontroller stand-in (test/e2e/standin; set METACONTROLLER_BIN to run the real one; client: %s)", opts.Client)
		hooks := map[string]standin.Hook{}
		for _, c := range ctrls {
			path, _, _ := unstructured.NestedString(c.Raw, "spec", "hooks", "sync", "webhook", "path")
			hooks[c.Layer] = standin.URL("http://" + e.Services[c.Layer].Addr + cmp.Or(path, "/sync"))
		}
		client, err := dynamic.NewForConfig(p.MetacontrollerConfig)
		if err != nil {
			return nil, err
		}
		e.StandIn = &standin.Metacontroller{Store: standin.APIServer{Client: client}, Controllers: ctrls, Hooks: hooks,
			Limiter: opts.Client.Limiter(nil)}
		e.Driver = "the Metacontroller stand-in (test/e2e/standin), client " + opts.Client.String()
		runCtx, cancel := context.WithCancel(context.Background())
		e.cancel = cancel
		go e.StandIn.Run(runCtx, 300*time.Millisecond)
	}
	ok = true
	return e, nil
}

// Stop stops Metacontroller, the services and the plane.
func (e *Env) Stop() {
	if e.cancel != nil {
		e.cancel()
	}
	for _, s := range e.Services {
		s.Stop()
	}
	e.Plane.Stop()
}

// Failures describes what went wrong in Metacontroller lately, for test
// messages.
func (e *Env) Failures() string {
	if e.StandIn != nil {
		return "stand-in errors (last): " + strings.Join(e.StandIn.Errors(10), "\n")
	}
	return "metacontroller log (last): " + e.Logs("metacontroller", 15)
}

// Resource is the resource of a kind Up and the tests write directly.
func Resource(kind string) (schema.GroupVersionResource, bool) {
	r, ok := map[string]schema.GroupVersionResource{
		"CustomResourceDefinition":         {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
		"ValidatingAdmissionPolicy":        {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
		"ValidatingAdmissionPolicyBinding": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
		"CompositeController":              {Group: "metacontroller.k8s.io", Version: "v1alpha1", Resource: "compositecontrollers"},
		"Node":                             {Version: "v1", Resource: "nodes"},
		"PersistentVolume":                 {Version: "v1", Resource: "persistentvolumes"},
		"StorageClass":                     {Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
		"VitessCluster":                    {Group: "vitess.io", Version: "v1alpha1", Resource: "vitessclusters"},
	}[kind]
	return r, ok
}

// CreateAll creates objects of the kinds Resource knows.
func (e *Env) CreateAll(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		gvr, ok := Resource(o.GetKind())
		if !ok {
			return fmt.Errorf("%s %s: the plane does not know its resource", o.GetKind(), o.GetName())
		}
		r := dynamic.ResourceInterface(e.Client.Resource(gvr))
		if o.GetNamespace() != "" {
			r = e.Client.Resource(gvr).Namespace(o.GetNamespace())
		}
		if _, err := r.Create(ctx, o, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// Decode decodes a YAML or JSON object.
func Decode(s string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		return nil, err
	}
	return u, nil
}

// fakeCluster creates kwok nodes (kwok makes their Pods Running and Ready
// without a kubelet) and a pool of PersistentVolumes for claims to bind.
func (e *Env) fakeCluster(ctx context.Context, nodes, volumes int) error {
	var objs []*unstructured.Unstructured
	for i := range nodes {
		n, err := Decode(fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-%d","labels":{"kubernetes.io/hostname":"kwok-node-%d","type":"kwok"},"annotations":{%q:"fake"}},
"status":{"allocatable":{"cpu":"64","memory":"256Gi","pods":"110"},"capacity":{"cpu":"64","memory":"256Gi","pods":"110"}}}`, i, i, FakeNodeAnnotation))
		if err != nil {
			return err
		}
		objs = append(objs, n)
	}
	// The default storage class lets claims grow (the apiserver refuses a
	// larger size otherwise); its volumes are the pre-created pool.
	sc, err := Decode(`{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"` + StorageClass + `",
"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"kubernetes.io/no-provisioner","allowVolumeExpansion":true,"volumeBindingMode":"Immediate"}`)
	if err != nil {
		return err
	}
	objs = append(objs, sc)
	for i := range volumes {
		v, err := Decode(fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-%03d"},
"spec":{"capacity":{"storage":"1Ti"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":%q,"hostPath":{"path":"/tmp/pv-%03d"}}}`, i, StorageClass, i))
		if err != nil {
			return err
		}
		objs = append(objs, v)
	}
	if err := e.CreateAll(ctx, objs); err != nil {
		return err
	}
	// Admission taints new nodes not-ready; without a kubelet and with the
	// node lifecycle controller off (nodes renew no leases), nothing would
	// lift it.
	nodeRes, _ := Resource("Node")
	for i := range nodes {
		if _, err := e.Client.Resource(nodeRes).Patch(ctx, fmt.Sprintf("kwok-node-%d", i), types.MergePatchType,
			[]byte(`{"spec":{"taints":null}}`), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("untaint kwok-node-%d: %w", i, err)
		}
	}
	return nil
}

// established waits until every CRD serves.
func (e *Env) established(ctx context.Context) error {
	crds, _ := Resource("CustomResourceDefinition")
	deadline := time.Now().Add(time.Minute)
	for {
		l, err := e.Client.Resource(crds).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		waiting := ""
		for _, c := range l.Items {
			conds, _, _ := unstructured.NestedSlice(c.Object, "status", "conditions")
			est := false
			for _, x := range conds {
				m, _ := x.(map[string]any)
				est = est || (m["type"] == "Established" && m["status"] == "True")
			}
			if !est {
				waiting = c.GetName()
			}
		}
		if waiting == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CRD %s is not established after a minute", waiting)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildServices builds the five layer services into dir/services, with
// BuildFlags.
func buildServices(dir string) error {
	args := append(append([]string{"build"}, BuildFlags...), "-o", filepath.Join(dir, "services")+"/")
	for _, l := range manifests.Layers {
		args = append(args, "./services/"+l)
	}
	build := exec.Command("go", args...)
	build.Dir = manifests.Repo()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// services starts each of the five layer services buildServices built on
// a loopback port.
func (e *Env) services(ctx context.Context, dir string) error {
	bin := filepath.Join(dir, "services")
	for _, l := range manifests.Layers {
		port, err := freePort()
		if err != nil {
			return err
		}
		s := &Service{Layer: l, Addr: net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), bin: filepath.Join(bin, l), log: e.logPath(l)}
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("%w\n%s", err, e.Logs(l, 10))
		}
		e.Services[l] = s
	}
	return nil
}

// metacontrollerCRDs are the three kinds Metacontroller serves, with
// open schemas: enough for it to run here (its own release installs the
// full ones). Its group is under k8s.io, which asks for the annotation.
var metacontrollerCRDs = []struct{ kind, plural, scope string }{
	{"CompositeController", "compositecontrollers", "Cluster"},
	{"DecoratorController", "decoratorcontrollers", "Cluster"},
	{"ControllerRevision", "controllerrevisions", "Namespaced"},
}

// metacontroller starts the real Metacontroller binary on the plane and
// installs deploy/'s CompositeControllers, their hooks pointed at the
// local services.
func (e *Env) metacontroller(ctx context.Context, bin string, client standin.Limit, workers int, ctrls []standin.Controller) error {
	var crds []*unstructured.Unstructured
	for _, c := range metacontrollerCRDs {
		u, err := Decode(fmt.Sprintf(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"%[2]s.metacontroller.k8s.io","annotations":{"api-approved.kubernetes.io":"unapproved, request not yet submitted"}},
"spec":{"group":"metacontroller.k8s.io","scope":%[3]q,
"names":{"kind":%[1]q,"listKind":"%[1]sList","plural":%[2]q,"singular":%[4]q},
"versions":[{"name":"v1alpha1","served":true,"storage":true,"subresources":{"status":{}},
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`,
			c.kind, c.plural, c.scope, strings.ToLower(c.kind)))
		if err != nil {
			return err
		}
		crds = append(crds, u)
	}
	if err := e.CreateAll(ctx, crds); err != nil {
		return err
	}
	if err := e.established(ctx); err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	health, err := freePort()
	if err != nil {
		return err
	}
	qps, burst := fmt.Sprint(client.QPS), fmt.Sprint(client.Burst)
	if client.IsUnlimited() {
		qps, burst = "-1", "1"
	}
	args := []string{
		fmt.Sprintf("--metrics-address=127.0.0.1:%d", metrics),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", health),
		// Discovery as its shipped manifest runs it: each refresh reads
		// /api and /apis through the same rate-limited client. Every kind
		// it serves here exists before it starts.
		"--client-go-qps=" + qps, "--client-go-burst=" + burst, "--discovery-interval=20s", "--zap-log-level=info",
	}
	if workers > 0 {
		args = append(args, fmt.Sprintf("--workers=%d", workers))
	}
	if err := e.runEnv("metacontroller", []string{"KUBECONFIG=" + e.MetacontrollerKubeconfig}, bin, args...); err != nil {
		return err
	}
	if err := waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", health), nil); err != nil {
		return fmt.Errorf("metacontroller: %w\n%s", err, e.Logs("metacontroller", 20))
	}
	var objs []*unstructured.Unstructured
	for _, c := range ctrls {
		u := &unstructured.Unstructured{Object: c.Raw}
		u = u.DeepCopy()
		for _, h := range []string{"sync", "finalize"} {
			path, found, _ := unstructured.NestedString(u.Object, "spec", "hooks", h, "webhook", "path")
			if !found {
				continue
			}
			url := "http://" + e.Services[c.Layer].Addr + path
			if err := unstructured.SetNestedMap(u.Object, map[string]any{"url": url, "timeout": "10s"}, "spec", "hooks", h, "webhook"); err != nil {
				return err
			}
		}
		objs = append(objs, u)
	}
	if err := e.CreateAll(ctx, objs); err != nil {
		return err
	}
	e.Driver = "Metacontroller (" + bin + "), client " + client.String()
	if workers > 0 {
		e.Driver += fmt.Sprintf(", %d workers", workers)
	}
	return nil
}

// Condition returns the status and message of an object's condition, ""
// when it has none of that type.
func Condition(u *unstructured.Unstructured, typ string) (status, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ {
			status, _ = m["status"].(string)
			message, _ = m["message"].(string)
			return status, message
		}
	}
	return "", ""
}
