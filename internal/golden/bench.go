package golden

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
	check := httptest.NewRecorder()
	h.ServeHTTP(check, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	if check.Code != http.StatusOK {
		b.Fatalf("hook answered %d: %s", check.Code, check.Body)
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
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		full += time.Since(t1)
		valid += t1.Sub(t0)
	}
	if valid > 0 {
		b.ReportMetric(float64(full)/float64(valid), "x-valid")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "http-ns/op")
		b.ReportMetric(float64(valid.Nanoseconds())/float64(b.N), "valid-ns/op")
	}
}

// discard is a ResponseWriter that drops the body.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
