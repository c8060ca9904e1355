package spec

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Config checks what a layer below the cluster knows of its cluster: each
// value it turns into a flag, a path, a label, an annotation or an object
// reference.
func Config(field string, c *v1.ClusterConfig) error {
	var errs []error
	img := c.GetImages()
	for _, x := range []struct{ f, v string }{
		{"vtctld", img.GetVtctld()}, {"vtgate", img.GetVtgate()}, {"vtorc", img.GetVtorc()},
		{"vttablet", img.GetVttablet()}, {"mysqld", img.GetMysqld()}, {"etcd", img.GetEtcd()},
	} {
		errs = append(errs, Image(field+".images."+x.f, x.v))
	}
	t := c.GetTopology()
	if impl := t.GetImplementation(); impl != "" && impl != TopologyImplementation {
		errs = append(errs, fieldErr(field+".topology.implementation", "InvalidTopology", "%q: vtmeta runs the topology on etcd (%s)", impl, TopologyImplementation))
	}
	if a := t.GetGlobalServerAddress(); a != "" {
		errs = append(errs, HostPort(field+".topology.globalServerAddress", a))
	}
	errs = append(errs, TopologyPath(field+".topology.globalRoot", t.GetGlobalRoot()), TopologyPath(field+".topology.cellRoot", t.GetCellRoot()))
	if a := c.GetVtctldAddress(); a != "" {
		errs = append(errs, HostPort(field+".vtctldAddress", a))
	}
	if p := c.GetReclaimPolicy(); p != "" && p != ReclaimRetain && p != ReclaimDelete {
		errs = append(errs, fieldErr(field+".reclaimPolicy", "InvalidReclaimPolicy", "%q is not a reclaim policy: use Retain or Delete", p))
	}
	errs = append(errs, UserLabels(field+".labels", c.GetLabels()), UserAnnotations(field+".annotations", c.GetAnnotations()))
	if cr := c.GetCredentials(); cr != nil {
		errs = append(errs, ObjectName(field+".credentials.secretName", cr.GetSecretName()))
	}
	errs = append(errs, InitSQL(field+".initSql", c.GetInitSql()))
	errs = append(errs, Backup(field+".backup", c.GetBackup(), nil))
	return errors.Join(errs...)
}

// InitSQL checks the init SQL reference: a ConfigMap name and key.
func InitSQL(field string, s *v1.InitSQL) error {
	if s == nil {
		return nil
	}
	errs := []error{ObjectName(field+".configMapName", s.GetConfigMapName())}
	if k := s.GetKey(); k != "" && !configMapKey(k) {
		errs = append(errs, fieldErr(field+".key", "InvalidKey", "%q is not a ConfigMap key: use letters, digits, '-', '_' and '.'", k))
	}
	return errors.Join(errs...)
}

// configMapKey says whether k is a valid ConfigMap (and Secret) key.
func configMapKey(k string) bool {
	if k == "" || len(k) > 253 || k == "." || k == ".." {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// Placement checks what a user gives of a component's or pool's Pods
// beside its flags: image, labels, annotations and node selector.
func Placement(field, image string, labels, annotations map[string]string, s *v1.Scheduling) error {
	return errors.Join(
		Image(field+".image", image),
		UserLabels(field+".labels", labels),
		UserAnnotations(field+".annotations", annotations),
		UserLabels(field+".scheduling.nodeSelector", s.GetNodeSelector()))
}

// Service checks a component's Service block.
func Service(field string, s *v1.ServiceSpec) error {
	if s == nil {
		return nil
	}
	errs := []error{UserLabels(field+".labels", s.GetLabels()), UserAnnotations(field+".annotations", s.GetAnnotations())}
	if t := s.GetType(); t != "" && !slices.Contains([]string{"ClusterIP", "NodePort", "LoadBalancer"}, t) {
		errs = append(errs, fieldErr(field+".type", "InvalidService", "%q: use ClusterIP, NodePort or LoadBalancer", t))
	}
	if p := s.GetExternalTrafficPolicy(); p != "" && p != "Cluster" && p != "Local" {
		errs = append(errs, fieldErr(field+".externalTrafficPolicy", "InvalidService", "%q: use Cluster or Local", p))
	}
	for i, r := range s.GetLoadBalancerSourceRanges() {
		if _, _, err := net.ParseCIDR(r); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.loadBalancerSourceRanges[%d]", field, i), "InvalidService", "%q is not a CIDR, such as 10.0.0.0/8", r))
		}
	}
	return errors.Join(errs...)
}

// Etcd checks an etcd block.
func Etcd(field string, e *v1.EtcdSpec) error {
	if e == nil {
		return nil
	}
	errs := []error{
		Image(field+".image", e.GetImage()),
		UserLabels(field+".labels", e.GetLabels()),
		UserAnnotations(field+".annotations", e.GetAnnotations()),
		UserLabels(field+".scheduling.nodeSelector", e.GetScheduling().GetNodeSelector()),
		Size(field+".volumeClaim.resources.requests.storage", e.GetVolumeClaim().GetResources().GetRequests()["storage"]),
		Claim(field+".volumeClaim", e.GetVolumeClaim()),
	}
	if v := e.GetVersion(); v != "" && !etcdVersionPattern.MatchString(v) {
		errs = append(errs, fieldErr(field+".version", "InvalidImage", "%q is not an etcd version: write it like 3.5.21", v))
	}
	if e.Size != nil && (e.GetSize() < 1 || e.GetSize() > 9) {
		errs = append(errs, fieldErr(field+".size", "ReplicasOutOfRange", "%d is out of range: use 1 to 9 (an odd number)", e.GetSize()))
	}
	return errors.Join(errs...)
}

// etcdVersionPattern is an etcd release, which becomes the image's tag.
var etcdVersionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([.-][A-Za-z0-9.]+)?$`)

// Claim checks a volume claim template's references: its storage class
// name and its selector's labels.
func Claim(field string, c *v1.PersistentVolumeClaimSpec) error {
	var errs []error
	if c.GetStorageClassName() != "" {
		errs = append(errs, ObjectName(field+".storageClassName", c.GetStorageClassName()))
	}
	for i, m := range c.GetAccessModes() {
		if !slices.Contains([]string{"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}, m) {
			errs = append(errs, fieldErr(fmt.Sprintf("%s.accessModes[%d]", field, i), "InvalidClaim", "%q: use ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod", m))
		}
	}
	if m := c.GetVolumeMode(); m != "" && m != "Filesystem" && m != "Block" {
		errs = append(errs, fieldErr(field+".volumeMode", "InvalidClaim", "%q: use Filesystem or Block", m))
	}
	errs = append(errs, labelsOf(field+".selector.matchLabels", c.GetSelector().GetMatchLabels()))
	return errors.Join(errs...)
}

// labelsOf checks labels that select objects vtmeta does not make (a
// claim's volumes): valid keys and values.
func labelsOf(field string, m map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, fieldErr(field, "InvalidLabel", "label key %q: %s", k, strings.Join(msgs, "; ")))
		} else if msgs := validation.IsValidLabelValue(m[k]); len(msgs) > 0 {
			errs = append(errs, fieldErr(field+"."+k, "InvalidLabel", "label value %q: %s", m[k], strings.Join(msgs, "; ")))
		}
	}
	return errors.Join(errs...)
}
