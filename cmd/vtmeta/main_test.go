package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	original := "../../deploy/examples/original/my-vitess.yaml"
	overlap := write(t, "overlap.yaml", `apiVersion: vitess.io/v1alpha1
kind: VitessCluster
metadata: {name: bad}
spec:
  selector: {matchLabels: {app: bad}}
  cells: [{name: zone1}, {name: zone1}]
  keyspaces:
  - name: main
    cells: [zone9]
    shards: [{keyRange: {start: "", end: "80"}}, {keyRange: {start: "40", end: ""}}]
`)
	wrongType := write(t, "type.yaml", "apiVersion: vitess.io/v1alpha1\nkind: VitessCluster\nmetadata: {name: t}\nspec: {cells: 3}\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"original example", []string{"validate", original}, 0, []string{"VitessCluster vitess is valid (2 cells, 1 keyspaces)"}},
		{"broken", []string{"validate", overlap}, 1, []string{"spec.cells[1].name", "spec.keyspaces[0].cells[0]", "spec.keyspaces[0].shards", "overlap"}},
		{"wrong type", []string{"validate", wrongType}, 1, []string{"spec.cells: want an array"}},
		{"missing file", []string{"validate", "nope.yaml"}, 1, []string{"no such file"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command"}},
		{"unknown layer", []string{"sync", "vtgate", original}, 1, []string{"unknown layer"}},
		{"version", []string{"version"}, 0, []string{"dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			all := out.String() + errOut.String()
			for _, s := range tt.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output does not mention %q:\n%s", s, all)
				}
			}
		})
	}
}

// echo is a ClusterService that reports the parent's name in its status.
type echo struct{}

func (echo) Sync(_ context.Context, req *v1.ClusterSyncRequest) (*v1.ClusterSyncResponse, error) {
	return &v1.ClusterSyncResponse{Status: &v1.VitessClusterStatus{Cells: int32(len(req.GetParent().GetSpec().GetCells()))}}, nil
}

func (echo) Finalize(_ context.Context, _ *v1.ClusterSyncRequest) (*v1.ClusterSyncResponse, error) {
	return &v1.ClusterSyncResponse{Finalized: true}, nil
}

func TestSyncOverGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1.RegisterClusterServiceServer(srv, echo{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	req := write(t, "req.json", `{"parent":{"metadata":{"name":"x"},"spec":{"cells":[{"name":"a"},{"name":"b"}]}}}`)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--addr", lis.Addr().String(), "cluster", req}, `"cells": 2`},
		{[]string{"sync", "--addr", lis.Addr().String(), "--finalize", "cluster", req}, `"finalized": true`},
	} {
		var out, errOut bytes.Buffer
		if code := run(tt.args, &out, &errOut); code != 0 || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%v: exit %d, out %s, err %s", tt.args, code, out.String(), errOut.String())
		}
	}
}

func TestSyncManifestOverGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1.RegisterClusterServiceServer(srv, echo{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	var out, errOut bytes.Buffer
	code := run([]string{"sync", "--addr", lis.Addr().String(), "cluster", "../../deploy/examples/original/my-vitess.yaml"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), `"cells": 2`) {
		t.Errorf("exit %d, out %s, err %s", code, out.String(), errOut.String())
	}
}
