package spec

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// What a layer turns into names, labels, flags and paths comes from fields
// its parent wrote, and anyone who may write the parent may write those
// fields: every layer checks each of them before it builds anything, so a
// value that could not name a child never renames (and so drops) one.

// ClusterName checks a cluster's name as the layers use it: a DNS-1123
// label that starts with a letter (a DNS-1035 label), because every
// Service of the cluster is named after it and Kubernetes before 1.36
// takes only DNS-1035 Service names.
func ClusterName(field, name string) error {
	if err := Name(field, name); err != nil {
		return err
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fieldErr(field, "InvalidName", "%q starts with a digit: a cluster's name must start with a letter, as its Services are named after it (Kubernetes takes only DNS-1035 Service names before 1.36); rename the cluster, for example to db-%s", name, name)
	}
	return nil
}

// shardNamePattern is a Vitess shard name vtmeta renders: "0", or a key
// range as start-end in lowercase hex bytes.
var shardNamePattern = regexp.MustCompile(`^(0|([0-9a-f]{2})*-([0-9a-f]{2})*)$`)

// ValidShardName checks that a shard's Vitess name has the form of one:
// "0", or start-end of a key range in lowercase hex bytes.
func ValidShardName(field, name string) error {
	if name == "" {
		return fieldErr(field, "MissingName", "the shard's Vitess name is required")
	}
	if !shardNamePattern.MatchString(name) || len(name) > 65 {
		return fieldErr(field, "InvalidShardName", "%q is not a shard name: use 0 for an unsharded keyspace, or start-end of its key range in lowercase hex bytes, such as -80 or 80-", name)
	}
	return nil
}

// ShardObjectName checks a shard's Vitess name against its key range: the
// name the keyspace layer derives from it ("-80", "80-"), or "0" for the
// unsharded shard, which has none.
func ShardObjectName(field, name string, kr *v1.KeyRange) error {
	if err := ValidShardName(field, name); err != nil {
		return err
	}
	if want := ShardName(kr); name != want {
		return fieldErr(field, "ShardNameMismatch", "%q does not name the key range, which is shard %q", name, want)
	}
	return nil
}

// imagePattern is a container image reference: a repository path of
// lowercase components, an optional registry host and port, tag and
// digest; narrower than what some registries take, never wider.
var imagePattern = regexp.MustCompile(`^([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)

// Image checks a container image reference; empty takes the default.
func Image(field, image string) error {
	if image == "" || (len(image) <= 512 && imagePattern.MatchString(image)) {
		return nil
	}
	return fieldErr(field, "InvalidImage", "%q is not an image reference: write it like vitess/lite:v24.0.4 or registry.example.com:5000/vitess/lite@sha256:<digest>", image)
}

// HostPort checks a host:port address the layers pass to a Vitess flag: a
// DNS-1123 subdomain (or an IP) and a port.
func HostPort(field, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			err = fmt.Errorf("port %q is not 1 to 65535", port)
		} else if net.ParseIP(host) == nil {
			if msgs := validation.IsDNS1123Subdomain(host); len(msgs) > 0 {
				err = errors.New(strings.Join(msgs, "; "))
			}
		}
	}
	if err != nil {
		return fieldErr(field, "InvalidAddress", "%q is not host:port (%v); the cluster layer writes it: is this object made by vtmeta?", addr, err)
	}
	return nil
}

// topologyPathPattern is a path in the topology: absolute, of plain names.
var topologyPathPattern = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)

// TopologyPath checks a topology root such as /vitess/global.
func TopologyPath(field, path string) error {
	if path == "" || (len(path) <= 256 && topologyPathPattern.MatchString(path) && !strings.Contains(path, "/..") && !strings.Contains(path, "/./")) {
		return nil
	}
	return fieldErr(field, "InvalidPath", "%q is not a topology path: write it like /vitess/global", path)
}

// Size checks a volume size: a quantity above zero. Empty is no size; the
// caller says whether one is needed.
func Size(field, size string) error {
	if size == "" {
		return nil
	}
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return fieldErr(field, "InvalidQuantity", "%q is not a size: write it like 10Gi", size)
	}
	if q.Sign() <= 0 {
		return fieldErr(field, "InvalidQuantity", "%q is not a size above zero: a volume needs room, write it like 10Gi", size)
	}
	return nil
}

// ObjectName checks the name of an object a spec refers to (a Secret, a
// ConfigMap, a StorageClass): a DNS-1123 subdomain.
func ObjectName(field, name string) error {
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return fieldErr(field, "InvalidName", "%q is not an object name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}
