package layer

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Ports and paths of a tablet Pod, as current Vitess uses them.
const (
	WebPort   = 15000
	GRPCPort  = 15999
	MySQLPort = 3306
	// DataRoot is VTDATAROOT: the tablet's volume, shared by both containers.
	DataRoot = "/vt/vtdataroot"
	// SharedVT is where the init container copies mysqlctld and Vitess's
	// config files for the mysqld container, whose image has neither.
	SharedVT = "/mnt/vt"
	// MysqlctlSocket is where mysqlctld listens and vttablet reaches it.
	MysqlctlSocket = DataRoot + "/mysqlctl.sock"
	// vitessUser is the uid and gid of the vitess and mysql users in the
	// vitess/lite and mysql images.
	vitessUser = 999
)

// flag renders one command-line flag; names are written with dashes
// (underscored flag names stop working in Vitess v25).
func flag(name, value string) string {
	return "--" + strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-") + "=" + value
}

// flags renders a map of extra flags in name order.
func flags(m map[string]string) []string {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, flag(k, m[k]))
	}
	return out
}

// topologyFlags point a Vitess component at the global topology.
func topologyFlags(t *v1.TopologySpec) []string {
	return []string{
		flag("topo-implementation", t.GetImplementation()),
		flag("topo-global-server-address", t.GetGlobalServerAddress()),
		flag("topo-global-root", t.GetGlobalRoot()),
	}
}

// backupFlags are the flags of a tablet that backs up and restores.
func backupFlags(cfg *v1.ClusterConfig) []string {
	var out []string
	b := cfg.GetBackup()
	if b.GetStorage() != "" {
		out = append(out, flag("backup-storage-implementation", b.GetStorage()))
	}
	if b.GetEngine() != "" {
		out = append(out, flag("backup-engine-implementation", b.GetEngine()))
	}
	out = append(out, flags(b.GetFlags())...)
	out = append(out, flags(cfg.GetBackupFlags())...)
	if b.GetRestoreFromBackup() {
		out = append(out, "--restore-from-backup")
	}
	return out
}

// resources converts a resources block, naming the field of a bad quantity.
func resources(field string, r *v1.ResourceRequirements) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	for _, part := range []struct {
		name string
		in   map[string]string
		out  *corev1.ResourceList
	}{{"limits", r.GetLimits(), &out.Limits}, {"requests", r.GetRequests(), &out.Requests}} {
		for k, v := range part.in {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return out, &spec.FieldError{Field: field + "." + part.name + "." + k, Reason: "InvalidQuantity",
					Message: fmt.Sprintf("%q is not a quantity: write it like 500m, 2, 512Mi or 10Gi", v)}
			}
			if *part.out == nil {
				*part.out = corev1.ResourceList{}
			}
			(*part.out)[corev1.ResourceName(k)] = q
		}
	}
	return out, nil
}

// embedded decodes an embedded Kubernetes object, naming its field if it
// does not fit the Kubernetes type.
func embedded(field string, raw []byte, into any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return &spec.FieldError{Field: field, Reason: "InvalidObject",
			Message: fmt.Sprintf("not a valid %T: %v", into, err)}
	}
	return nil
}

// Pod builds the tablet's Pod: vttablet, and mysqld run by mysqlctld.
func Pod(t *v1.VitessTablet) (*corev1.Pod, error) {
	s := t.GetSpec()
	pool := s.GetPool()
	cfg := s.GetClusterConfig()
	uid := uint32(s.GetUid())
	name := t.GetMetadata().GetName()
	ns := t.GetMetadata().GetNamespace()
	subdomain := names.TabletService(s.GetCluster(), s.GetCell())
	vtImage := firstOf(pool.GetVttablet().GetImage(), pool.GetImage(), cfg.GetImages().GetVttablet(), spec.DefaultVitessImage)
	mysqldImage := firstOf(pool.GetMysql().GetImage(), cfg.GetImages().GetMysqld(), spec.DefaultMysqldImage)

	vtRes, err := resources("spec.pool.vttablet.resources", pool.GetVttablet().GetResources())
	if err != nil {
		return nil, err
	}
	myRes, err := resources("spec.pool.mysql.resources", pool.GetMysql().GetResources())
	if err != nil {
		return nil, err
	}
	podSec := &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(int64(vitessUser)),
		RunAsGroup:     ptr(int64(vitessUser)),
		FSGroup:        ptr(int64(vitessUser)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if raw := pool.GetSecurityContext().GetJson(); len(raw) > 0 {
		podSec = &corev1.PodSecurityContext{}
		if err := embedded("spec.pool.securityContext", raw, podSec); err != nil {
			return nil, err
		}
	}
	sched := pool.GetScheduling()
	var affinity *corev1.Affinity
	if raw := sched.GetAffinity().GetJson(); len(raw) > 0 {
		affinity = &corev1.Affinity{}
		if err := embedded("spec.pool.scheduling.affinity", raw, affinity); err != nil {
			return nil, err
		}
	}
	var tolerations []corev1.Toleration
	for i, r := range sched.GetTolerations() {
		var tol corev1.Toleration
		if err := embedded(fmt.Sprintf("spec.pool.scheduling.tolerations[%d]", i), r.GetJson(), &tol); err != nil {
			return nil, err
		}
		tolerations = append(tolerations, tol)
	}
	var spread []corev1.TopologySpreadConstraint
	for i, r := range sched.GetTopologySpreadConstraints() {
		var c corev1.TopologySpreadConstraint
		if err := embedded(fmt.Sprintf("spec.pool.scheduling.topologySpreadConstraints[%d]", i), r.GetJson(), &c); err != nil {
			return nil, err
		}
		spread = append(spread, c)
	}

	containerSec := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	env := []corev1.EnvVar{{Name: "VTDATAROOT", Value: DataRoot}}
	dataMount := corev1.VolumeMount{Name: "vtdataroot", MountPath: DataRoot}
	sharedMount := corev1.VolumeMount{Name: "vt", MountPath: SharedVT}

	vttabletArgs := append(topologyFlags(cfg.GetTopology()),
		flag("tablet-path", names.Alias(s.GetCell(), uid)),
		flag("tablet-hostname", fmt.Sprintf("%s.%s.%s.svc", name, subdomain, ns)),
		flag("init-keyspace", s.GetKeyspace()),
		flag("init-shard", s.GetShard()),
		flag("init-tablet-type", s.GetType()),
		flag("port", fmt.Sprint(WebPort)),
		flag("grpc-port", fmt.Sprint(GRPCPort)),
		flag("service-map", "grpc-queryservice,grpc-tabletmanager,grpc-updatestream"),
		flag("mysqlctl-socket", MysqlctlSocket),
		flag("health-check-interval", "5s"),
	)
	vttabletArgs = append(vttabletArgs, backupFlags(cfg)...)
	vttabletArgs = append(vttabletArgs, flags(pool.GetVttablet().GetExtraFlags())...)

	mysqlctldArgs := []string{
		flag("tablet-uid", fmt.Sprint(uid)),
		flag("mysql-port", fmt.Sprint(MySQLPort)),
		flag("socket-file", MysqlctlSocket),
		flag("init-db-sql-file", SharedVT+"/config/init_db.sql"),
	}
	mysqlctldArgs = append(mysqlctldArgs, flags(pool.GetMysql().GetExtraFlags())...)

	// The template's labels win over the pool's: selectors depend on them.
	labels := spec.Over(pool.GetLabels(), s.GetTemplate().GetMetadata().GetLabels())
	annotations := spec.Over(s.GetTemplate().GetMetadata().GetAnnotations(), pool.GetAnnotations())

	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			Hostname:                      name,
			Subdomain:                     subdomain,
			SecurityContext:               podSec,
			Affinity:                      affinity,
			Tolerations:                   tolerations,
			NodeSelector:                  sched.GetNodeSelector(),
			TopologySpreadConstraints:     spread,
			PriorityClassName:             sched.GetPriorityClassName(),
			TerminationGracePeriodSeconds: ptr(int64(60)),
			Volumes: []corev1.Volume{
				{Name: "vtdataroot", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}},
				{Name: "vt", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
			InitContainers: []corev1.Container{{
				// The mysqld image has no Vitess: hand it mysqlctld and the
				// config files (my.cnf templates, init_db.sql).
				Name:            "init-vt",
				Image:           vtImage,
				Command:         []string{"sh", "-c", "mkdir -p " + SharedVT + "/bin && cp /vt/bin/mysqlctld " + SharedVT + "/bin/ && cp -R /vt/config " + SharedVT + "/"},
				VolumeMounts:    []corev1.VolumeMount{sharedMount},
				SecurityContext: containerSec,
			}},
			Containers: []corev1.Container{
				{
					Name:    "vttablet",
					Image:   vtImage,
					Command: []string{"/vt/bin/vttablet"},
					Args:    vttabletArgs,
					Env:     env,
					Ports: []corev1.ContainerPort{
						{Name: "web", ContainerPort: WebPort, Protocol: corev1.ProtocolTCP},
						{Name: "grpc", ContainerPort: GRPCPort, Protocol: corev1.ProtocolTCP},
					},
					// Serving health: 200 once the tablet serves queries.
					ReadinessProbe: &corev1.Probe{
						ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/debug/health", Port: intstr.FromString("web")}},
						PeriodSeconds: 10, FailureThreshold: 3,
					},
					// Liveness only asks whether the process answers: a
					// restore from backup may keep a tablet unhealthy for long.
					LivenessProbe: &corev1.Probe{
						ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}},
						InitialDelaySeconds: 60, PeriodSeconds: 20, FailureThreshold: 6,
					},
					Resources:       vtRes,
					VolumeMounts:    []corev1.VolumeMount{dataMount},
					SecurityContext: containerSec,
				},
				{
					Name:    "mysqld",
					Image:   mysqldImage,
					Command: []string{SharedVT + "/bin/mysqlctld"},
					Args:    mysqlctldArgs,
					Env:     append(env, corev1.EnvVar{Name: "VTROOT", Value: SharedVT}),
					Ports:   []corev1.ContainerPort{{Name: "mysql", ContainerPort: MySQLPort, Protocol: corev1.ProtocolTCP}},
					LivenessProbe: &corev1.Probe{
						ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("mysql")}},
						InitialDelaySeconds: 120, PeriodSeconds: 20, FailureThreshold: 6,
					},
					Resources:       myRes,
					VolumeMounts:    []corev1.VolumeMount{dataMount, sharedMount},
					SecurityContext: containerSec,
				},
			},
		},
	}
	return pod, nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func ptr[T any](v T) *T { return &v }
