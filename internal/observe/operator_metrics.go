package observe

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/store"
)

// OperatorStore is what OperatorCollector reads beyond a scrape's basics.
type OperatorStore interface {
	RunStreaks(ctx context.Context) (map[string]store.RunStreak, error)
	MissingCoverageCounts(ctx context.Context) ([]store.MissingCoverage, error)
}

// OperatorCollector exports what alerts and dashboards need to tell a real
// problem from a blip or from a job nobody runs: which jobs are enabled
// (configuration, so a disabled job can be filtered out of data-age
// panels), how many runs in a row a job has failed and since when, and the
// missing source-days of bi.coverage over the last 7 and 60 days.
type OperatorCollector struct {
	Store   OperatorStore
	Jobs    []JobSpec     // the configured jobs
	Timeout time.Duration // per scrape; default 5s
	Log     *slog.Logger
}

var (
	descJobEnabled = prometheus.NewDesc("syncer_job_enabled",
		"1 when the job is enabled in this process's configuration, 0 when disabled.", []string{"job_name"}, nil)
	descConsecutiveFailures = prometheus.NewDesc("syncer_job_consecutive_failures",
		"Failed runs of the job since its last success (backfill days aside); 0 when the last one succeeded.", []string{"job_name"}, nil)
	descFailingSince = prometheus.NewDesc("syncer_job_failing_since_timestamp_seconds",
		"Start of the first of the job's failed runs since its last success (Unix time); absent when it is not failing.", []string{"job_name"}, nil)
	descCoverageMissing = prometheus.NewDesc("syncer_coverage_missing_days",
		"Missing days of bi.coverage per source and agency over the last `window` days, today included (MGID_TIMEZONE).",
		[]string{"source", "agency_id", "window"}, nil)
	descOperatorUp = prometheus.NewDesc("syncer_operator_read_up",
		"1 when the scrape read the failure streaks and the coverage, 0 when that read failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *OperatorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobEnabled, descConsecutiveFailures, descFailingSince, descCoverageMissing, descOperatorUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. The enabled flags come from the
// configuration and are exported even when the database does not answer.
func (c *OperatorCollector) Collect(ch chan<- prometheus.Metric) {
	for _, j := range c.Jobs {
		gauge(ch, descJobEnabled, b2f(j.Enabled), j.Name)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	streaks, err := c.Store.RunStreaks(ctx)
	var missing []store.MissingCoverage
	if err == nil {
		missing, err = c.Store.MissingCoverageCounts(ctx)
	}
	if err != nil {
		if c.Log != nil {
			c.Log.Warn("metrics: could not read failure streaks or coverage", "err", err)
		}
		gauge(ch, descOperatorUp, 0)
		return
	}
	gauge(ch, descOperatorUp, 1)
	for _, j := range c.Jobs {
		s := streaks[j.Name]
		gauge(ch, descConsecutiveFailures, float64(s.Failing), j.Name)
		if s.Failing > 0 && s.FailingSince != nil {
			gauge(ch, descFailingSince, float64(s.FailingSince.UnixMilli())/1e3, j.Name)
		}
	}
	for _, m := range missing {
		agency := strconv.FormatInt(m.AgencyID, 10)
		gauge(ch, descCoverageMissing, float64(m.Last7), m.Source, agency, "7d")
		gauge(ch, descCoverageMissing, float64(m.Last60), m.Source, agency, "60d")
	}
}
