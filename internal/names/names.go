// Package names builds the names of the objects vtmeta creates: deterministic,
// independent of owners, and always short enough for Kubernetes, whatever
// names users choose.
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxLength is the longest name vtmeta gives an object: a DNS-1123 label, so
// every name can also be a Service name, a Pod hostname and a label value.
const MaxLength = 63

// hashLength is the number of hex digits of the hash a shortened name ends in.
const hashLength = 8

// Join joins parts with "-" into a DNS-1123 label. A name longer than
// MaxLength is cut and ends in a hash of the whole name, so distinct long
// names stay distinct and the same parts always give the same name.
func Join(parts ...string) string {
	return JoinMax(MaxLength, parts...)
}

// JoinMax is Join with a length limit of its own (for names that get a
// suffix appended by Kubernetes, such as a StatefulSet's Pods).
func JoinMax(limit int, parts ...string) string {
	kept := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	full := strings.ToLower(strings.Join(kept, "-"))
	if len(full) <= limit {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	head := strings.TrimRight(full[:limit-hashLength-1], "-.")
	return head + "-" + hex.EncodeToString(sum[:])[:hashLength]
}

// Shard turns a Vitess shard name into a DNS-1123 label part: the dashes
// that open or close a key range become "x", so "-80" is "x-80", "80-" is
// "80-x" and "-" is "x-x", as the original Metacontroller example named them.
func Shard(shard string) string {
	if strings.HasPrefix(shard, "-") {
		shard = "x" + shard
	}
	if strings.HasSuffix(shard, "-") {
		shard += "x"
	}
	return shard
}

// Cell is the name of a cluster's VitessCell.
func Cell(cluster, cell string) string { return Join(cluster, cell) }

// Keyspace is the name of a keyspace's VitessKeyspace in one cell.
func Keyspace(cluster, cell, keyspace string) string { return Join(cluster, cell, keyspace) }

// ShardObject is the name of a shard's VitessShard in one cell.
func ShardObject(cluster, cell, keyspace, shard string) string {
	return Join(cluster, cell, keyspace, Shard(shard))
}

// ShardBudget is the name of the PodDisruptionBudget over a shard's
// tablets in every cell (a shard's own objects are per cell and name it).
func ShardBudget(cluster, keyspace, shard string) string {
	return Join(cluster, keyspace, Shard(shard), "tablets")
}

// Etcd is the name of the cluster's topology etcd (its StatefulSet); its
// Pods are named Etcd-<ordinal>, so the name leaves room for that suffix.
func Etcd(cluster string) string { return JoinMax(MaxLength-4, cluster, "etcd") }

// EtcdClient is the name of the Service clients reach the topology etcd at.
func EtcdClient(cluster string) string { return Join(Etcd(cluster), "client") }

// EtcdPeer is the name of the headless Service etcd members find each
// other through.
func EtcdPeer(cluster string) string { return Join(Etcd(cluster), "peer") }

// Alias is a tablet's Vitess alias: <cell>-<uid as 10 digits>.
func Alias(cell string, uid uint32) string { return fmt.Sprintf("%s-%010d", cell, uid) }

// Tablet is the name of a tablet's VitessTablet, and of its Pod and volume
// claim: <cluster>-vttablet-<cell>-<uid as 10 digits>, as the original
// Metacontroller example named the tablet's Pod and claim.
func Tablet(cluster, cell string, uid uint32) string {
	return Join(cluster, "vttablet", cell, fmt.Sprintf("%010d", uid))
}

// TabletService is the name of a cell's headless Service that gives every
// tablet Pod of the cell a DNS name (the Pods' subdomain).
func TabletService(cluster, cell string) string { return Join(cluster, cell, "vttablet") }

// Vtctld is the name of a cell's vtctld Deployment and Service.
func Vtctld(cluster, cell string) string { return Join(cluster, cell, "vtctld") }

// Vtorc is the name of a cell's vtorc Deployment and Service.
func Vtorc(cluster, cell string) string { return Join(cluster, cell, "vtorc") }

// Vtgate is the name of a cell's vtgate Deployment and Service.
func Vtgate(cluster, cell string) string { return Join(cluster, cell, "vtgate") }

// Valid checks an object's name as vtmeta names objects: a DNS-1123 label,
// and for a Service a DNS-1035 label (starting with a letter), which
// Kubernetes requires of Service names before 1.36.
func Valid(kind, name string) error {
	var msgs []string
	if kind == "Service" {
		msgs = validation.IsDNS1035Label(name)
	} else {
		msgs = validation.IsDNS1123Label(name)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s name %q: %s", kind, name, strings.Join(msgs, "; "))
	}
	return nil
}
