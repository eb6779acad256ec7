// Package observe is what an operator looks at: the Prometheus metrics, the
// health and readiness checks and the status page that `syncer run` serves.
// It reads the store and never writes.
package observe

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"syncer/internal/buildinfo"
	"syncer/internal/providers"
	"syncer/internal/store"
)

// Job labels are named job_name, not job: Prometheus gives every scraped
// series a job label of its own (the scrape job) and would rename ours.
//
// Metrics counts what happens in this process: runs, provider requests,
// retries and rate-limit waits. It is the providers.Observer and the
// jobs.RunObserver that main wires in. What lives in the database (open
// transfers, freshness) is read at scrape time by a DBCollector instead, so
// every replica reports the same truth.
type Metrics struct {
	Registry *prometheus.Registry

	runs        *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	rows        *prometheus.CounterVec
	checks      *prometheus.CounterVec
	requests    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	limitWaits  *prometheus.CounterVec
	limitWaited *prometheus.CounterVec

	providers []providerPrefix
	tracked   map[string]bool
}

// MetricsOptions tells Metrics how to label what it sees.
type MetricsOptions struct {
	// Providers maps a URL prefix (scheme://host[/path]) to a provider name;
	// the longest matching prefix names a request's provider.
	Providers map[string]string
	// TrackedJobs are the jobs whose per-run counts are check outcomes.
	TrackedJobs []string
}

type providerPrefix struct{ prefix, name string }

// NewMetrics registers syncer's metrics, the Go runtime's and the process's
// on a registry of its own (never the global one, so tests do not collide).
func NewMetrics(o MetricsOptions) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_job_runs_total",
			Help: "Job runs recorded by this process, by job, trigger, final status and error class.",
		}, []string{"job_name", "trigger", "status", "error_class"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "syncer_job_run_duration_seconds",
			Help:    "Wall time of job runs, by job and final status.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"job_name", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_job_rows_written_total",
			Help: "Rows committed by succeeded runs, by job.",
		}, []string{"job_name"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_tracked_checks_total",
			Help: "Tracked-target checks recorded, by job and outcome.",
		}, []string{"job_name", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_provider_requests_total",
			Help: "HTTP requests sent to providers (each attempt), by provider, endpoint and status class (2xx, 4xx, 5xx, or error when no answer arrived).",
		}, []string{"provider", "endpoint", "status_class"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_provider_retries_total",
			Help: "Provider requests sent again after a failure, by provider, endpoint and the failure's kind.",
		}, []string{"provider", "endpoint", "kind"}),
		limitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_provider_rate_limit_waits_total",
			Help: "Waits before a retry because the provider answered 429, by provider and endpoint.",
		}, []string{"provider", "endpoint"}),
		limitWaited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_provider_rate_limit_wait_seconds_total",
			Help: "Time spent waiting because the provider answered 429, by provider.",
		}, []string{"provider"}),
		tracked: map[string]bool{},
	}
	for p, name := range o.Providers {
		if p != "" {
			m.providers = append(m.providers, providerPrefix{strings.TrimRight(p, "/"), name})
		}
	}
	sort.Slice(m.providers, func(i, j int) bool { return len(m.providers[i].prefix) > len(m.providers[j].prefix) })
	for _, j := range o.TrackedJobs {
		m.tracked[j] = true
	}
	m.Registry.MustRegister(m.runs, m.runDuration, m.rows, m.checks, m.requests, m.retries, m.limitWaits, m.limitWaited,
		buildInfo(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Version is the build this binary is (buildinfo): version, revision.
func Version() string { return buildinfo.Read().String() }

func buildInfo() prometheus.Collector {
	b := buildinfo.Read()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "syncer_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion,
			"build_time": b.BuildTime},
	})
	g.Set(1)
	return g
}

// RunFinished implements jobs.RunObserver.
func (m *Metrics) RunFinished(job, trigger string, f store.RunFinish, took time.Duration) {
	m.runs.WithLabelValues(job, trigger, f.Status, f.ErrorClass).Inc()
	if took > 0 {
		m.runDuration.WithLabelValues(job, f.Status).Observe(took.Seconds())
	}
	m.rows.WithLabelValues(job).Add(float64(f.RowsWritten))
	if m.tracked[job] {
		for outcome, n := range f.Detail {
			m.checks.WithLabelValues(job, outcome).Add(float64(n))
		}
	}
}

// Attempt implements providers.Observer.
func (m *Metrics) Attempt(req *http.Request, resp *http.Response, err error) {
	class := "error"
	if resp != nil {
		class = string("012345"[min(resp.StatusCode/100, 5)]) + "xx"
	}
	p, e := m.label(req)
	m.requests.WithLabelValues(p, e, class).Inc()
}

// Retry implements providers.Observer.
func (m *Metrics) Retry(req *http.Request, kind providers.Kind, wait time.Duration) {
	p, e := m.label(req)
	m.retries.WithLabelValues(p, e, kind.String()).Inc()
	if kind == providers.RateLimited {
		m.limitWaits.WithLabelValues(p, e).Inc()
		m.limitWaited.WithLabelValues(p).Add(wait.Seconds())
	}
}

// numericSegment matches a path segment that is an id, so that endpoints
// are a handful of label values, not one per agency or client.
var numericSegment = regexp.MustCompile(`/[0-9]+(/|$)`)

func (m *Metrics) label(req *http.Request) (provider, endpoint string) {
	u := *req.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	full := u.String()
	provider = "other"
	for _, p := range m.providers {
		if strings.HasPrefix(full, p.prefix) {
			provider = p.name
			break
		}
	}
	path := u.EscapedPath()
	for numericSegment.MatchString(path) {
		path = numericSegment.ReplaceAllString(path, "/{id}$1")
	}
	return provider, req.Method + " " + path
}
