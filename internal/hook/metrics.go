package hook

import (
	"container/list"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Outcomes of a hook call, the outcome label of vtmeta_hook_duration_seconds.
const (
	OutcomeOK             = "ok"
	OutcomeInvalidRequest = "invalid_request"
	OutcomeError          = "error"
	OutcomeNotModified    = "not_modified"
	// OutcomeBusy is a call shed with a 503 and Retry-After because the
	// bodies in flight already hold --max-inflight-body-bytes:
	// Metacontroller retries it, so it is load, not a fault of the layer.
	OutcomeBusy = "busy"
)

// Metrics are the Prometheus metrics of a hook service, on a registry of
// their own with the Go and process collectors.
type Metrics struct {
	// Registry holds every metric below.
	Registry *prometheus.Registry
	// Duration is vtmeta_hook_duration_seconds{layer,hook,outcome}: the time
	// from a request's arrival to its answer, in classic buckets from 100µs
	// to 10s and in native buckets.
	Duration *prometheus.HistogramVec
	// RequestBytes is vtmeta_hook_request_bytes{layer,hook}: the size of
	// HTTP request bodies as the middleware read them (256 B to 16 MiB
	// buckets); gRPC calls are not counted.
	RequestBytes *prometheus.HistogramVec
	// ResponseBytes is vtmeta_hook_response_bytes{layer,hook}: the size of
	// HTTP response bodies, errors included; 0 for a 304.
	ResponseBytes *prometheus.HistogramVec
	// DesiredChildren is vtmeta_hook_desired_children{layer}: children per
	// answered sync.
	DesiredChildren *prometheus.HistogramVec
	// InvalidSpecs is vtmeta_invalid_specs_total{layer,reason}: parents
	// found with an invalid spec, by the reason the layer gave.
	InvalidSpecs *prometheus.CounterVec
	// InFlight is vtmeta_hooks_in_flight{layer}: hook calls (HTTP and
	// gRPC) being answered now.
	InFlight *prometheus.GaugeVec
	// BuildInfo is vtmeta_build_info{layer,version}, always 1.
	BuildInfo *prometheus.GaugeVec
	// ParentReady is vtmeta_parent_ready{layer,namespace,name}: 1 when the
	// last answer for the parent said Ready=True, else 0. A parent not
	// synced for ParentTTL is forgotten, so deleted parents do not linger;
	// at most MaxParentSeries parents per layer are kept, the least
	// recently synced dropped first.
	ParentReady *prometheus.GaugeVec
	// ParentAvailable is vtmeta_parent_available{layer,namespace,name}: 1
	// when the last answer for the parent said Available=True (it serves;
	// a rolling update keeps it so), else 0; kept like ParentReady.
	ParentAvailable *prometheus.GaugeVec
	// ParentProgressing is vtmeta_parent_progressing{layer,namespace,name}:
	// 1 while the last answer for the parent said a rollout moves
	// (Progressing=True), else 0; kept like ParentReady.
	ParentProgressing *prometheus.GaugeVec
	// ParentBackedUp is vtmeta_parent_backed_up{layer,namespace,name}: for a
	// parent whose last answer had a BackedUp condition (a schedule covers
	// its shards), 1 when it was True (every shard's latest backup is as
	// recent as its schedules ask), else 0; no series without the
	// condition; kept like ParentReady.
	ParentBackedUp *prometheus.GaugeVec
	// ParentLastBackup is
	// vtmeta_parent_last_backup_timestamp_seconds{layer,namespace,name}:
	// the time (Unix seconds) its status gives as its last backup — for a
	// shard its latest, above the oldest latest of its shards; no series
	// while it has none; kept like ParentReady.
	ParentLastBackup *prometheus.GaugeVec
	// ParentSeriesDropped is vtmeta_parent_series_dropped_total{layer}:
	// parents whose vtmeta_parent_ready series was dropped to stay within
	// MaxParentSeries.
	ParentSeriesDropped *prometheus.CounterVec

	// MaxParents is the most vtmeta_parent_ready series kept per layer;
	// NewMetrics sets it to MaxParentSeries.
	MaxParents int

	mu      sync.Mutex
	parents map[string]*parentSeries // by layer
}

// ParentTTL is how long a parent's readiness is kept without a sync; the
// CompositeControllers resync every parent well within it.
const ParentTTL = 10 * time.Minute

// MaxParentSeries bounds the vtmeta_parent_ready series of one layer: a
// label set per parent, so the metric's size follows the number of parents
// and never grows without bound whatever names requests carry.
const MaxParentSeries = 10000

type parentKey struct{ layer, namespace, name string }

// parentSeries are one layer's parents, least recently synced first.
type parentSeries struct {
	order *list.List // of *parentEntry
	byKey map[parentKey]*list.Element
}

type parentEntry struct {
	key  parentKey
	seen time.Time
}

// series returns the parents of a layer; m.mu is held.
func (m *Metrics) series(layer string) *parentSeries {
	ps := m.parents[layer]
	if ps == nil {
		ps = &parentSeries{order: list.New(), byKey: map[parentKey]*list.Element{}}
		m.parents[layer] = ps
	}
	return ps
}

// parentState is what the metrics keep of a parent's last answer.
type parentState struct {
	ready, available, progressing bool
	// backedUp is the status of the BackedUp condition, "" without one.
	backedUp string
	// lastBackup is the status's last backup time, zero without one.
	lastBackup time.Time
}

// gauge is a condition as a gauge value.
func gauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// setParent records a parent's conditions after a sync.
func (m *Metrics) setParent(k parentKey, state parentState, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.series(k.layer)
	if el, ok := ps.byKey[k]; ok {
		el.Value.(*parentEntry).seen = now
		ps.order.MoveToBack(el)
	} else {
		for ps.order.Len() > 0 && ps.order.Len() >= m.MaxParents {
			m.drop(ps, ps.order.Front())
			m.ParentSeriesDropped.WithLabelValues(k.layer).Inc()
		}
		ps.byKey[k] = ps.order.PushBack(&parentEntry{key: k, seen: now})
	}
	m.ParentReady.WithLabelValues(k.layer, k.namespace, k.name).Set(gauge(state.ready))
	m.ParentAvailable.WithLabelValues(k.layer, k.namespace, k.name).Set(gauge(state.available))
	m.ParentProgressing.WithLabelValues(k.layer, k.namespace, k.name).Set(gauge(state.progressing))
	if state.backedUp == "" {
		m.ParentBackedUp.DeleteLabelValues(k.layer, k.namespace, k.name)
	} else {
		m.ParentBackedUp.WithLabelValues(k.layer, k.namespace, k.name).Set(gauge(state.backedUp == "True"))
	}
	if state.lastBackup.IsZero() {
		m.ParentLastBackup.DeleteLabelValues(k.layer, k.namespace, k.name)
	} else {
		m.ParentLastBackup.WithLabelValues(k.layer, k.namespace, k.name).Set(float64(state.lastBackup.Unix()))
	}
}

// drop forgets one parent's series; m.mu is held.
func (m *Metrics) drop(ps *parentSeries, el *list.Element) {
	k := el.Value.(*parentEntry).key
	for _, g := range []*prometheus.GaugeVec{m.ParentReady, m.ParentAvailable, m.ParentProgressing, m.ParentBackedUp, m.ParentLastBackup} {
		g.DeleteLabelValues(k.layer, k.namespace, k.name)
	}
	ps.order.Remove(el)
	delete(ps.byKey, k)
}

// forgetParent drops a parent's readiness (it is being deleted).
func (m *Metrics) forgetParent(k parentKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.series(k.layer)
	if el, ok := ps.byKey[k]; ok {
		m.drop(ps, el)
	}
}

// Sweep forgets parents not synced since before now-ParentTTL.
func (m *Metrics) Sweep(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range m.parents {
		for el := ps.order.Front(); el != nil; {
			next := el.Next()
			if now.Sub(el.Value.(*parentEntry).seen) > ParentTTL {
				m.drop(ps, el)
			}
			el = next
		}
	}
}

// safeLabel makes any string fit a label value or a log field: valid
// UTF-8 (Prometheus panics on anything else) and at most 253 bytes, the
// longest Kubernetes name.
func safeLabel(s string) string {
	const most = 253
	if len(s) <= most && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\ufffd")
	if len(s) > most {
		cut := most - len("...")
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// DurationBuckets are the classic buckets of the hook latency histogram.
var DurationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewMetrics registers the metrics of a service.
func NewMetrics() *Metrics {
	sizes := prometheus.ExponentialBuckets(256, 4, 9) // 256 B .. 16 MiB
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "vtmeta_hook_duration_seconds",
			Help:                            "Time to answer a hook call, by layer, hook (sync, finalize) and outcome.",
			Buckets:                         DurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: 0,
		}, []string{"layer", "hook", "outcome"}),
		RequestBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vtmeta_hook_request_bytes", Help: "Size of hook request bodies.", Buckets: sizes,
		}, []string{"layer", "hook"}),
		ResponseBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vtmeta_hook_response_bytes", Help: "Size of hook response bodies.", Buckets: sizes,
		}, []string{"layer", "hook"}),
		DesiredChildren: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vtmeta_hook_desired_children", Help: "Children in each answered hook call.",
			Buckets: []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048},
		}, []string{"layer"}),
		InvalidSpecs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vtmeta_invalid_specs_total", Help: "Parents found with an invalid spec, by reason; their children are held.",
		}, []string{"layer", "reason"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_hooks_in_flight", Help: "Hook calls being answered now.",
		}, []string{"layer"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_build_info", Help: "Always 1; labels say which layer and version run.",
		}, []string{"layer", "version"}),
		ParentReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_parent_ready", Help: "1 when the last answer for the parent said Ready=True, else 0.",
		}, []string{"layer", "namespace", "name"}),
		ParentAvailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_parent_available", Help: "1 when the last answer for the parent said Available=True (it serves), else 0.",
		}, []string{"layer", "namespace", "name"}),
		ParentProgressing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_parent_progressing", Help: "1 while the last answer for the parent said a rollout moves (Progressing=True), else 0.",
		}, []string{"layer", "namespace", "name"}),
		ParentBackedUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_parent_backed_up", Help: "For a parent whose shards a backup schedule covers: 1 when the last answer said BackedUp=True, else 0.",
		}, []string{"layer", "namespace", "name"}),
		ParentLastBackup: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vtmeta_parent_last_backup_timestamp_seconds", Help: "When the parent's status says its last backup was taken (Unix seconds); for a parent above shards, the oldest of its shards' latest.",
		}, []string{"layer", "namespace", "name"}),
		ParentSeriesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vtmeta_parent_series_dropped_total", Help: "Parents whose vtmeta_parent_ready series was dropped to keep at most MaxParentSeries per layer.",
		}, []string{"layer"}),
		MaxParents: MaxParentSeries,
		parents:    map[string]*parentSeries{},
	}
	m.Registry.MustRegister(m.Duration, m.RequestBytes, m.ResponseBytes, m.DesiredChildren,
		m.InvalidSpecs, m.InFlight, m.BuildInfo, m.ParentReady, m.ParentAvailable, m.ParentProgressing, m.ParentBackedUp, m.ParentLastBackup, m.ParentSeriesDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
