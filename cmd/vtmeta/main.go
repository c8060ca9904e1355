// Command vtmeta is the command-line companion of the vtmeta hook services:
// it checks a VitessCluster manifest offline, the way the cluster layer
// checks it, and calls a running layer service over gRPC with a hook request.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

const usage = `vtmeta: tools for the vtmeta Vitess operator.

Usage:
  vtmeta validate FILE...            check VitessCluster manifests (YAML or JSON) as the cluster layer does
  vtmeta sync [flags] LAYER FILE     send a hook request (JSON), or the layer's parent manifest as Metacontroller
                                     would first send it, to a layer service over gRPC; print the response
  vtmeta version                     print the version

sync flags:
  --addr HOST:PORT    the layer service's gRPC address (default localhost:9090)
  --finalize          call Finalize instead of Sync
  --timeout DURATION  give up after this long (default 10s)

LAYER is one of cluster, cell, keyspace, shard, tablet.
`

// Version is stamped at build time with -ldflags -X.
var Version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "validate":
		err = validate(args[1:], stdout)
	case "sync":
		err = syncCmd(args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "vtmeta: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "vtmeta:", err)
		return 1
	}
	return 0
}

// validate checks each manifest's VitessCluster documents.
func validate(files []string, out io.Writer) error {
	if len(files) == 0 {
		return errors.New("validate: name at least one file")
	}
	bad := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		for i, doc := range strings.Split(string(data), "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			js, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				return fmt.Errorf("validate %s (document %d): %w", f, i+1, err)
			}
			var vc v1.VitessCluster
			if err := kjson.Unmarshal(js, &vc); err != nil {
				fmt.Fprintf(out, "%s: %v\n", f, err)
				bad++
				continue
			}
			if vc.GetKind() != "VitessCluster" {
				continue
			}
			if err := spec.Cluster(vc.GetSpec()); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(out, "%s: VitessCluster %s: %s\n", f, vc.GetMetadata().GetName(), line)
				}
				bad++
				continue
			}
			fmt.Fprintf(out, "%s: VitessCluster %s is valid (%d cells, %d keyspaces)\n",
				f, vc.GetMetadata().GetName(), len(vc.GetSpec().GetCells()), len(vc.GetSpec().GetKeyspaces()))
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d invalid document(s)", bad)
	}
	return nil
}

// layers maps a layer name to its gRPC service and message types.
var layers = map[string]struct {
	service, kind string
	req, resp     func() proto.Message
}{
	"cluster":  {"ClusterService", "VitessCluster", func() proto.Message { return &v1.ClusterSyncRequest{} }, func() proto.Message { return &v1.ClusterSyncResponse{} }},
	"cell":     {"CellService", "VitessCell", func() proto.Message { return &v1.CellSyncRequest{} }, func() proto.Message { return &v1.CellSyncResponse{} }},
	"keyspace": {"KeyspaceService", "VitessKeyspace", func() proto.Message { return &v1.KeyspaceSyncRequest{} }, func() proto.Message { return &v1.KeyspaceSyncResponse{} }},
	"shard":    {"ShardService", "VitessShard", func() proto.Message { return &v1.ShardSyncRequest{} }, func() proto.Message { return &v1.ShardSyncResponse{} }},
	"tablet":   {"TabletService", "VitessTablet", func() proto.Message { return &v1.TabletSyncRequest{} }, func() proto.Message { return &v1.TabletSyncResponse{} }},
}

// asRequest turns a manifest of the layer's parent kind (YAML or JSON) into
// the hook request Metacontroller would send for it before any child
// exists; a hook request is returned as it is.
func asRequest(data []byte, kind string) ([]byte, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil || head.Kind != kind {
		return js, nil
	}
	var parent map[string]any
	if err := json.Unmarshal(js, &parent); err != nil {
		return nil, err
	}
	if md, ok := parent["metadata"].(map[string]any); ok && head.Metadata.Namespace == "" {
		md["namespace"] = "default"
	}
	return json.Marshal(map[string]any{"parent": parent, "children": map[string]any{}, "related": map[string]any{}})
}

// syncCmd sends one hook request to a layer service over gRPC.
func syncCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:9090", "the layer service's gRPC address")
	finalize := fs.Bool("finalize", false, "call Finalize instead of Sync")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("sync: want LAYER FILE")
	}
	l, ok := layers[fs.Arg(0)]
	if !ok {
		return fmt.Errorf("sync: unknown layer %q: use cluster, cell, keyspace, shard or tablet", fs.Arg(0))
	}
	data, err := os.ReadFile(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	req, resp := l.req(), l.resp()
	if data, err = asRequest(data, l.kind); err != nil {
		return fmt.Errorf("sync: read %s: %w", fs.Arg(1), err)
	}
	if err := kjson.Unmarshal(data, req); err != nil {
		return fmt.Errorf("sync: read %s: %w", fs.Arg(1), err)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("sync: dial %s: %w", *addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	method := "Sync"
	if *finalize {
		method = "Finalize"
	}
	// WaitForReady lets a just-started service come up within the timeout.
	if err := conn.Invoke(ctx, "/vtmeta.v1alpha1."+l.service+"/"+method, req, resp, grpc.WaitForReady(true)); err != nil {
		return fmt.Errorf("sync: %s.%s: %w", l.service, method, err)
	}
	b, err := kjson.Marshal(resp)
	if err != nil {
		return fmt.Errorf("sync: encode response: %w", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		return fmt.Errorf("sync: indent response: %w", err)
	}
	_, err = fmt.Fprintln(out, pretty.String())
	return err
}
