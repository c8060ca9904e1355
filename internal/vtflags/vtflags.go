// Package vtflags renders Vitess command lines the way current Vitess wants
// them: dashed flag names only (underscored names stop working in Vitess
// v25), in a stable order.
package vtflags

import (
	"maps"
	"slices"
	"strings"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Flag renders one flag; a name written with underscores gets dashes.
func Flag(name, value string) string {
	return "--" + strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-") + "=" + value
}

// Map renders a map of flags in name order.
func Map(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Flag(k, m[k]))
	}
	return out
}

// Topology points a Vitess server at the global topology.
func Topology(t *v1.TopologySpec) []string {
	return []string{
		Flag("topo-implementation", t.GetImplementation()),
		Flag("topo-global-server-address", t.GetGlobalServerAddress()),
		Flag("topo-global-root", t.GetGlobalRoot()),
	}
}

// XtrabackupUser is the MySQL user the xtrabackup engine backs up as: the
// dba user of Vitess's init_db.sql, which xtrabackup reaches over the
// socket (Vitess passes it no password).
const XtrabackupUser = "vt_dba"

// Backup are the backup flags of a binary that reads or writes backups
// (vttablet, vtctld): the storage and engine, what the engine requires
// (xtrabackup: its user and the xbstream stream mode, as the tar default
// does not work with XtraBackup 8), then the block's own flags and the
// deprecated raw ones, which win. Only flags the binary takes are kept:
// vtctld takes the storage flags but none of an engine's. restore adds
// --restore-from-backup when the cluster asks for it (tablets only).
func Backup(binary string, cfg *v1.ClusterConfig, restore bool) []string {
	b := cfg.GetBackup()
	flags := map[string]string{}
	if b.GetStorage() != "" {
		flags["backup-storage-implementation"] = b.GetStorage()
	}
	if b.GetEngine() != "" {
		flags["backup-engine-implementation"] = b.GetEngine()
	}
	if b.GetEngine() == "xtrabackup" {
		flags["xtrabackup-user"] = XtrabackupUser
		flags["xtrabackup-stream-mode"] = "xbstream"
	}
	for _, m := range []map[string]string{b.GetFlags(), cfg.GetBackupFlags()} {
		for k, v := range m {
			flags[Name(k)] = v
		}
	}
	for k := range flags {
		if !Knows(binary, k) {
			delete(flags, k)
		}
	}
	out := Map(flags)
	if restore && b.GetRestoreFromBackup() {
		out = append(out, "--restore-from-backup")
	}
	return out
}
