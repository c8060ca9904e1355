package layer

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vtmeta/vtmeta/internal/backup"
	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/shell"
	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// ComponentLabel names the Vitess component of a Pod or Service.
const ComponentLabel = spec.LabelComponent

// Defaults of a cell's components.
const (
	defaultEtcdSize     = 3
	defaultEtcdStorage  = "1Gi"
	defaultVtgates      = 2
	etcdDataDir         = "/var/lib/etcd"
	etcdClientPort      = spec.EtcdClientPort
	etcdPeerPort        = spec.EtcdPeerPort
	registrationBackoff = 30
)

// builder builds the objects of one cell.
type builder struct {
	cell *v1.VitessCell
	s    *v1.VitessCellSpec
	ns   string
	cfg  *v1.ClusterConfig
}

func (b builder) cluster() string { return b.s.GetCluster() }

// meta is the metadata of a child: the cell's template labels (which
// satisfy its selector) with the component's, over the cluster's extras.
func (b builder) meta(name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   b.ns,
		Labels:      b.labels(component),
		Annotations: spec.Over(b.cfg.GetAnnotations(), b.s.GetTemplate().GetMetadata().GetAnnotations()),
	}
}

func (b builder) labels(component string) map[string]string {
	return spec.Over(b.cfg.GetLabels(), spec.Labels(b.s.GetSelector(), b.s.GetTemplate(), ComponentLabel, component))
}

// selector picks a component's Pods of this cell.
func (b builder) selector(component string) map[string]string {
	sel, _ := spec.Narrow(b.s.GetSelector(), b.s.GetTemplate(), ComponentLabel, component)
	return sel.GetMatchLabels()
}

func (b builder) svc(name, component string, headless bool, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: b.meta(name, component),
		Spec:       corev1.ServiceSpec{Selector: b.selector(component), Ports: ports},
	}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
		// Tablets and etcd members find each other before they are ready.
		s.Spec.PublishNotReadyAddresses = true
	}
	return s
}

func port(name string, p int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: p, TargetPort: intstr.FromString(name), Protocol: corev1.ProtocolTCP}
}

func containerPort(name string, p int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: p, Protocol: corev1.ProtocolTCP}
}

func budget(meta metav1.ObjectMeta, sel map[string]string, maxUnavailable, minAvailable int32) *policyv1.PodDisruptionBudget {
	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta,
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}},
	}
	if minAvailable > 0 {
		v := intstr.FromInt32(minAvailable)
		pdb.Spec.MinAvailable = &v
	} else {
		v := intstr.FromInt32(maxUnavailable)
		pdb.Spec.MaxUnavailable = &v
	}
	return pdb
}

// etcdImage is the etcd image: the block's image, its version of the
// upstream image, or the cluster's.
func (b builder) etcdImage() string {
	e := b.s.GetEtcd()
	if e.GetImage() != "" {
		return e.GetImage()
	}
	if e.GetVersion() != "" {
		return spec.EtcdImageRepository + ":v" + strings.TrimPrefix(e.GetVersion(), "v")
	}
	return cmp.Or(b.cfg.GetImages().GetEtcd(), spec.DefaultEtcdImage)
}

// Etcd returns the topology etcd: its peer and client Services, its
// StatefulSet (each member with its own data volume) and a budget that
// keeps a quorum.
func (b builder) Etcd() ([]kube.Object, error) {
	e := b.s.GetEtcd()
	name := names.Etcd(b.cluster())
	peer := names.EtcdPeer(b.cluster())
	size := int32(defaultEtcdSize)
	if e.Size != nil {
		size = e.GetSize()
	}
	res, err := kube.Resources("spec.etcd.resources", e.GetResources())
	if err != nil {
		return nil, err
	}
	storage, err := resource.ParseQuantity(cmp.Or(e.GetVolumeClaim().GetResources().GetRequests()["storage"], defaultEtcdStorage))
	if err != nil {
		return nil, &spec.FieldError{Field: "spec.etcd.volumeClaim.resources.requests.storage", Reason: "InvalidQuantity", Message: "not a size: write it like 10Gi"}
	}
	podSec, err := kube.SecurityContext("spec.etcd.securityContext", nil)
	if err != nil {
		return nil, err
	}
	var members []string
	for i := range size {
		members = append(members, fmt.Sprintf("%s-%d=http://%s-%d.%s.%s.svc:%d", name, i, name, i, peer, b.ns, etcdPeerPort))
	}
	self := fmt.Sprintf("$(POD_NAME).%s.%s.svc", peer, b.ns)
	args := []string{
		"--name=$(POD_NAME)",
		"--data-dir=" + etcdDataDir,
		fmt.Sprintf("--listen-client-urls=http://0.0.0.0:%d", etcdClientPort),
		fmt.Sprintf("--advertise-client-urls=http://%s:%d", self, etcdClientPort),
		fmt.Sprintf("--listen-peer-urls=http://0.0.0.0:%d", etcdPeerPort),
		fmt.Sprintf("--initial-advertise-peer-urls=http://%s:%d", self, etcdPeerPort),
		"--initial-cluster=" + strings.Join(members, ","),
		"--initial-cluster-state=new",
		"--initial-cluster-token=" + name,
	}
	args = append(args, vtflags.Map(e.GetExtraFlags())...)
	sel := b.selector("etcd")
	podMeta := b.meta("", "etcd")
	podMeta.Labels = spec.Over(e.GetLabels(), podMeta.Labels)
	podMeta.Annotations = spec.Over(podMeta.Annotations, e.GetAnnotations())
	// The claim template is written as the apiserver stores it (type,
	// volume mode, phase): Metacontroller replaces this list whole, so any
	// field the apiserver adds would make every sync rewrite the StatefulSet.
	filesystem := corev1.PersistentVolumeFilesystem
	claim := corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      accessModes(e.GetVolumeClaim().GetAccessModes()),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: storage}},
			StorageClassName: storageClass(e.GetVolumeClaim()),
			VolumeMode:       &filesystem,
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	sts := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: b.meta(name, "etcd"),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &size,
			ServiceName: peer,
			// Members need each other to form the cluster: start them together.
			PodManagementPolicy:  appsv1.ParallelPodManagement,
			Selector:             &metav1.LabelSelector{MatchLabels: sel},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claim},
			// Deleting the cell deletes its topology data with it: a
			// cluster created again under the same name must not come up
			// on a stale topology naming tablets that no longer exist.
			// Scaling etcd down keeps the removed member's data.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta,
				Spec: corev1.PodSpec{
					SecurityContext: podSec,
					Containers: []corev1.Container{{
						Name:    "etcd",
						Image:   b.etcdImage(),
						Command: []string{"etcd"},
						Args:    args,
						Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
						Ports: []corev1.ContainerPort{containerPort("client", etcdClientPort), containerPort("peer", etcdPeerPort)},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("client")}}, PeriodSeconds: 10},
						Resources:       res,
						VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: etcdDataDir}},
						SecurityContext: kube.ContainerSecurity(),
					}},
				},
			},
		},
	}
	if err := kube.Schedule("spec.etcd.scheduling", e.GetScheduling(), &sts.Spec.Template.Spec); err != nil {
		return nil, err
	}
	return []kube.Object{
		b.svc(peer, "etcd", true, port("client", etcdClientPort), port("peer", etcdPeerPort)),
		b.svc(names.EtcdClient(b.cluster()), "etcd", false, port("client", etcdClientPort)),
		sts,
		budget(b.meta(name, "etcd"), sel, 0, size/2+1),
	}, nil
}

func accessModes(modes []string) []corev1.PersistentVolumeAccessMode {
	if len(modes) == 0 {
		return []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	out := make([]corev1.PersistentVolumeAccessMode, 0, len(modes))
	for _, m := range modes {
		out = append(out, corev1.PersistentVolumeAccessMode(m))
	}
	return out
}

// component is one stateless Vitess server of the cell.
type component struct {
	name, label, binary, field string
	spec                       *v1.ComponentSpec
	image                      string
	replicas                   int32
	args                       []string
	ports                      []corev1.ContainerPort
	servicePorts               []corev1.ServicePort
	// volumes and mounts are the Pod's volumes and the container's mounts,
	// env the container's environment.
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	env     []corev1.EnvVar
	// public names the only ports a Service published outside the cluster
	// (LoadBalancer, NodePort) carries; empty keeps them all.
	public []string
	// waitCells are the cells that must be registered before the
	// component starts, after the topology itself (wait.go).
	waitCells []string
}

// Deployment returns a component's Deployment and Service (and a budget
// when it has more than one replica).
func (b builder) Deployment(c component) ([]kube.Object, error) {
	cs := c.spec
	replicas := c.replicas
	if cs.Replicas != nil {
		replicas = cs.GetReplicas()
	}
	res, err := kube.Resources(c.field+".resources", cs.GetResources())
	if err != nil {
		return nil, err
	}
	podSec, err := kube.SecurityContext(c.field+".securityContext", cs.GetSecurityContext().GetJson())
	if err != nil {
		return nil, err
	}
	sel := b.selector(c.label)
	podMeta := b.meta("", c.label)
	podMeta.Labels = spec.Over(cs.GetLabels(), podMeta.Labels)
	podMeta.Annotations = spec.Over(podMeta.Annotations, cs.GetAnnotations())
	args := append(append([]string{}, c.args...), vtflags.Map(cs.GetExtraFlags())...)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: b.meta(c.name, c.label),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta,
				Spec: corev1.PodSpec{
					SecurityContext: podSec,
					Containers: []corev1.Container{{
						Name:    c.label,
						Image:   cmp.Or(cs.GetImage(), c.image),
						Command: []string{"/vt/bin/" + c.binary},
						Args:    args,
						Env:     c.env,
						Ports:   c.ports,
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/debug/status", Port: intstr.FromString("web")}}, PeriodSeconds: 10},
						LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}}, InitialDelaySeconds: 30, PeriodSeconds: 20, FailureThreshold: 6},
						Resources:       res,
						VolumeMounts:    c.mounts,
						SecurityContext: kube.ContainerSecurity(),
					}},
					InitContainers: []corev1.Container{b.waitForTopology(cmp.Or(cs.GetImage(), c.image), c.waitCells)},
					Volumes:        c.volumes,
				},
			},
		},
	}
	if err := kube.Schedule(c.field+".scheduling", cs.GetScheduling(), &d.Spec.Template.Spec); err != nil {
		return nil, err
	}
	if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		// Spread replicas across nodes unless the spec says otherwise.
		d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: sel},
		}}
	}
	svc := b.svc(c.name, c.label, false, c.servicePorts...)
	if ss := cs.GetService(); ss != nil {
		svc.Spec.Type = corev1.ServiceType(ss.GetType())
		svc.Annotations = spec.Over(svc.Annotations, ss.GetAnnotations())
		svc.Labels = spec.Over(ss.GetLabels(), svc.Labels)
		svc.Spec.LoadBalancerSourceRanges = ss.GetLoadBalancerSourceRanges()
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicy(ss.GetExternalTrafficPolicy())
		if external(ss) && len(c.public) > 0 {
			svc.Spec.Ports = slices.DeleteFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return !slices.Contains(c.public, p.Name) })
		}
	}
	out := []kube.Object{d, svc}
	if replicas > 1 {
		out = append(out, budget(b.meta(c.name, c.label), sel, 1, 0))
	}
	return out, nil
}

// Vtctld is the cell's vtctld. It reads the backup storage (GetBackups
// runs in it), so it gets the storage's flags, volume and credentials.
func (b builder) Vtctld() component {
	backups := backup.PodParts(b.cfg)
	return component{
		name: names.Vtctld(b.cluster(), b.s.GetName()), label: "vtctld", binary: "vtctld", field: "spec.vtctld",
		spec: orEmpty(b.s.GetVtctld()), image: cmp.Or(b.cfg.GetImages().GetVtctld(), spec.DefaultVitessImage), replicas: 1,
		args: append(append(vtflags.Topology(b.cfg.GetTopology()),
			vtflags.Flag("port", fmt.Sprint(spec.WebPort)),
			vtflags.Flag("grpc-port", fmt.Sprint(spec.GRPCPort)),
			vtflags.Flag("service-map", "grpc-vtctl,grpc-vtctld"),
		), backup.Flags("vtctld", b.cfg)...),
		ports:        []corev1.ContainerPort{containerPort("web", spec.WebPort), containerPort("grpc", spec.GRPCPort)},
		servicePorts: []corev1.ServicePort{port("web", spec.WebPort), port("grpc", spec.GRPCPort)},
		volumes:      backups.Volumes,
		mounts:       backups.Mounts,
		env:          backups.Env,
	}
}

// Vtorc is the cell's vtorc, which elects and repairs primaries. Its
// --cell (required from Vitess 25) must be a registered cell: its own, or,
// in a cell that only hosts the topology, the first cell with tablets.
func (b builder) Vtorc() component {
	args := vtflags.Topology(b.cfg.GetTopology())
	var wait []string
	if cell := b.vtorcCell(); cell != "" {
		args = append(args, vtflags.Flag("cell", cell))
		wait = []string{cell}
	}
	return component{
		waitCells: wait,
		name:      names.Vtorc(b.cluster(), b.s.GetName()), label: "vtorc", binary: "vtorc", field: "spec.vtorc",
		spec: orEmpty(b.s.GetVtorc()), image: cmp.Or(b.cfg.GetImages().GetVtorc(), spec.DefaultVitessImage), replicas: 1,
		args:         append(args, vtflags.Flag("port", fmt.Sprint(spec.WebPort))),
		ports:        []corev1.ContainerPort{containerPort("web", spec.WebPort)},
		servicePorts: []corev1.ServicePort{port("web", spec.WebPort)},
	}
}

// vtorcCell is the registered cell a vtorc of this cell names.
func (b builder) vtorcCell() string {
	if Registered(b.s) {
		return b.s.GetName()
	}
	if w := b.s.GetWatchCells(); len(w) > 0 {
		return w[0]
	}
	return ""
}

// Registered says whether a cell is a Vitess cell, registered in the global
// topology: one that holds tablets or runs vtgates. A cell with neither
// only hosts the topology, vtctld or vtorc, and is not registered: Vitess
// reserves the name global for the global topology itself, and the
// original example's global cell is that kind of cell.
func Registered(s *v1.VitessCellSpec) bool {
	return len(s.GetKeyspaces()) > 0 || s.GetVtgate() != nil
}

// watched are the cells a vtgate of this cell watches: every cell with
// tablets, and its own.
func (b builder) watched() string {
	cells := b.s.GetWatchCells()
	if !slices.Contains(cells, b.s.GetName()) {
		cells = append(slices.Clone(cells), b.s.GetName())
	}
	return strings.Join(cells, ",")
}

// external says whether a Service is published outside the cluster.
func external(ss *v1.ServiceSpec) bool {
	return ss.GetType() == string(corev1.ServiceTypeLoadBalancer) || ss.GetType() == string(corev1.ServiceTypeNodePort)
}

// vtgateAuthDir is where vtgate reads its users from the credentials Secret.
const vtgateAuthDir = "/vt/vtgate-auth"

// VtgateUsersKey is the credentials Secret's key of vtgate's static
// authentication file.
const VtgateUsersKey = "vtgate-users.json"

// vtgateAuth is how vtgate authenticates MySQL clients: with the cluster's
// credentials, the users of the Secret's vtgate-users.json (reloaded every
// 30 seconds, so a changed password needs no restart); without, anyone.
func (b builder) vtgateAuth() (args []string, vols []corev1.Volume, mounts []corev1.VolumeMount) {
	c := b.cfg.GetCredentials()
	if c == nil {
		return []string{vtflags.Flag("mysql-auth-server-impl", "none")}, nil, nil
	}
	args = []string{
		vtflags.Flag("mysql-auth-server-impl", "static"),
		vtflags.Flag("mysql-auth-server-static-file", vtgateAuthDir+"/users.json"),
		vtflags.Flag("mysql-auth-static-reload-interval", "30s"),
	}
	vols = []corev1.Volume{{Name: "auth", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: c.GetSecretName(), Items: []corev1.KeyToPath{{Key: VtgateUsersKey, Path: "users.json"}}}}}}
	mounts = []corev1.VolumeMount{{Name: "auth", MountPath: vtgateAuthDir, ReadOnly: true}}
	return args, vols, mounts
}

// Vtgate is the cell's query gateway. It watches the tablets of every cell
// that has some, so it can route to a primary wherever it runs, and buffers
// primary traffic through a reparent. Published
// outside the cluster, its Service carries the MySQL port alone: the web
// and gRPC ports take no authentication.
func (b builder) Vtgate() component {
	auth, vols, mounts := b.vtgateAuth()
	return component{
		name: names.Vtgate(b.cluster(), b.s.GetName()), label: "vtgate", binary: "vtgate", field: "spec.vtgate",
		spec: orEmpty(b.s.GetVtgate()), image: cmp.Or(b.cfg.GetImages().GetVtgate(), spec.DefaultVitessImage), replicas: defaultVtgates,
		args: append(append(vtflags.Topology(b.cfg.GetTopology()),
			vtflags.Flag("cell", b.s.GetName()),
			vtflags.Flag("cells-to-watch", b.watched()),
			vtflags.Flag("tablet-types-to-wait", "PRIMARY,REPLICA"),
			// A planned reparent (a rollout, a drain) stalls a shard's
			// primary traffic for seconds: vtgate holds it (at most 10 s
			// a query, 20 s a failover) and sends it to the new primary,
			// where without this the client gets an error.
			vtflags.Flag("enable-buffer", "true"),
			// vtgate learns where a tablet listens from the topology, on
			// this tick (1 min by default). A tablet that restarted in a
			// rollout rewrites its record; until vtgate reads it again it
			// sends that tablet nothing, so a primary moved onto it stays
			// unreachable past the buffer's 20 s. 5 s keeps that window
			// shorter than a restarted tablet takes to become Ready.
			vtflags.Flag("tablet-refresh-interval", "5s"),
			vtflags.Flag("port", fmt.Sprint(spec.WebPort)),
			vtflags.Flag("grpc-port", fmt.Sprint(spec.GRPCPort)),
			vtflags.Flag("mysql-server-port", fmt.Sprint(spec.MySQLPort)),
			vtflags.Flag("service-map", "grpc-vtgateservice"),
		), auth...),
		ports:        []corev1.ContainerPort{containerPort("web", spec.WebPort), containerPort("grpc", spec.GRPCPort), containerPort("mysql", spec.MySQLPort)},
		servicePorts: []corev1.ServicePort{port("web", spec.WebPort), port("grpc", spec.GRPCPort), port("mysql", spec.MySQLPort)},
		volumes:      vols,
		mounts:       mounts,
		public:       []string{"mysql"},
		waitCells:    strings.Split(b.watched(), ","),
	}
}

// TabletService is the cell's headless Service that names every tablet Pod.
func (b builder) TabletService() *corev1.Service {
	return b.svc(names.TabletService(b.cluster(), b.s.GetName()), "vttablet", true,
		port("web", spec.WebPort), port("grpc", spec.GRPCPort))
}

// job runs one idempotent vtctldclient script with its arguments (the
// values it acts on, never part of its text: see package shell). Its name
// carries a hash of the script, its arguments and what else it depends on
// (more): a Job cannot change, so a new registration is a new Job and an
// unchanged one is never run again.
func (b builder) job(kind, subject, script string, args []string, more ...string) *batchv1.Job {
	h := sha256.New()
	for _, part := range append(append([]string{script}, args...), more...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	name := names.JoinMax(names.MaxLength, b.cluster(), b.s.GetName(), kind, subject, hex.EncodeToString(h.Sum(nil))[:8])
	backoff := int32(registrationBackoff)
	podSec, _ := kube.SecurityContext("", nil)
	meta := b.meta("", "registration")
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: b.meta(name, "registration"),
		Spec: batchv1.JobSpec{
			BackoffLimit: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: meta,
				Spec: corev1.PodSpec{
					RestartPolicy:   corev1.RestartPolicyOnFailure,
					SecurityContext: podSec,
					Containers: []corev1.Container{{
						Name:            kind,
						Image:           cmp.Or(b.cfg.GetImages().GetVtctld(), spec.DefaultVitessImage),
						Command:         shell.Command(kind, script, args...),
						SecurityContext: kube.ContainerSecurity(),
					}},
				},
			},
		},
	}
}

// registerScript adds a cell to the global topology unless it is there:
// $1 vtctld's address, $2 the cell, $3 its root, $4 its topology's address.
const registerScript = `server=$1 cell=$2 root=$3 address=$4
vtctldclient "--server=$server" GetCellInfo "$cell" >/dev/null 2>&1 ||
  vtctldclient "--server=$server" AddCellInfo "--root=$root" "--server-address=$address" "$cell"`

// RegisterCell is the Job that adds the cell to the global topology, once.
func (b builder) RegisterCell() *batchv1.Job {
	cell := b.s.GetName()
	return b.job("register", "cell", registerScript, []string{b.cfg.GetVtctldAddress(), cell,
		cmp.Or(b.cfg.GetTopology().GetCellRoot(), "/vitess/"+cell), topologyClientAddress(b.cfg)})
}

// rebuildScript builds a cell's serving graph of keyspaces, retrying for
// up to half an hour: $1 vtctld's address, $2 the cell, then the keyspaces.
const rebuildScript = `server=$1 cell=$2; shift 2
i=0
until vtctldclient "--server=$server" RebuildKeyspaceGraph "--cells=$cell" "$@" &&
  vtctldclient "--server=$server" RebuildVSchemaGraph "--cells=$cell"; do
  i=$((i+1)); [ $i -ge 360 ] && exit 1; sleep 5
done`

// RebuildServingGraph is the Job that builds, in this cell's topology, the
// serving graph (SrvKeyspace, SrvVSchema) of keyspaces whose tablets are all
// in other cells: vtgate reads it from its own cell, and a tablet builds it
// only for its own. It retries until every shard exists (the first tablet
// of a shard creates it), for up to half an hour. Its name carries the
// keyspaces and their shards, so a new shard builds it again.
func (b builder) RebuildServingGraph() *batchv1.Job {
	args := []string{b.cfg.GetVtctldAddress(), b.s.GetName()}
	var shards []string
	for _, k := range b.s.GetRemoteKeyspaces() {
		args = append(args, k.GetName())
		shards = append(shards, k.GetName()+"/"+cmp.Or(k.GetShardsHash(), strings.Join(k.GetShards(), ",")))
	}
	return b.job("rebuild", "serving", rebuildScript, args, shards...)
}

// keyspaceScript creates a keyspace with its durability policy, or sets
// the policy of an existing one: $1 vtctld's address, $2 the keyspace,
// $3 the policy.
const keyspaceScript = `server=$1 keyspace=$2 policy=$3
if vtctldclient "--server=$server" GetKeyspace "$keyspace" >/dev/null 2>&1; then
  vtctldclient "--server=$server" SetKeyspaceDurabilityPolicy "--durability-policy=$policy" "$keyspace"
else
  vtctldclient "--server=$server" CreateKeyspace "--durability-policy=$policy" "$keyspace"
fi`

// SetUpKeyspace is the Job that creates a keyspace in the topology with its
// durability policy, or sets the policy of an existing one.
func (b builder) SetUpKeyspace(k *v1.KeyspaceSetup) *batchv1.Job {
	return b.job("keyspace", k.GetName(), keyspaceScript,
		[]string{b.cfg.GetVtctldAddress(), k.GetName(), cmp.Or(k.GetDurabilityPolicy(), spec.DurabilityNone)})
}

// topologyClientAddress is the etcd client address cells register with.
func topologyClientAddress(cfg *v1.ClusterConfig) string {
	return cfg.GetTopology().GetGlobalServerAddress()
}

// storageClass is a claim template's storage class, nil for the default.
func storageClass(c *v1.PersistentVolumeClaimSpec) *string {
	if c == nil {
		return nil
	}
	return c.StorageClassName
}

// orEmpty is c, or an empty block that takes every default.
func orEmpty(c *v1.ComponentSpec) *v1.ComponentSpec {
	if c == nil {
		return &v1.ComponentSpec{}
	}
	return c
}
