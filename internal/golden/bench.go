package golden

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// BenchHTTP measures the full HTTP path of a hook — handler, body read,
// decode, layer, encode — on body, and beside it encoding/json.Valid on the
// same bytes, the cost of reading them once. The two run interleaved in one
// loop, so machine noise hits both alike; the benchmark reports their ratio
// as x-valid (the target is 3 or less).
func BenchHTTP(b *testing.B, h http.Handler, path string, body []byte) {
	b.Helper()
	check := &recorder{header: http.Header{}}
	h.ServeHTTP(check, Post(path, body))
	if check.code != http.StatusOK {
		b.Fatalf("hook answered %d: %s", check.code, check.body)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var full, valid time.Duration
	w := &discard{header: http.Header{}}
	for b.Loop() {
		t0 := time.Now()
		if !json.Valid(body) {
			b.Fatal("invalid body")
		}
		t1 := time.Now()
		w.header = http.Header{}
		h.ServeHTTP(w, Post(path, body))
		full += time.Since(t1)
		valid += t1.Sub(t0)
	}
	if valid > 0 {
		b.ReportMetric(float64(full)/float64(valid), "x-valid")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "http-ns/op")
		b.ReportMetric(float64(valid.Nanoseconds())/float64(b.N), "valid-ns/op")
	}
}

// recorder is a ResponseWriter that keeps the status and body.
type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body = append(r.body, p...)
	return len(p), nil
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// discard is a ResponseWriter that drops the body.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
