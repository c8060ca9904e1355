package spec

import (
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// hashed routes table t by the hash of column id.
func hashed() *v1.VSchema {
	return &v1.VSchema{
		Vindexes: map[string]*v1.Vindex{"hash": {Type: "hash"}},
		Tables:   map[string]*v1.VSchemaTable{"t": {ColumnVindexes: []*v1.ColumnVindex{{Column: "id", Name: "hash"}}}},
	}
}

func TestVSchema(t *testing.T) {
	yes := true
	for _, tt := range []struct {
		name    string
		edit    func(v *v1.VSchema)
		sharded bool
		want    string // a substring of the error; "" for none
	}{
		{"valid", func(*v1.VSchema) {}, true, ""},
		{"raw JSON object", func(v *v1.VSchema) { *v = v1.VSchema{Raw: &v1.Raw{Json: []byte(`{"sharded":false}`)}} }, true, ""},
		{"raw not an object", func(v *v1.VSchema) { *v = v1.VSchema{Raw: &v1.Raw{Json: []byte(`[1]`)}} }, true, "vschema.raw: not a JSON object"},
		{"raw and typed", func(v *v1.VSchema) { v.Raw = &v1.Raw{Json: []byte(`{}`)} }, true, "set raw, or sharded, vindexes and tables, not both"},
		{"unknown vindex", func(v *v1.VSchema) { v.Tables["t"].ColumnVindexes[0].Name = "xxhash" }, true, `vschema.tables.t.columnVindexes[0].name: vindex "xxhash" is not in the VSchema's vindexes`},
		{"column and columns", func(v *v1.VSchema) { v.Tables["t"].ColumnVindexes[0].Columns = []string{"a"} }, true, "set column, or columns, one of them"},
		{"table name with a quote", func(v *v1.VSchema) { v.Tables["t'; drop"] = v.Tables["t"] }, true, `"t'; drop" is not a table name`},
		{"column with a space", func(v *v1.VSchema) { v.Tables["t"].ColumnVindexes[0].Column = "a b" }, true, `"a b" is not a column name`},
		{"vindex without a type", func(v *v1.VSchema) { v.Vindexes["hash"].Type = "" }, true, "vschema.vindexes.hash.type"},
		{"unrouted table, sharded", func(v *v1.VSchema) { v.Tables["u"] = &v1.VSchemaTable{} }, true, "vschema.tables.u.columnVindexes: a table of a sharded keyspace needs a vindex"},
		{"unrouted table, unsharded", func(v *v1.VSchema) { v.Tables["u"] = &v1.VSchemaTable{} }, false, ""},
		{"unrouted table, said sharded", func(v *v1.VSchema) { v.Sharded = &yes; v.Tables["u"] = &v1.VSchemaTable{} }, false, "needs a vindex"},
		{"reference table", func(v *v1.VSchema) { v.Tables["u"] = &v1.VSchemaTable{Type: "reference", Source: "lookup.u"} }, true, ""},
		{"bad sequence", func(v *v1.VSchema) {
			v.Tables["t"].AutoIncrement = &v1.AutoIncrement{Column: "id", Sequence: "Lookup.$(x)"}
		}, true, "autoIncrement.sequence"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := hashed()
			tt.edit(v)
			err := VSchema("spec.keyspaces[0].vschema", v, tt.sharded)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestVSchemaJSON: the typed VSchema is written with Vitess's field names;
// sharded follows the shards unless said; raw is compacted, not rewritten.
func TestVSchemaJSON(t *testing.T) {
	no := false
	for _, tt := range []struct {
		name string
		k    *v1.KeyspaceSpec
		want string
	}{
		{"none", &v1.KeyspaceSpec{}, ""},
		{"typed, sharded by its shards", &v1.KeyspaceSpec{Shards: []*v1.ShardSpec{{}}, Vschema: hashed()},
			`{"sharded":true,"vindexes":{"hash":{"type":"hash"}},"tables":{"t":{"column_vindexes":[{"column":"id","name":"hash"}]}}}`},
		{"typed, said unsharded", &v1.KeyspaceSpec{Shards: []*v1.ShardSpec{{}}, Vschema: &v1.VSchema{Sharded: &no,
			Tables: map[string]*v1.VSchemaTable{"s": {Type: "sequence"}}}}, `{"sharded":false,"tables":{"s":{"type":"sequence"}}}`},
		{"raw", &v1.KeyspaceSpec{Vschema: &v1.VSchema{Raw: &v1.Raw{Json: []byte("{ \"tables\": {\"x\": {}} }")}}}, `{"tables":{"x":{}}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VSchemaJSON(tt.k)
			if err != nil || got != tt.want {
				t.Errorf("VSchemaJSON = %s, %v; want %s", got, err, tt.want)
			}
			if got != "" && !json.Valid([]byte(got)) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
}
