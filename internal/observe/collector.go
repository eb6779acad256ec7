package observe

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/store"
)

// ScrapeStore is what a scrape reads from the database. Four reads, not
// one: each is a different table family and the status page shares them.
type ScrapeStore interface {
	SourceFreshness(ctx context.Context) ([]store.SourceFreshness, error)
	LastFinishedRuns(ctx context.Context) (map[string]store.LastRun, error)
	OpenTransferCounts(ctx context.Context) (map[string]int64, error)
	TrackedOutcomes(ctx context.Context) ([]store.TrackedOutcome, error)
}

// DBCollector reads, at each scrape, what lives in the database: freshness
// per job, open transfers, tracked targets by outcome, and the pool's
// state. Reading at scrape time means every replica reports the same truth
// and nothing goes stale between runs.
type DBCollector struct {
	Store   ScrapeStore
	Pool    func() store.PoolStat // nil: no pool metrics
	Timeout time.Duration         // per scrape; default 2s
	Log     *slog.Logger
	Now     func() time.Time
}

var (
	descDBUp            = prometheus.NewDesc("syncer_db_up", "1 when the last scrape read the database, 0 when it failed.", nil, nil)
	descLastSuccess     = prometheus.NewDesc("syncer_job_last_success_timestamp_seconds", "End of the job's latest successful live run that read provider data (Unix time); absent if never.", []string{"job_name"}, nil)
	descStaleness       = prometheus.NewDesc("syncer_job_staleness_seconds", "Seconds since the job last read provider data; +Inf if never.", []string{"job_name"}, nil)
	descExpected        = prometheus.NewDesc("syncer_job_expected_interval_seconds", "How often the job is expected to bring fresh data, from its schedule.", []string{"job_name"}, nil)
	descStale           = prometheus.NewDesc("syncer_job_stale", "1 when an enabled job's data is older than its schedule allows (bi.source_freshness.stale).", []string{"job_name"}, nil)
	descLastRunFailed   = prometheus.NewDesc("syncer_job_last_run_failed", "1 when the job's most recent finished run failed.", []string{"job_name"}, nil)
	descTransfersOpen   = prometheus.NewDesc("syncer_transfers_open", "MGID transfers whose outcome is open, by status (unknown needs a person).", []string{"status"}, nil)
	descTrackedTargets  = prometheus.NewDesc("syncer_tracked_targets", "Active tracked targets by kind and current outcome.", []string{"kind", "outcome"}, nil)
	descPoolInUse       = prometheus.NewDesc("syncer_db_pool_connections_in_use", "Database connections in use (acquired).", nil, nil)
	descPoolIdle        = prometheus.NewDesc("syncer_db_pool_connections_idle", "Idle database connections.", nil, nil)
	descPoolMax         = prometheus.NewDesc("syncer_db_pool_connections_max", "Maximum size of the database pool.", nil, nil)
	descPoolWaits       = prometheus.NewDesc("syncer_db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", nil, nil)
	descPoolWaitSeconds = prometheus.NewDesc("syncer_db_pool_acquire_wait_seconds_total", "Time spent waiting for a database connection.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *DBCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDBUp, descLastSuccess, descStaleness, descExpected, descStale, descLastRunFailed,
		descTransfersOpen, descTrackedTargets, descPoolInUse, descPoolIdle, descPoolMax, descPoolWaits, descPoolWaitSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A failed read is reported as
// syncer_db_up 0 (and logged), not as a failed scrape: the process metrics
// stay visible exactly when the database is the problem.
func (c *DBCollector) Collect(ch chan<- prometheus.Metric) {
	if c.Pool != nil {
		s := c.Pool()
		gauge(ch, descPoolInUse, float64(s.Acquired))
		gauge(ch, descPoolIdle, float64(s.Idle))
		gauge(ch, descPoolMax, float64(s.Max))
		ch <- prometheus.MustNewConstMetric(descPoolWaits, prometheus.CounterValue, float64(s.EmptyAcquires))
		ch <- prometheus.MustNewConstMetric(descPoolWaitSeconds, prometheus.CounterValue, s.EmptyAcquireWait.Seconds())
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.collectDB(ctx, ch); err != nil {
		if c.Log != nil {
			c.Log.Warn("metrics: could not read the database", "err", err)
		}
		gauge(ch, descDBUp, 0)
		return
	}
	gauge(ch, descDBUp, 1)
}

func (c *DBCollector) collectDB(ctx context.Context, ch chan<- prometheus.Metric) error {
	// Read everything first so a failure half-way emits nothing partial.
	fresh, err := c.Store.SourceFreshness(ctx)
	if err != nil {
		return err
	}
	last, err := c.Store.LastFinishedRuns(ctx)
	if err != nil {
		return err
	}
	open, err := c.Store.OpenTransferCounts(ctx)
	if err != nil {
		return err
	}
	tracked, err := c.Store.TrackedOutcomes(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	for _, f := range fresh {
		staleness := math.Inf(1)
		if f.LastSuccessAt != nil {
			gauge(ch, descLastSuccess, float64(f.LastSuccessAt.UnixMilli())/1e3, f.Job)
			staleness = now.Sub(*f.LastSuccessAt).Seconds()
		}
		gauge(ch, descStaleness, staleness, f.Job)
		if f.Scheduled {
			gauge(ch, descExpected, f.ExpectedInterval.Seconds(), f.Job)
		}
		gauge(ch, descStale, b2f(f.Stale), f.Job)
	}
	for job, r := range last {
		gauge(ch, descLastRunFailed, b2f(r.Status == "failed"), job)
	}
	for status, n := range open {
		gauge(ch, descTransfersOpen, float64(n), status)
	}
	for _, t := range tracked {
		gauge(ch, descTrackedTargets, float64(t.Targets), string(t.Kind), string(t.Outcome))
	}
	return nil
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
