package observe

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/store"
)

// ReplicationStore is what the replica guard's metrics and page notes read:
// the transfers settled not_applied because no standby confirmed their
// journal row (SYNCER_TRANSFER_MIN_REPLICAS).
type ReplicationStore interface {
	NotReplicatedTransfers(ctx context.Context, since time.Time) (store.NotReplicatedSummary, error)
}

var (
	descNotReplicated = prometheus.NewDesc("syncer_transfers_not_replicated_total",
		"MGID transfers not sent because too few standbys confirmed their journal row (SYNCER_TRANSFER_MIN_REPLICAS), from the journal.", nil, nil)
	descReplicaGuardFailing = prometheus.NewDesc("syncer_transfer_replica_guard_failing",
		"1 when the newest live MGID transfer was held back for want of a standby: transfers stop until replication is back.", nil, nil)
)

// ReplicaGuardCollector reads, at each scrape, the journal's count of
// transfers the replica guard held back. From the journal, not counted in
// the process, so a refusal by `syncer mgid transfer` (another process)
// shows too. A failed read is logged and leaves the two series out: the
// DBCollector's syncer_db_up already says the database could not be read.
type ReplicaGuardCollector struct {
	Store   ReplicationStore
	Timeout time.Duration // per scrape; default 2s
	Log     *slog.Logger
}

// Describe implements prometheus.Collector.
func (c *ReplicaGuardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descNotReplicated
	ch <- descReplicaGuardFailing
}

// Collect implements prometheus.Collector.
func (c *ReplicaGuardCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := c.Store.NotReplicatedTransfers(ctx, time.Now())
	if err != nil {
		if c.Log != nil {
			c.Log.Warn("metrics: could not read the transfers held back for want of a standby", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(descNotReplicated, prometheus.CounterValue, float64(s.Total))
	gauge(ch, descReplicaGuardFailing, b2f(s.Failing()))
}

// replicationNotes adds the replica guard's refusals to the page: a problem
// while the newest live transfer is one (money stops moving until
// replication is back), else a warning for those of the last 24 hours.
func (p *Page) replicationNotes(ctx context.Context, now time.Time, d *pageData) {
	if p.Replication == nil {
		return
	}
	s, err := p.Replication.NotReplicatedTransfers(ctx, now.Add(-24*time.Hour))
	switch {
	case err != nil:
		d.Problems = append(d.Problems, "Could not read the transfers held back for want of a standby: "+err.Error()+".")
	case s.Failing():
		d.Problems = append(d.Problems, fmt.Sprintf("MGID transfers are held back: the newest (%s) was not sent because too few standbys confirmed its journal row "+
			"(SYNCER_TRANSFER_MIN_REPLICAS). Check replication (pg_stat_replication on the primary); %d held back in the last 24 h.",
			p.when(now, *s.Latest), s.Since))
	case s.Since > 0:
		d.Warnings = append(d.Warnings, fmt.Sprintf("%d MGID transfer%s in the last 24 h %s not sent because too few standbys confirmed %s journal row; later transfers went through.",
			s.Since, plural(int(s.Since)), wasWere(s.Since), itsTheir(s.Since)))
	}
}

func wasWere(n int64) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func itsTheir(n int64) string {
	if n == 1 {
		return "its"
	}
	return "their"
}
