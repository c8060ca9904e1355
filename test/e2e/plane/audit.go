package plane

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Request is one request Metacontroller sent the apiserver, as its audit
// log records it.
type Request struct {
	// Verb is the Kubernetes verb: get, create, update, patch, delete.
	Verb string `json:"verb"`
	// Object is what it addressed.
	Object struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	// Code is the response's HTTP status.
	Code int `json:"-"`
}

// Key is "verb resource[/subresource]".
func (r Request) Key() string {
	res := r.Object.Resource
	if r.Object.Subresource != "" {
		res += "/" + r.Object.Subresource
	}
	return r.Verb + " " + res
}

// Audit returns Metacontroller's requests since the audit log held at
// bytes (0: from the start), and where the log ends now, for the next
// call.
func (p *Plane) Audit(at int64) ([]Request, int64, error) {
	f, err := os.Open(filepath.Join(p.dir, "audit.log"))
	if os.IsNotExist(err) {
		return nil, at, nil
	}
	if err != nil {
		return nil, at, err
	}
	defer f.Close()
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return nil, at, err
	}
	var out []Request
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a line being written stays for the next call
		}
		if err != nil {
			return nil, at, err
		}
		at += int64(len(line))
		var ev struct {
			Request
			Stage          string `json:"stage"`
			ResponseStatus struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, at, fmt.Errorf("audit log: %w", err)
		}
		if ev.Stage != "ResponseComplete" {
			continue
		}
		ev.Request.Code = ev.ResponseStatus.Code
		out = append(out, ev.Request)
	}
	return out, at, nil
}
