package layer

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// BenchFixture returns a steady-state request body for a cluster of cells
// cells and keyspaces keyspaces of shards shards each, every keyspace served
// in every cell but the first (the global one).
func BenchFixture(tb testing.TB, cells, keyspaces, shards int) []byte {
	tb.Helper()
	var cellList, ksList []any
	var served []any
	for i := range cells {
		name := "global"
		if i > 0 {
			name = fmt.Sprintf("zone%d", i)
			served = append(served, name)
		}
		cell := map[string]any{"name": name, "vtgate": map[string]any{"replicas": 3, "resources": map[string]any{"limits": map[string]any{"cpu": "1", "memory": "1Gi"}}}}
		if i == 0 {
			cell = map[string]any{"name": name, "etcd": map[string]any{"size": 3}, "vtctld": map[string]any{"replicas": 1}, "vtorc": map[string]any{"replicas": 1}}
		}
		cellList = append(cellList, cell)
	}
	step := 256 / shards
	for k := range keyspaces {
		var sh []any
		for s := range shards {
			start, end := "", ""
			if s > 0 {
				start = fmt.Sprintf("%02x", s*step)
			}
			if s < shards-1 {
				end = fmt.Sprintf("%02x", (s+1)*step)
			}
			sh = append(sh, map[string]any{"keyRange": map[string]any{"start": start, "end": end}})
		}
		ksList = append(ksList, map[string]any{"name": fmt.Sprintf("ks%d", k), "cells": served, "shards": sh,
			"tablets": map[string]any{
				"defaults": map[string]any{"volumeClaim": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "resources": map[string]any{"requests": map[string]any{"storage": "100Gi"}}}},
				"replica":  map[string]any{"replicas": 2, "vttablet": map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "2", "memory": "2Gi"}}}},
				"rdonly":   map[string]any{"replicas": 1},
			}})
	}
	parent := map[string]any{
		"apiVersion": "vitess.io/v1alpha1", "kind": "VitessCluster",
		"metadata": map[string]any{"name": "bench", "namespace": "default", "uid": "0b7e4c1e-0000-4000-8000-00000000b001", "generation": 1},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "bench"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "bench"}}},
			"cells":    cellList, "keyspaces": ksList},
	}
	var req v1.ClusterSyncRequest
	bare, err := golden.SteadyRequest(parent, nil, Service.ChildTypes)
	if err != nil {
		tb.Fatal(err)
	}
	if err := kjson.Unmarshal(bare, &req); err != nil {
		tb.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := golden.SteadyRequest(parent, resp.GetChildren(), Service.ChildTypes)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkSync measures the pure sync function over a decoded request.
func BenchmarkSync(b *testing.B) {
	body := BenchFixture(b, 3, 4, 32)
	var req v1.ClusterSyncRequest
	if err := kjson.Unmarshal(body, &req); err != nil {
		b.Fatal(err)
	}
	b.Run("3cells-4keyspaces-32shards", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Sync(golden.Context(), &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBenchFixtureIsSteady checks the benchmark measures the common case: a
// cluster at rest, where the hook changes nothing.
func TestBenchFixtureIsSteady(t *testing.T) {
	body := BenchFixture(t, 3, 4, 32)
	var req v1.ClusterSyncRequest
	if err := kjson.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetStatus(); st.GetCells() != 3 || st.GetReadyCells() != 3 || st.GetUpdatedCells() != 3 {
		t.Errorf("fixture is not steady: %v", st)
	}
	t.Logf("fixture: %d KB", len(body)/1024)
}

// BenchmarkDecode measures reading the request body once into the typed
// envelope, beside json.Valid, the cost of scanning the bytes once.
func BenchmarkDecode(b *testing.B) {
	body := BenchFixture(b, 3, 4, 32)
	b.Run("kjson", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req v1.ClusterSyncRequest
			if err := kjson.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}
