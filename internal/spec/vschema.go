package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// identifierPattern is a MySQL identifier as a VSchema names tables,
// columns and vindexes: letters, digits, _ and $, at most 64.
var identifierPattern = regexp.MustCompile(`^[A-Za-z0-9_$]{1,64}$`)

// vindexNamePattern is a vindex's name, which may be qualified.
var vindexNamePattern = regexp.MustCompile(`^[A-Za-z0-9_$.-]{1,64}$`)

// qualifiedPattern is a table name, unqualified or as keyspace.table.
var qualifiedPattern = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[A-Za-z0-9_$]{1,64}$`)

// VSchema checks a keyspace's VSchema: the names a VSchema must hold, that
// every column vindex names a vindex of it, and, written raw, that it is
// one JSON object. What only Vitess knows (a primary vindex that is not
// unique, a lookup's parameters) Vitess refuses when vtmeta applies it,
// and the cell reports its message.
func VSchema(field string, v *v1.VSchema, sharded bool) error {
	if v == nil {
		return nil
	}
	var errs []error
	if raw := v.GetRaw().GetJson(); len(raw) > 0 {
		if v.Sharded != nil || len(v.GetVindexes()) > 0 || len(v.GetTables()) > 0 {
			errs = append(errs, fieldErr(field, "InvalidVSchema", "set raw, or sharded, vindexes and tables, not both"))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			errs = append(errs, fieldErr(field+".raw", "InvalidVSchema", "not a JSON object: %v", err))
		}
		return errors.Join(errs...)
	}
	if v.Sharded != nil {
		sharded = v.GetSharded()
	}
	for _, name := range slices.Sorted(maps.Keys(v.GetVindexes())) {
		f := field + ".vindexes." + name
		if !vindexNamePattern.MatchString(name) {
			errs = append(errs, fieldErr(f, "InvalidVSchema", "%q is not a vindex name: use letters, digits, _ $ . -", name))
		}
		if t := v.GetVindexes()[name].GetType(); t == "" {
			errs = append(errs, fieldErr(f+".type", "InvalidVSchema", "a vindex needs a type, such as hash"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(v.GetTables())) {
		t := v.GetTables()[name]
		f := field + ".tables." + name
		if !identifierPattern.MatchString(name) {
			errs = append(errs, fieldErr(f, "InvalidVSchema", "%q is not a table name: use letters, digits, _ and $, at most 64", name))
		}
		for i, cv := range t.GetColumnVindexes() {
			cf := fmt.Sprintf("%s.columnVindexes[%d]", f, i)
			if _, ok := v.GetVindexes()[cv.GetName()]; !ok {
				errs = append(errs, fieldErr(cf+".name", "InvalidVSchema", "vindex %q is not in the VSchema's vindexes", cv.GetName()))
			}
			switch {
			case (cv.GetColumn() == "") == (len(cv.GetColumns()) == 0):
				errs = append(errs, fieldErr(cf, "InvalidVSchema", "set column, or columns, one of them"))
			case cv.GetColumn() != "" && !identifierPattern.MatchString(cv.GetColumn()):
				errs = append(errs, fieldErr(cf+".column", "InvalidVSchema", "%q is not a column name", cv.GetColumn()))
			}
			for j, c := range cv.GetColumns() {
				if !identifierPattern.MatchString(c) {
					errs = append(errs, fieldErr(fmt.Sprintf("%s.columns[%d]", cf, j), "InvalidVSchema", "%q is not a column name", c))
				}
			}
		}
		if a := t.GetAutoIncrement(); a != nil {
			if !identifierPattern.MatchString(a.GetColumn()) {
				errs = append(errs, fieldErr(f+".autoIncrement.column", "InvalidVSchema", "%q is not a column name", a.GetColumn()))
			}
			if !qualifiedPattern.MatchString(a.GetSequence()) {
				errs = append(errs, fieldErr(f+".autoIncrement.sequence", "InvalidVSchema", "%q is not a table, or keyspace.table", a.GetSequence()))
			}
		}
		if s := t.GetSource(); s != "" && !qualifiedPattern.MatchString(s) {
			errs = append(errs, fieldErr(f+".source", "InvalidVSchema", "%q is not a table, or keyspace.table", s))
		}
		if sharded && t.GetType() == "" && t.GetPinned() == "" && len(t.GetColumnVindexes()) == 0 {
			errs = append(errs, fieldErr(f+".columnVindexes", "InvalidVSchema", "a table of a sharded keyspace needs a vindex to route its rows (or type reference, or pinned)"))
		}
	}
	return errors.Join(errs...)
}

// Sharded says whether a keyspace's VSchema is sharded: as it says, or,
// when it does not, whether the keyspace lists shards.
func Sharded(k *v1.KeyspaceSpec) bool {
	if v := k.GetVschema(); v != nil && v.Sharded != nil {
		return v.GetSharded()
	}
	return len(k.GetShards()) > 0
}

// VSchemaJSON is a keyspace's VSchema as Vitess takes it: compact JSON
// with Vitess's field names, keys in order; "" when the keyspace has none.
func VSchemaJSON(k *v1.KeyspaceSpec) (string, error) {
	v := k.GetVschema()
	if v == nil {
		return "", nil
	}
	if raw := v.GetRaw().GetJson(); len(raw) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return "", fmt.Errorf("vschema.raw: %w", err)
		}
		return b.String(), nil
	}
	type columnVindex struct {
		Column  string   `json:"column,omitempty"`
		Columns []string `json:"columns,omitempty"`
		Name    string   `json:"name"`
	}
	type autoIncrement struct {
		Column   string `json:"column"`
		Sequence string `json:"sequence"`
	}
	type table struct {
		Type           string         `json:"type,omitempty"`
		ColumnVindexes []columnVindex `json:"column_vindexes,omitempty"`
		AutoIncrement  *autoIncrement `json:"auto_increment,omitempty"`
		Pinned         string         `json:"pinned,omitempty"`
		Source         string         `json:"source,omitempty"`
	}
	type vindex struct {
		Type   string            `json:"type"`
		Params map[string]string `json:"params,omitempty"`
		Owner  string            `json:"owner,omitempty"`
	}
	out := struct {
		Sharded  bool              `json:"sharded"`
		Vindexes map[string]vindex `json:"vindexes,omitempty"`
		Tables   map[string]table  `json:"tables,omitempty"`
	}{Sharded: Sharded(k), Vindexes: map[string]vindex{}, Tables: map[string]table{}}
	for name, vi := range v.GetVindexes() {
		out.Vindexes[name] = vindex{Type: vi.GetType(), Params: vi.GetParams(), Owner: vi.GetOwner()}
	}
	for name, t := range v.GetTables() {
		tt := table{Type: t.GetType(), Pinned: t.GetPinned(), Source: t.GetSource()}
		for _, cv := range t.GetColumnVindexes() {
			tt.ColumnVindexes = append(tt.ColumnVindexes, columnVindex{Column: cv.GetColumn(), Columns: cv.GetColumns(), Name: cv.GetName()})
		}
		if a := t.GetAutoIncrement(); a != nil {
			tt.AutoIncrement = &autoIncrement{Column: a.GetColumn(), Sequence: a.GetSequence()}
		}
		out.Tables[name] = tt
	}
	b, err := json.Marshal(out) // encoding/json writes map keys in order
	if err != nil {
		return "", fmt.Errorf("vschema: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
