package layer

import (
	"cmp"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vtmeta/vtmeta/internal/backup"
	"github.com/vtmeta/vtmeta/internal/dbpod"
	"github.com/vtmeta/vtmeta/internal/kube"
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
	// MysqlctlSocket is where mysqlctld listens and vttablet reaches it.
	MysqlctlSocket = DataRoot + "/mysqlctl.sock"
)

// Pod builds the tablet's Pod: vttablet, and mysqld run by mysqlctld.
func Pod(t *v1.VitessTablet) (*corev1.Pod, error) {
	s := t.GetSpec()
	pool := s.GetPool()
	cfg := s.GetClusterConfig()
	name := t.GetMetadata().GetName()
	ns := t.GetMetadata().GetNamespace()
	subdomain := names.TabletService(s.GetCluster(), s.GetCell())
	vtImage := cmp.Or(pool.GetVttablet().GetImage(), pool.GetImage(), cfg.GetImages().GetVttablet(), spec.DefaultVitessImage)
	mysqldImage := cmp.Or(pool.GetMysql().GetImage(), cfg.GetImages().GetMysqld(), spec.DefaultMysqldImage)
	tm := stopTimings(pool)

	vtRes, err := kube.Resources("spec.pool.vttablet.resources", pool.GetVttablet().GetResources())
	if err != nil {
		return nil, err
	}
	myRes, err := kube.Resources("spec.pool.mysql.resources", pool.GetMysql().GetResources())
	if err != nil {
		return nil, err
	}
	podSec, err := kube.SecurityContext("spec.pool.securityContext", pool.GetSecurityContext().GetJson())
	if err != nil {
		return nil, err
	}
	containerSec := kube.ContainerSecurity()
	env := []corev1.EnvVar{{Name: "VTDATAROOT", Value: DataRoot}}
	dataMount := corev1.VolumeMount{Name: "vtdataroot", MountPath: DataRoot}
	lifecycleMount := corev1.VolumeMount{Name: "lifecycle", MountPath: LifecycleDir}
	backups := backup.PodParts(cfg)

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
			TerminationGracePeriodSeconds: ptr(tm.grace),
			Volumes: slices.Concat([]corev1.Volume{
				{Name: "vtdataroot", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}},
				{Name: "lifecycle", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			}, dbpod.Volumes(cfg), backups.Volumes),
			// The mysqld image has no Vitess: hand it mysqlctld and the
			// config files (my.cnf templates), and write the init SQL and
			// the passwords (internal/dbpod).
			InitContainers: []corev1.Container{dbpod.InitContainer(cfg, vtImage, "mysqlctld", containerSec)},
			Containers: []corev1.Container{
				{
					// No liveness probe: mysqld is stopped on purpose for a
					// builtin backup or a restore, and mysqlctld exits, so
					// the container restarts, when mysqld dies on its own.
					Name:            "mysqld",
					Image:           mysqldImage,
					Command:         []string{dbpod.SharedVT + "/bin/mysqlctld"},
					Args:            mysqlctldArgs(t, tm),
					Env:             append(env, corev1.EnvVar{Name: "VTROOT", Value: dbpod.SharedVT}),
					Ports:           []corev1.ContainerPort{{Name: "mysql", ContainerPort: MySQLPort, Protocol: corev1.ProtocolTCP}},
					Lifecycle:       mysqldLifecycle(tm),
					Resources:       myRes,
					VolumeMounts:    []corev1.VolumeMount{dataMount, dbpod.SharedMount, lifecycleMount, dbpod.CredentialsMount},
					SecurityContext: containerSec,
				},
				{
					Name:            "vttablet",
					Image:           vtImage,
					Command:         startCommand("/vt/bin/vttablet"),
					Args:            vttabletArgs(t, fmt.Sprintf("%s.%s.%s.svc", name, subdomain, ns)),
					Env:             append(slices.Clone(env), backups.Env...),
					Ports:           []corev1.ContainerPort{{Name: "web", ContainerPort: WebPort, Protocol: corev1.ProtocolTCP}, {Name: "grpc", ContainerPort: GRPCPort, Protocol: corev1.ProtocolTCP}},
					ReadinessProbe:  vttabletReadiness(),
					StartupProbe:    vttabletStartup(),
					LivenessProbe:   vttabletLiveness(),
					Lifecycle:       preStop(reparentScript(t, tm)),
					Resources:       vtRes,
					VolumeMounts:    append([]corev1.VolumeMount{dataMount, lifecycleMount, dbpod.CredentialsMount}, backups.Mounts...),
					SecurityContext: containerSec,
				},
			},
		},
	}
	if err := kube.Schedule("spec.pool.scheduling", pool.GetScheduling(), &pod.Spec); err != nil {
		return nil, err
	}
	return pod, nil
}

// vttabletReadiness is 200 once the tablet serves queries.
func vttabletReadiness() *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/debug/health", Port: intstr.FromString("web")}},
		PeriodSeconds: 10, FailureThreshold: 3,
	}
}

// vttabletLiveness only asks whether the process answers: a restore from
// backup may keep a tablet unhealthy for long.
func vttabletLiveness() *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}},
		InitialDelaySeconds: 60, PeriodSeconds: 20, FailureThreshold: 6,
	}
}

func ptr[T any](v T) *T { return &v }
