package plane

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// APIRequest is one series of the apiserver's apiserver_request_total,
// summed over response codes.
type APIRequest struct {
	// Verb is the request's verb as the metric names it: GET, LIST,
	// WATCH, POST, PUT, PATCH, DELETE, APPLY, ...
	Verb string
	// Resource and Subresource are what it addressed.
	Resource, Subresource string
}

// Mutating says whether the request writes.
func (r APIRequest) Mutating() bool {
	switch r.Verb {
	case "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY":
		return true
	}
	return false
}

// String is "VERB resource[/subresource]".
func (r APIRequest) String() string {
	if r.Subresource != "" {
		return r.Verb + " " + r.Resource + "/" + r.Subresource
	}
	return r.Verb + " " + r.Resource
}

// APIRequests reads the apiserver's request counters (all clients).
func (p *Plane) APIRequests() (map[APIRequest]float64, error) {
	body, err := get(p.Config, "/metrics", "text/plain")
	if err != nil {
		return nil, fmt.Errorf("apiserver metrics: %w", err)
	}
	out := map[APIRequest]float64{}
	for _, s := range samples(string(body), "apiserver_request_total") {
		out[APIRequest{Verb: s.labels["verb"], Resource: s.labels["resource"], Subresource: s.labels["subresource"]}] += s.value
	}
	return out, nil
}

// HookTime reads the service's vtmeta_hook_duration_seconds: the seconds
// its hooks took in all, and how many calls.
func (s *Service) HookTime() (seconds, calls float64, err error) {
	body, err := get(&rest.Config{Host: "http://" + s.Addr}, "/metrics", "text/plain")
	if err != nil {
		return 0, 0, fmt.Errorf("the %s service's metrics: %w", s.Layer, err)
	}
	for _, x := range samples(string(body), "vtmeta_hook_duration_seconds_sum") {
		seconds += x.value
	}
	for _, x := range samples(string(body), "vtmeta_hook_duration_seconds_count") {
		calls += x.value
	}
	return seconds, calls, nil
}

type sample struct {
	labels map[string]string
	value  float64
}

// samples parses the series of one metric from the Prometheus text format.
func samples(body, name string) []sample {
	var out []sample
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line[len(name):]
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			for _, kv := range strings.Split(rest[1:end], ",") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
			rest = rest[end+1:]
		}
		if _, err := fmt.Sscan(strings.TrimSpace(rest), &s.value); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// get reads a path of a server (the apiserver as the administrator).
func get(c *rest.Config, path, accept string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.Host+path, nil)
	if err != nil {
		return nil, err
	}
	if c.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.BearerToken)
	}
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return b, err
}
