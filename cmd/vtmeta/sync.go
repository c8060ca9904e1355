package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
)

func (a *app) syncCmd() *cobra.Command {
	var addr string
	var finalize bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync LAYER FILE",
		Short: "Send one hook request to a running layer service over gRPC and print its answer",
		Long: `sync sends one hook request to a layer service's gRPC listener and prints
the response as JSON. FILE is a hook request (JSON, as Metacontroller sends
it), or a manifest of the layer's parent kind, sent as Metacontroller first
sends it: with no children yet.

LAYER is one of cluster, cell, keyspace, shard, tablet.`,
		Example: a.example(
			"vtmeta sync --addr localhost:9090 cluster deploy/examples/minimal/vitess.yaml",
			"vtmeta sync --addr localhost:9094 --finalize tablet request.json"),
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := operator.ParentKinds[args[0]]
			if !ok {
				return usageError{fmt.Errorf("unknown layer %q: use one of %v", args[0], operator.Names)}
			}
			data, err := a.readFile(args[1])
			if err != nil {
				return err
			}
			req, err := asRequest(data, kind, a.namespace())
			if err != nil {
				return fmt.Errorf("read %s: %w", args[1], err)
			}
			method := "Sync"
			if finalize {
				method = "Finalize"
			}
			resp, err := operator.Call(cmd.Context(), args[0], addr, method, req, timeout)
			if err != nil {
				return err
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, resp, "", "  "); err != nil {
				return fmt.Errorf("indent the response: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "localhost:9090", "the layer service's gRPC address")
	cmd.Flags().BoolVar(&finalize, "finalize", false, "call Finalize instead of Sync")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

// asRequest turns a manifest of the layer's parent kind (YAML or JSON) into
// the hook request Metacontroller would send for it before any child
// exists; a hook request is returned as it is.
func asRequest(data []byte, kind, ns string) ([]byte, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var parent map[string]any
	if err := json.Unmarshal(js, &parent); err != nil || parent["kind"] != kind {
		return js, nil
	}
	if md, ok := parent["metadata"].(map[string]any); ok {
		if s, _ := md["namespace"].(string); s == "" {
			md["namespace"] = ns
		}
	}
	return json.Marshal(map[string]any{"parent": parent, "children": map[string]any{}, "related": map[string]any{}})
}
