package observe

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/store"
)

// AgencyMetrics counts, in this process, each MGID agency's outcome in
// mgid-balances and mgid-spend and the ticks that overran: it is the
// jobs.AgencyObserver that main wires in. The agency label is its configured
// name (never a password).
type AgencyMetrics struct {
	outcomes *prometheus.CounterVec
	overruns *prometheus.CounterVec
}

// NewAgencyMetrics registers the agency metrics on reg.
func NewAgencyMetrics(reg prometheus.Registerer) *AgencyMetrics {
	m := &AgencyMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_agency_runs_total",
			Help: "MGID agencies done by this process's runs, by job, agency (configured name), status and error class.",
		}, []string{"job_name", "agency", "status", "error_class"}),
		overruns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncer_tick_overruns_total",
			Help: "Agencies a tick could not take because an earlier tick of the job still held them (the earlier tick overran).",
		}, []string{"job_name"}),
	}
	reg.MustRegister(m.outcomes, m.overruns)
	return m
}

// AgencyFinished implements jobs.AgencyObserver.
func (m *AgencyMetrics) AgencyFinished(job, agency, status, errorClass string) {
	m.outcomes.WithLabelValues(job, agency, status, errorClass).Inc()
}

// TickOverran implements jobs.AgencyObserver.
func (m *AgencyMetrics) TickOverran(job string, agencies int64) {
	m.overruns.WithLabelValues(job).Add(float64(agencies))
}

// AgencyStore is what the agency collector and the status page read.
type AgencyStore interface {
	AgencyStates(ctx context.Context) ([]store.AgencyState, error)
}

// AgencyCollector reads each agency's freshness at scrape time
// (bi.agency_freshness), so every replica reports the same.
type AgencyCollector struct {
	Store   AgencyStore
	Timeout time.Duration // default 2s
	Log     *slog.Logger
	Now     func() time.Time
}

var (
	descAgencyStale       = prometheus.NewDesc("syncer_agency_stale", "1 when an MGID agency's data is older than its job's schedule allows (bi.agency_freshness.stale).", []string{"job_name", "agency"}, nil)
	descAgencyLastSuccess = prometheus.NewDesc("syncer_agency_last_success_timestamp_seconds", "End of the agency's latest successful live unit that read data (Unix time); absent if never.", []string{"job_name", "agency"}, nil)
	descAgencyFailing     = prometheus.NewDesc("syncer_agency_last_failed", "1 when the agency's latest unit of the job failed.", []string{"job_name", "agency", "error_class"}, nil)
)

// Describe implements prometheus.Collector.
func (c *AgencyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descAgencyStale
	ch <- descAgencyLastSuccess
	ch <- descAgencyFailing
}

// Collect implements prometheus.Collector; a failed read is logged and
// emits nothing (syncer_db_up already says the database is down).
func (c *AgencyCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	states, err := c.Store.AgencyStates(ctx)
	if err != nil {
		if c.Log != nil {
			c.Log.Warn("metrics: could not read agency freshness", "err", err)
		}
		return
	}
	for _, s := range states {
		gauge(ch, descAgencyStale, b2f(s.Stale), s.Job, s.Name)
		if s.LastSuccessAt != nil {
			gauge(ch, descAgencyLastSuccess, float64(s.LastSuccessAt.UnixMilli())/1e3, s.Job, s.Name)
		}
		gauge(ch, descAgencyFailing, b2f(s.Failing()), s.Job, s.Name, s.LastErrorClass)
	}
}

// maxAgenciesListed bounds the agencies the status page lists by name; the
// counts are exact.
const maxAgenciesListed = 30

// agencyRow is an agency that is stale or failing, as the page lists it.
type agencyRow struct {
	Job, Name, Login, Outcome, Since, LastData, ErrorClass, Error string
}

// agencySection is the page's view of the MGID agencies: per job how many
// are fresh and succeeding, and the others by name.
type agencySection struct {
	Summary []string
	Rows    []agencyRow
	More    int
}

// buildAgencies fills the page's agencies section and adds a problem per job
// with failing agencies, naming them: one agency's failure must be visible
// even when its run's other agencies succeeded.
func (p *Page) buildAgencies(now time.Time, states []store.AgencyState, d *pageData) agencySection {
	var sec agencySection
	for _, t := range store.TallyAgencies(states) {
		sec.Summary = append(sec.Summary, fmt.Sprintf("%s: %d of %d agencies fresh and succeeding", t.Job, t.Healthy, t.All))
		var failing []string
		for _, s := range t.Unhealthy {
			if s.Failing() {
				failing = append(failing, s.Name)
			}
			if len(sec.Rows) == maxAgenciesListed {
				sec.More++
				continue
			}
			r := agencyRow{Job: s.Job, Name: s.Name, Login: s.Login, Outcome: s.LastStatus, Since: "-",
				LastData: "never", ErrorClass: s.LastErrorClass, Error: s.LastError}
			if r.Outcome == "" {
				r.Outcome = "never run"
			}
			if s.FailingSince != nil {
				r.Since = p.when(now, *s.FailingSince)
			}
			if s.LastSuccessAt != nil {
				r.LastData = p.when(now, *s.LastSuccessAt)
			}
			if s.Stale {
				r.LastData += " (stale)"
			}
			sec.Rows = append(sec.Rows, r)
		}
		if n := len(failing); n > 0 {
			names := failing
			if n > 5 {
				names = append(names[:5:5], fmt.Sprintf("and %d more", n-5))
			}
			d.Problems = append(d.Problems, fmt.Sprintf("%s: %d MGID agenc%s failing: %s.", t.Job, n, map[bool]string{true: "y", false: "ies"}[n == 1], strings.Join(names, ", ")))
		}
	}
	return sec
}
