package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/admission"
)

// manifest is one object of a file the user gave.
type manifest struct {
	// File is the path as given ("-" for standard input).
	File string
	// Line is the line of the file the object's document starts on.
	Line int
	// Obj is the object as written.
	Obj map[string]any
	// node is the document's YAML tree, to find a field's line.
	node *yaml3.Node
}

// Kind and Name of the object.
func (m manifest) Kind() string { s, _ := m.Obj["kind"].(string); return s }

// Name of the object.
func (m manifest) Name() string {
	md, _ := m.Obj["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}

// String names the object for messages: "cluster.yaml: VitessCluster vitess".
func (m manifest) String() string {
	return fmt.Sprintf("%s: %s %s", m.File, m.Kind(), m.Name())
}

// readManifests reads every object in a YAML or JSON file ("-" reads
// standard input).
func (a *app) readManifests(path string) ([]manifest, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []manifest
	for _, doc := range admission.Documents(data) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc.Data, &obj); err != nil {
			return nil, fmt.Errorf("%s:%d: not YAML: %w", path, doc.Line, err)
		}
		if obj == nil {
			continue
		}
		m := manifest{File: path, Line: doc.Line, Obj: obj}
		var n yaml3.Node
		if yaml3.Unmarshal(doc.Data, &n) == nil && len(n.Content) > 0 {
			m.node = n.Content[0]
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no object in the file", path)
	}
	return out, nil
}

// readCluster reads the file's one VitessCluster.
func (a *app) readCluster(path string) (manifest, error) {
	ms, err := a.readManifests(path)
	if err != nil {
		return manifest{}, err
	}
	var found []manifest
	for _, m := range ms {
		if m.Kind() == "VitessCluster" {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return manifest{}, fmt.Errorf("%s: want exactly one VitessCluster, found %d", path, len(found))
	}
	return found[0], nil
}

// lineOf returns the line of the file where the field at path (as the
// apiserver writes it: spec.cells[1].name, metadata.labels[app]) is, or
// the nearest enclosing field that is written; 0 when unknown.
func (m manifest) lineOf(path string) int {
	n := m.node
	if n == nil {
		return 0
	}
	line := n.Line
	for _, seg := range splitPath(path) {
		next := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return m.Line + line - 1
}

// where is "file:line" of a field.
func (m manifest) where(path string) string {
	if l := m.lineOf(path); l > 0 {
		return fmt.Sprintf("%s:%d", m.File, l)
	}
	return m.File
}

// splitPath splits spec.cells[1].name or metadata.labels[app] into its
// segments: spec, cells, 1, name.
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, part)
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				out = append(out, part[i+1:])
				break
			}
			out = append(out, part[i+1:i+j])
			part = part[i+j+1:]
		}
	}
	return out
}

// child is the node under n for one path segment: a mapping's value by
// key, or a sequence's item by index.
func child(n *yaml3.Node, seg string) *yaml3.Node {
	for n.Kind == yaml3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				// The value, at the key's line: a block value starts
				// on the line after its key.
				v := *n.Content[i+1]
				v.Line = n.Content[i].Line
				return &v
			}
		}
	case yaml3.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// copyJSON returns a deep copy of a JSON object.
func copyJSON(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("copy a JSON object: %v", err)) // only JSON values are ever stored
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("copy a JSON object: %v", err))
	}
	return out
}

// jsonOf encodes a JSON object.
func jsonOf(m map[string]any) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the object: %w", err)
	}
	return b, nil
}

// readFile reads a file, or standard input for "-".
func (a *app) readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(a.stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}
