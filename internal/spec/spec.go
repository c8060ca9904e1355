// Package spec holds the rules of the vtmeta API that more than one layer
// applies: defaults, deprecated aliases, the tablets merge, shard naming and
// the validation the CRD schema also enforces at admission. A layer checks a
// spec again because CRD validation can be missing (an older CRD, a
// Metacontroller test harness) and an invalid spec must never reach a child.
package spec

import (
	"cmp"
	"crypto/md5"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Default images of current Vitess and its topology.
const (
	DefaultVitessImage = "vitess/lite:v24.0.4"
	DefaultMysqldImage = "mysql:8.4.6"
	DefaultEtcdImage   = "quay.io/coreos/etcd:v3.5.21"
	// EtcdImageRepository is used with an etcd block's version.
	EtcdImageRepository = "quay.io/coreos/etcd"
)

// Topology defaults.
const (
	TopologyImplementation = "etcd2"
	GlobalRoot             = "/vitess/global"
	EtcdClientPort         = 2379
)

// Reclaim policies.
const (
	ReclaimRetain = "Retain"
	ReclaimDelete = "Delete"
)

// UnshardedShard is the name of a keyspace's only shard when it lists none.
const UnshardedShard = "0"

// FieldError is a spec problem: the field, a short reason for metrics, and a
// message that says how to fix it.
type FieldError struct {
	// Field is the JSON path of the field, for example spec.cells[1].name.
	Field string
	// Reason is a CamelCase word, for example DuplicateName.
	Reason string
	// Message says what is wrong and how to fix it.
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Reasons returns the reasons of every FieldError in err.
func Reasons(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Reasons(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []string{fe.Reason}
	}
	return nil
}

func fieldErr(field, reason, format string, args ...any) error {
	return &FieldError{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// isDNSLabel says whether s is a DNS-1123 label: at most 63 lowercase
// letters, digits and '-', starting and ending with a letter or digit.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isHexBytes says whether s is lowercase hex of whole bytes ("" included).
func isHexBytes(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Name checks a cell or keyspace name.
func Name(field, name string) error {
	if name == "" {
		return fieldErr(field, "MissingName", "a name is required")
	}
	if !isDNSLabel(name) {
		return fieldErr(field, "InvalidName", "%q is not a DNS-1123 label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// Replicas checks a replica count against its bounds.
func Replicas(field string, n *int32, most int32) error {
	if n == nil {
		return nil
	}
	if *n < 0 || *n > most {
		return fieldErr(field, "ReplicasOutOfRange", "%d is out of range: use 0 to %d", *n, most)
	}
	return nil
}

// ShardName is the Vitess name of a key range: "start-end", or "0" when the
// keyspace is unsharded (nil).
func ShardName(kr *v1.KeyRange) string {
	if kr == nil {
		return UnshardedShard
	}
	return kr.GetStart() + "-" + kr.GetEnd()
}

// Shards checks that key ranges, listed in key order, tile the whole
// keyspace: every range is lowercase hex bytes with start below end, the
// first starts at the lowest key, each starts where the previous ends, and
// the last ends at the highest key. These are the CRD's CEL rules, so a
// spec the apiserver admits passes here too.
func Shards(field string, shards []*v1.ShardSpec) error {
	var errs []error
	for i, s := range shards {
		f := func() string { return fmt.Sprintf("%s[%d].keyRange", field, i) }
		r := s.GetKeyRange()
		if r == nil {
			errs = append(errs, fieldErr(f(), "MissingKeyRange", "every shard needs a keyRange"))
			continue
		}
		if !isHexBytes(r.GetStart()) || !isHexBytes(r.GetEnd()) {
			errs = append(errs, fieldErr(f(), "InvalidKeyRange", "start %q and end %q must be lowercase hex bytes, such as \"80\" or \"c0\"", r.GetStart(), r.GetEnd()))
			continue
		}
		if r.GetEnd() != "" && r.GetStart() >= r.GetEnd() {
			errs = append(errs, fieldErr(f(), "InvalidKeyRange", "start %q must be below end %q", r.GetStart(), r.GetEnd()))
		}
	}
	if len(errs) > 0 || len(shards) == 0 {
		return errors.Join(errs...)
	}
	name := func(i int) string { return fmt.Sprintf("%d (%s)", i, ShardName(shards[i].GetKeyRange())) }
	if start := shards[0].GetKeyRange().GetStart(); start != "" {
		return fieldErr(field, "KeyRangeGap", "the first shard must start at the lowest key (keyRange.start \"\", not %q); list shards in key order", start)
	}
	for i := 1; i < len(shards); i++ {
		prev, cur := shards[i-1].GetKeyRange(), shards[i].GetKeyRange()
		switch {
		case cur.GetStart() == prev.GetStart():
			return fieldErr(field, "KeyRangeOverlap", "shards %s and %s start at the same key", name(i-1), name(i))
		case cur.GetStart() < prev.GetStart():
			return fieldErr(field, "ShardsOutOfOrder", "shard %s starts below shard %s: list shards in key order, each starting where the previous ends", name(i), name(i-1))
		case prev.GetEnd() == "":
			return fieldErr(field, "KeyRangeOverlap", "shard %s overlaps shard %s, which already reaches the highest key", name(i), name(i-1))
		case cur.GetStart() < prev.GetEnd():
			return fieldErr(field, "KeyRangeOverlap", "shards %s and %s overlap: each keyRange.start must equal the previous shard's keyRange.end", name(i-1), name(i))
		case cur.GetStart() > prev.GetEnd():
			return fieldErr(field, "KeyRangeGap", "gap between shards %s and %s: keyspace ids %s to %s belong to no shard", name(i-1), name(i), prev.GetEnd(), cur.GetStart())
		}
	}
	if end := shards[len(shards)-1].GetKeyRange().GetEnd(); end != "" {
		return fieldErr(field, "KeyRangeGap", "the last shard must end at the highest key (keyRange.end \"\", not %q)", end)
	}
	return nil
}

// Tablets checks a tablets block: replica bounds and alias conflicts.
func Tablets(field string, t *v1.TabletsSpec) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.Replica != nil && t.MasterEligible != nil {
		errs = append(errs, fieldErr(field, "AliasConflict", "set replica or its deprecated alias masterEligible, not both"))
	}
	if t.Rdonly != nil && t.Batch != nil {
		errs = append(errs, fieldErr(field, "AliasConflict", "set rdonly or its deprecated alias batch, not both"))
	}
	pools := []struct {
		name string
		p    *v1.TabletPoolSpec
	}{{"defaults", t.Defaults}, {"replica", t.Replica}, {"rdonly", t.Rdonly}, {"masterEligible", t.MasterEligible}, {"batch", t.Batch}}
	for _, p := range pools {
		if p.p != nil {
			errs = append(errs, Replicas(field+"."+p.name+".replicas", p.p.Replicas, MaxPoolTablets), Pool(field+"."+p.name, p.p))
		}
	}
	return errors.Join(errs...)
}

// Pool checks what a tablet pool passes on: vttablet's and mysqlctld's
// extra flags, its images, labels, annotations, node selector and volume.
func Pool(field string, p *v1.TabletPoolSpec) error {
	return errors.Join(
		ExtraFlags(field+".vttablet.extraFlags", "vttablet", p.GetVttablet().GetExtraFlags()),
		ExtraFlags(field+".mysql.extraFlags", "mysqlctld", p.GetMysql().GetExtraFlags()),
		Placement(field, p.GetImage(), p.GetLabels(), p.GetAnnotations(), p.GetScheduling()),
		Image(field+".vttablet.image", p.GetVttablet().GetImage()),
		Image(field+".mysql.image", p.GetMysql().GetImage()),
		Size(field+".volumeClaim.resources.requests.storage", p.GetVolumeClaim().GetResources().GetRequests()["storage"]),
		Claim(field+".volumeClaim", p.GetVolumeClaim()))
}

// Keyspace checks one keyspace; cells is the set of cell names it may name
// (nil: any valid cell name), served the number of cells it is served in
// (its primary-eligible tablets are counted across them).
func Keyspace(field string, k *v1.KeyspaceSpec, cells map[string]bool, served int32) error {
	errs := []error{Name(field+".name", k.GetName())}
	seen := map[string]bool{}
	for j, c := range k.GetCells() {
		f := fmt.Sprintf("%s.cells[%d]", field, j)
		switch {
		case cells == nil:
			errs = append(errs, Name(f, c))
		case !cells[c]:
			errs = append(errs, fieldErr(f, "UnknownCell", "cell %q is not in spec.cells: add it there or remove it here", c))
		}
		if seen[c] {
			errs = append(errs, fieldErr(f, "DuplicateName", "cell %q is listed twice", c))
		}
		seen[c] = true
	}
	errs = append(errs, Shards(field+".shards", k.GetShards()), Tablets(field+".tablets", k.GetTablets()),
		VSchema(field+".vschema", k.GetVschema(), len(k.GetShards()) > 0))
	for j, s := range k.GetShards() {
		if s.GetTablets() != nil {
			errs = append(errs, Tablets(fmt.Sprintf("%s.shards[%d].tablets", field, j), s.GetTablets()))
		}
	}
	switch d := k.GetDurabilityPolicy(); d {
	case "", DurabilityNone:
	case DurabilitySemiSync, DurabilityCrossCell:
		if n := EligibleTablets(k, served); n < SemiSyncEligible {
			errs = append(errs, fieldErr(field+".durabilityPolicy", "TooFewReplicasForSemiSync",
				"%s needs at least %d primary-eligible tablets per shard across the keyspace's cells (tablets.replica.replicas in each cell), and a shard has %d in %d cells: with fewer, writes stop whenever a replica is down, as during every rollout, and a lost primary cannot fail over. Raise replica replicas or serve the keyspace in more cells, or set durabilityPolicy to none (or leave it unset: vtmeta then picks semi_sync from %d, none below)",
				d, SemiSyncEligible, n, max(served, 1), SemiSyncEligible))
		}
	default:
		errs = append(errs, fieldErr(field+".durabilityPolicy", "InvalidDurabilityPolicy", "%q is not a durability policy: use none, semi_sync or cross_cell", d))
	}
	return errors.Join(errs...)
}

// Component checks a vtctld, vtgate or vtorc block; binary is the Vitess
// binary its extra flags go to.
func Component(field, binary string, c *v1.ComponentSpec) error {
	if c == nil {
		return nil
	}
	return errors.Join(Replicas(field+".replicas", c.Replicas, 1000), ExtraFlags(field+".extraFlags", binary, c.GetExtraFlags()),
		Placement(field, c.GetImage(), c.GetLabels(), c.GetAnnotations(), c.GetScheduling()), Service(field+".service", c.GetService()))
}

// ExtraFlags checks that the binary takes every flag of an extraFlags map:
// an unknown flag makes the binary exit at start, so it is refused here
// with the nearest flag the binary does take.
func ExtraFlags(field, binary string, flags map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		if err := vtflags.Check(binary, k); err != nil {
			errs = append(errs, fieldErr(field+"."+k, "UnknownFlag", "%v", err))
		}
	}
	return errors.Join(errs...)
}

// BackupFlags checks the flags of a backup block and the deprecated raw
// backupFlags: each must be one vttablet takes (vttablet makes and
// restores backups; vtctld gets those of them it takes too).
func BackupFlags(field string, b *v1.BackupSpec, raw map[string]string, rawField string) error {
	return errors.Join(ExtraFlags(field+".flags", "vttablet", b.GetFlags()), ExtraFlags(rawField, "vttablet", raw))
}

// components are the stateless Vitess components of a cell, with the field
// and binary of each.
func components(prefix string, vtctld, vtgate, vtorc, orchestrator *v1.ComponentSpec) []struct {
	field, binary string
	spec          *v1.ComponentSpec
} {
	return []struct {
		field, binary string
		spec          *v1.ComponentSpec
	}{
		{prefix + ".vtctld", "vtctld", vtctld}, {prefix + ".vtgate", "vtgate", vtgate},
		{prefix + ".vtorc", "vtorc", vtorc}, {prefix + ".orchestrator", "vtorc", orchestrator},
	}
}

// ServedIn says whether keyspace k has tablets in cell c: the cells k
// lists, or, when it lists none, every cell with a vtgate block (every cell
// when no cell has one).
func ServedIn(s *v1.VitessClusterSpec, k *v1.KeyspaceSpec, c *v1.CellSpec) bool {
	if len(k.GetCells()) > 0 {
		return slices.Contains(k.GetCells(), c.GetName())
	}
	anyGate := slices.ContainsFunc(s.GetCells(), func(x *v1.CellSpec) bool { return x.GetVtgate() != nil })
	return !anyGate || c.GetVtgate() != nil
}

// ServedCells is the number of the cluster's cells a keyspace is served
// in.
func ServedCells(s *v1.VitessClusterSpec, k *v1.KeyspaceSpec) int32 {
	var n int32
	for _, c := range s.GetCells() {
		if ServedIn(s, k, c) {
			n++
		}
	}
	return n
}

// CellServedCells is, as well as a cell can tell, the number of cells one
// of its keyspaces is served in: the cells the keyspace lists, or, when it
// lists none, the cluster's cells that hold tablets (the cells of every
// keyspace; exact when the keyspaces that list cells list no cell without
// a vtgate).
func CellServedCells(s *v1.VitessCellSpec, k *v1.KeyspaceSpec) int32 {
	if n := len(k.GetCells()); n > 0 {
		return int32(n)
	}
	return int32(max(len(s.GetWatchCells()), 1))
}

// OldestVitess is the oldest Vitess major version vtmeta renders flags
// for: it writes dashed flag names, which older releases do not take.
const OldestVitess = 23

// imageMajor is the major version in a Vitess image's tag (vitess/lite:v24.0.4
// is 24), or -1 when the tag names none (latest, mysql84, a digest).
func imageMajor(image string) int {
	image, _, _ = strings.Cut(image, "@")
	i := strings.LastIndexByte(image, ':')
	if i < 0 || i < strings.LastIndexByte(image, '/') {
		return -1
	}
	tag := strings.TrimPrefix(image[i+1:], "v")
	n, rest := 0, tag
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		n = n*10 + int(rest[0]-'0')
		rest = rest[1:]
	}
	if len(rest) == len(tag) || !strings.HasPrefix(rest, ".") {
		return -1
	}
	return n
}

// OldImages lists the Vitess images of a cluster spec whose tag names a
// version older than OldestVitess, each as "field image": such an image
// cannot run what vtmeta renders. The original example's images are such.
func OldImages(s *v1.VitessClusterSpec) []string {
	var out []string
	// field builds the field's name only for an old image: most are empty.
	check := func(image string, field func() string) {
		if image == "" {
			return
		}
		if m := imageMajor(image); m >= 0 && m < OldestVitess {
			out = append(out, fmt.Sprintf("%s %s (Vitess %d)", field(), image, m))
		}
	}
	named := func(f string) func() string { return func() string { return f } }
	img := s.GetImages()
	for _, x := range []struct{ f, i string }{{"vtctld", img.GetVtctld()}, {"vtgate", img.GetVtgate()}, {"vtorc", img.GetVtorc()}, {"vttablet", img.GetVttablet()}} {
		check(x.i, named("spec.images."+x.f))
	}
	for i, c := range s.GetCells() {
		for _, x := range []struct {
			f string
			c *v1.ComponentSpec
		}{{"vtctld", c.GetVtctld()}, {"vtgate", c.GetVtgate()}, {"vtorc", c.GetVtorc()}} {
			check(x.c.GetImage(), func() string { return fmt.Sprintf("spec.cells[%d].%s.image", i, x.f) })
		}
	}
	pools := func(field func() string, t *v1.TabletsSpec) {
		if t == nil {
			return
		}
		for _, p := range []struct {
			f string
			p *v1.TabletPoolSpec
		}{{"defaults", t.GetDefaults()}, {"replica", t.GetReplica()}, {"rdonly", t.GetRdonly()}, {"masterEligible", t.GetMasterEligible()}, {"batch", t.GetBatch()}} {
			check(p.p.GetImage(), func() string { return field() + "." + p.f + ".image" })
			check(p.p.GetVttablet().GetImage(), func() string { return field() + "." + p.f + ".vttablet.image" })
		}
	}
	for i, k := range s.GetKeyspaces() {
		pools(func() string { return fmt.Sprintf("spec.keyspaces[%d].tablets", i) }, k.GetTablets())
		for j, sh := range k.GetShards() {
			pools(func() string { return fmt.Sprintf("spec.keyspaces[%d].shards[%d].tablets", i, j) }, sh.GetTablets())
		}
	}
	return out
}

// Exposed says whether a cell publishes its vtgates outside the cluster.
func Exposed(c *v1.ComponentSpec) bool {
	t := c.GetService().GetType()
	return t == "LoadBalancer" || t == "NodePort"
}

// noAuthError refuses a vtgate published outside the cluster without
// authentication.
func noAuthError(field string) error {
	return fieldErr(field, "ExposedWithoutAuthentication",
		"a vtgate published outside the cluster (service.type LoadBalancer or NodePort) would take any user and password: set spec.credentials.secretName to a Secret with vtgate-users.json, or keep the Service type ClusterIP")
}

// GlobalCell is the name Vitess keeps for the global topology: a cell of
// that name is always read as the global topology, whatever root it is
// registered with.
const GlobalCell = "global"

// globalCellError refuses a cell named global that would be a Vitess cell.
func globalCellError(field string) error {
	return fieldErr(field, "ReservedCellName",
		"Vitess reserves the cell name %q for the global topology, so a cell of that name can hold no tablets and run no vtgate (it would be registered over the global topology itself): rename the cell, for example to zone1", GlobalCell)
}

// Cluster checks a whole VitessCluster spec and returns every problem found.
func Cluster(s *v1.VitessClusterSpec) error {
	var errs []error
	if len(s.GetSelector().GetMatchLabels()) == 0 && len(s.GetSelector().GetMatchExpressions()) == 0 {
		errs = append(errs, fieldErr("spec.selector", "MissingSelector", "a selector is required: set spec.selector.matchLabels (for example app: vitess)"))
	}
	if labels := s.GetTemplate().GetMetadata().GetLabels(); len(labels) > 0 {
		for k, v := range s.GetSelector().GetMatchLabels() {
			if labels[k] != v {
				errs = append(errs, fieldErr("spec.template.metadata.labels", "SelectorMismatch", "must include the selector's label %s=%s", k, v))
			}
		}
	}
	errs = append(errs,
		UserLabels("spec.selector.matchLabels", s.GetSelector().GetMatchLabels()),
		UserLabels("spec.template.metadata.labels", s.GetTemplate().GetMetadata().GetLabels()),
		UserAnnotations("spec.template.metadata.annotations", s.GetTemplate().GetMetadata().GetAnnotations()),
		UserLabels("spec.labels", s.GetLabels()),
		UserAnnotations("spec.annotations", s.GetAnnotations()),
		Backup("spec.backup", s.GetBackup(), keyspaceShards(s)),
		InitSQL("spec.initSql", s.GetInitSql()))
	for i, r := range s.GetSelector().GetMatchExpressions() {
		if Reserved(r.GetKey()) {
			errs = append(errs, fieldErr(fmt.Sprintf("spec.selector.matchExpressions[%d].key", i), "ReservedKey", "%q is reserved: keys under vitess.io/ and metacontroller.k8s.io/ are vtmeta's and Metacontroller's", r.GetKey()))
		}
	}
	if c := s.GetCredentials(); c != nil {
		errs = append(errs, ObjectName("spec.credentials.secretName", c.GetSecretName()))
	}
	img := s.GetImages()
	for _, x := range []struct{ f, v string }{
		{"vtctld", img.GetVtctld()}, {"vtgate", img.GetVtgate()}, {"vtorc", img.GetVtorc()},
		{"vttablet", img.GetVttablet()}, {"mysqld", img.GetMysqld()}, {"etcd", img.GetEtcd()},
	} {
		errs = append(errs, Image("spec.images."+x.f, x.v))
	}
	if len(s.GetCells()) == 0 {
		errs = append(errs, fieldErr("spec.cells", "NoCells", "at least one cell is required"))
	}
	cells := map[string]bool{}
	etcd := 0
	for i, c := range s.GetCells() {
		f := fmt.Sprintf("spec.cells[%d]", i)
		if err := Name(f+".name", c.GetName()); err != nil {
			errs = append(errs, err)
		} else if cells[c.GetName()] {
			errs = append(errs, fieldErr(f+".name", "DuplicateName", "cell %q is listed twice: cell names must be unique", c.GetName()))
		}
		cells[c.GetName()] = true
		if c.Etcd != nil {
			etcd++
			if etcd > 1 {
				errs = append(errs, fieldErr(f+".etcd", "TooManyTopologies", "only one cell may have an etcd block (the global topology)"))
			}
			errs = append(errs, Etcd(f+".etcd", c.GetEtcd()))
		}
		if c.Vtorc != nil && c.Orchestrator != nil {
			errs = append(errs, fieldErr(f, "AliasConflict", "set vtorc or its deprecated alias orchestrator, not both"))
		}
		for _, comp := range components(f, c.Vtctld, c.Vtgate, c.Vtorc, c.Orchestrator) {
			errs = append(errs, Component(comp.field, comp.binary, comp.spec))
		}
		if Exposed(c.GetVtgate()) && s.GetCredentials() == nil {
			errs = append(errs, noAuthError(f+".vtgate.service.type"))
		}
		if c.GetName() == GlobalCell && (c.GetVtgate() != nil || slices.ContainsFunc(s.GetKeyspaces(), func(k *v1.KeyspaceSpec) bool { return ServedIn(s, k, c) })) {
			errs = append(errs, globalCellError(f+".name"))
		}
	}
	seen := map[string]bool{}
	for i, k := range s.GetKeyspaces() {
		f := fmt.Sprintf("spec.keyspaces[%d]", i)
		if seen[k.GetName()] {
			errs = append(errs, fieldErr(f+".name", "DuplicateName", "keyspace %q is listed twice: keyspace names must be unique", k.GetName()))
		}
		seen[k.GetName()] = true
		errs = append(errs, Keyspace(f, k, cells, ServedCells(s, k)))
		if k.GetDurabilityPolicy() == DurabilityCrossCell {
			served := 0
			for _, c := range s.GetCells() {
				if ServedIn(s, k, c) {
					served++
				}
			}
			if served < 2 {
				errs = append(errs, fieldErr(f+".durabilityPolicy", "TooFewCellsForCrossCell",
					"cross_cell needs primary-eligible tablets in at least two cells, and keyspace %q has tablets in %d: every write would wait for an acknowledgement no cell can give. List two cells or more in cells, or use semi_sync", k.GetName(), served))
			}
		}
	}
	if p := s.GetReclaimPolicy(); p != "" && p != ReclaimRetain && p != ReclaimDelete {
		errs = append(errs, fieldErr("spec.reclaimPolicy", "InvalidReclaimPolicy", "%q is not a reclaim policy: use Retain or Delete", p))
	}
	errs = append(errs, BackupFlags("spec.backup", s.GetBackup(), s.GetBackupFlags(), "spec.backupFlags"), tabletsPerCell(s))
	if n := len(s.GetSelector().GetMatchLabels()); n > MaxSelectorLabels {
		errs = append(errs, fieldErr("spec.selector.matchLabels", "TooManyLabels", "%d labels: at most %d (each layer below adds its own)", n, MaxSelectorLabels))
	}
	if n := len(s.GetTemplate().GetMetadata().GetLabels()); n > MaxTemplateLabels {
		errs = append(errs, fieldErr("spec.template.metadata.labels", "TooManyLabels", "%d labels: at most %d (each layer below adds its own)", n, MaxTemplateLabels))
	}
	return errors.Join(errs...)
}

// keyspaceShards are the shard names of each of the cluster's keyspaces.
func keyspaceShards(s *v1.VitessClusterSpec) map[string][]string {
	out := make(map[string][]string, len(s.GetKeyspaces()))
	for _, k := range s.GetKeyspaces() {
		if len(k.GetShards()) == 0 {
			out[k.GetName()] = []string{UnshardedShard}
			continue
		}
		for _, sh := range k.GetShards() {
			out[k.GetName()] = append(out[k.GetName()], ShardName(sh.GetKeyRange()))
		}
	}
	return out
}

// Limits of a cluster's spec, which the CRD holds too.
const (
	// MaxSelectorLabels and MaxTemplateLabels bound the cluster's selector
	// and template: the layers below add up to six labels of their own,
	// and the lower kinds' schemas take 24 and 48.
	MaxSelectorLabels = 16
	MaxTemplateLabels = 32
	// MaxTabletsPerCell bounds the tablets of a cell: vtmeta renders a
	// VitessTablet, a Pod and a claim for each, and the cell's topology
	// holds them all.
	MaxTabletsPerCell = 4096
)

// tabletsPerCell refuses a cell of more than MaxTabletsPerCell tablets,
// counting each shard's own tablets, naming the keyspace that has most.
func tabletsPerCell(s *v1.VitessClusterSpec) error {
	counts := make([]int, len(s.GetKeyspaces()))
	for i, k := range s.GetKeyspaces() {
		counts[i] = keyspaceTablets(k)
	}
	var errs []error
	for ci, c := range s.GetCells() {
		total, most := 0, -1
		for i, k := range s.GetKeyspaces() {
			if !ServedIn(s, k, c) {
				continue
			}
			total += counts[i]
			if most < 0 || counts[i] > counts[most] {
				most = i
			}
		}
		if total > MaxTabletsPerCell {
			errs = append(errs, fieldErr(fmt.Sprintf("spec.keyspaces[%d]", most), "TooManyTablets",
				"cell %s (spec.cells[%d]) would hold %d tablets, more than %d: keyspace %s alone has %d there; use fewer shards, fewer tablets per shard, or serve keyspaces in fewer cells",
				c.GetName(), ci, total, MaxTabletsPerCell, s.GetKeyspaces()[most].GetName(), counts[most]))
		}
	}
	return errors.Join(errs...)
}

// keyspaceTablets is the number of tablets a keyspace has in each cell it
// is served in, each shard's own tablets laid over the keyspace's.
func keyspaceTablets(k *v1.KeyspaceSpec) int {
	count := func(t *v1.TabletsSpec) int {
		replica, rdonly := Pools(t)
		return int(replica.GetReplicas() + rdonly.GetReplicas())
	}
	if len(k.GetShards()) == 0 {
		return count(k.GetTablets())
	}
	base, n := -1, 0
	for _, sh := range k.GetShards() {
		if sh.GetTablets() != nil {
			n += count(MergeTablets(k.GetTablets(), sh.GetTablets()))
			continue
		}
		if base < 0 {
			base = count(k.GetTablets())
		}
		n += base
	}
	return n
}

// Overlay sets on dst every field src sets: messages merge recursively,
// maps merge key by key, lists and scalars replace. It is the merge the
// original example got from Jsonnet's "+".
func Overlay(dst, src proto.Message) {
	if src == nil || dst == nil {
		return
	}
	overlay(dst.ProtoReflect(), src.ProtoReflect())
}

func overlay(dst, src protoreflect.Message) {
	if !src.IsValid() {
		return
	}
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			dm := dst.Mutable(fd).Map()
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					mv = protoreflect.ValueOfMessage(proto.Clone(mv.Message().Interface()).ProtoReflect())
				}
				dm.Set(k, mv)
				return true
			})
		case fd.IsList():
			dst.Clear(fd)
			dl := dst.Mutable(fd).List()
			for i := range v.List().Len() {
				e := v.List().Get(i)
				if fd.Kind() == protoreflect.MessageKind {
					e = protoreflect.ValueOfMessage(proto.Clone(e.Message().Interface()).ProtoReflect())
				}
				dl.Append(e)
			}
		case fd.Kind() == protoreflect.MessageKind:
			if isInline(fd.Message()) {
				dst.Set(fd, protoreflect.ValueOfMessage(proto.Clone(v.Message().Interface()).ProtoReflect()))
				return true
			}
			overlay(dst.Mutable(fd).Message(), v.Message())
		default:
			dst.Set(fd, v)
		}
		return true
	})
}

// isInline says whether md is an embedded JSON object, which replaces
// rather than merges.
func isInline(md protoreflect.MessageDescriptor) bool {
	r, ok := proto.GetExtension(md.Options(), v1.E_Message).(*v1.MessageRules)
	return ok && r.GetInlineJson()
}

// Pools returns the normalized pools of a tablets block: the replica and
// rdonly pools, each with the defaults merged under it and the deprecated
// aliases (masterEligible, batch) read as their current names. A pool the
// spec does not mention is nil.
func Pools(t *v1.TabletsSpec) (replica, rdonly *v1.TabletPoolSpec) {
	merge := func(p *v1.TabletPoolSpec) *v1.TabletPoolSpec {
		if p == nil {
			return nil
		}
		out := &v1.TabletPoolSpec{}
		Overlay(out, t.GetDefaults())
		Overlay(out, p)
		return out
	}
	t = Normalize(t)
	return merge(t.GetReplica()), merge(t.GetRdonly())
}

// Normalize returns a copy of t with the deprecated aliases read as their
// current names: masterEligible as replica, batch as rdonly.
func Normalize(t *v1.TabletsSpec) *v1.TabletsSpec {
	if t == nil {
		return nil
	}
	out := proto.Clone(t).(*v1.TabletsSpec)
	if out.Replica == nil {
		out.Replica = out.MasterEligible
	}
	if out.Rdonly == nil {
		out.Rdonly = out.Batch
	}
	out.MasterEligible, out.Batch = nil, nil
	return out
}

// MergeTablets returns base with override laid over it (a shard's tablets
// over its keyspace's), both normalized.
func MergeTablets(base, override *v1.TabletsSpec) *v1.TabletsSpec {
	out := &v1.TabletsSpec{}
	Overlay(out, Normalize(base))
	Overlay(out, Normalize(override))
	return out
}

// MaxPoolTablets is the most tablets a pool may have in one shard and cell:
// a tablet's uid is its pool's base times 100 plus its index.
const MaxPoolTablets = 99

// Tablet types a tablet starts as.
const (
	TypeReplica = "replica"
	TypeRdonly  = "rdonly"
)

// TabletUID is the Vitess uid of the index-th tablet of a pool: the first
// six hex digits of the MD5 of "cell/keyspace/shard/type", times 100, plus
// the index — the original Metacontroller example's formula, so tablets it
// created keep their aliases. It stays stable across edits, reorderings and
// pool resizing; pools hold fewer than 100 tablets, so pools never overlap.
func TabletUID(cell, keyspace, shard, tabletType string, index int) uint32 {
	sum := md5.Sum([]byte(cell + "/" + keyspace + "/" + shard + "/" + tabletType))
	base := uint32(sum[0])<<16 | uint32(sum[1])<<8 | uint32(sum[2])
	return base*100 + uint32(index)
}

// Ports of the Vitess servers.
const (
	VtctldGRPCPort = 15999
	WebPort        = 15000
	GRPCPort       = 15999
	MySQLPort      = 3306
	EtcdPeerPort   = 2380
)

// Durability policies.
const (
	// DurabilityNone: the primary commits without waiting for replicas.
	DurabilityNone = "none"
	// DurabilitySemiSync: a replica (a primary-eligible tablet) acknowledges
	// every transaction before it commits, and the primary never falls back
	// to committing alone.
	DurabilitySemiSync = "semi_sync"
	// DurabilityCrossCell: as semi_sync, from a replica in another cell.
	DurabilityCrossCell = "cross_cell"
	// SemiSyncEligible is the fewest primary-eligible tablets per shard
	// semi_sync takes: with two, writes stop whenever the one replica is
	// down (every rollout restarts it) and a lost primary cannot fail over,
	// as no other tablet could acknowledge the new primary's writes.
	SemiSyncEligible = 3
)

// Durability is a keyspace's durability policy: the one it names, or,
// when it names none, semi_sync where every shard has at least
// SemiSyncEligible primary-eligible tablets across the cells the keyspace
// is served in (served of them), else none. Semi-sync takes its
// acknowledgement from a replica in any cell.
func Durability(k *v1.KeyspaceSpec, served int32) string {
	if d := k.GetDurabilityPolicy(); d != "" {
		return d
	}
	if EligibleTablets(k, served) >= SemiSyncEligible {
		return DurabilitySemiSync
	}
	return DurabilityNone
}

// EligibleTablets is the fewest primary-eligible tablets (the replica pool)
// any shard of the keyspace has across the served cells it is served in
// (each cell runs the pool's replicas; fewer than one counts as one). Only
// a shard with tablets of its own is merged; the others count as the
// keyspace does, counted once.
func EligibleTablets(k *v1.KeyspaceSpec, served int32) int32 {
	return eligiblePerCell(k) * max(served, 1)
}

// eligiblePerCell is the fewest primary-eligible tablets any shard of the
// keyspace has in one cell.
func eligiblePerCell(k *v1.KeyspaceSpec) int32 {
	// The replica pool's count, as Pools would merge it, without merging.
	count := func(t *v1.TabletsSpec) int32 {
		p := cmp.Or(t.GetReplica(), t.GetMasterEligible())
		switch {
		case p == nil:
			return 0
		case p.Replicas != nil:
			return p.GetReplicas()
		}
		return t.GetDefaults().GetReplicas()
	}
	if len(k.GetShards()) == 0 {
		return count(k.GetTablets())
	}
	fewest, keyspace := int32(-1), int32(-1)
	for _, sh := range k.GetShards() {
		var n int32
		switch {
		case sh.GetTablets() != nil:
			n = count(MergeTablets(k.GetTablets(), sh.GetTablets()))
		case keyspace >= 0:
			n = keyspace
		default:
			keyspace = count(k.GetTablets())
			n = keyspace
		}
		if fewest < 0 || n < fewest {
			fewest = n
		}
	}
	return fewest
}
