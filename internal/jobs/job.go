// Package jobs runs syncer's work: the Job interface, the runner that adds
// what cron lacks (timeouts, panic recovery, the advisory lock across
// replicas, the row in the runs table), the scheduler, backfills, and one
// file per job.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Job is one kind of work; Run does it once.
//
// Most jobs commit all or nothing: mgid-balances, mgid-spend, mgid-retention
// (and each day of a backfill) write in one transaction (store.DB.WithTx), so a failed
// run wrote nothing and is recorded with rows_written 0, whatever AddRows
// was told inside the transaction that rolled back.
//
// A job that commits as it goes says so in its config.Registry traits
// (CommitsAsItGoes): the tracked checks record each batch of results in its
// own transaction, the top-up commits each transfer's journal row before
// its request leaves. A failed run of it keeps what it committed, and
// rows_written counts the rows it counted, which it does only after each
// commit.
type Job interface {
	Name() string
	Run(ctx context.Context, run *Run) error
}

// Run is one execution of a job, as recorded in the runs table.
type Run struct {
	ID      int64
	Job     string
	Trigger string
	Log     *slog.Logger
	// Tick is the cron tick the run belongs to; for a manual or catch-up
	// run, its start. Replicas running one tick share its agencies by it.
	Tick time.Time

	timeout     time.Duration // the job's timeout: an agency claim's lease
	replica     string
	started     time.Time // set by the runner, for the run's duration
	incremental bool      // the job commits as it goes: rows count even if the run fails
	rows        atomic.Int64
	mu          sync.Mutex
	counts      map[string]int64

	observed atomic.Bool // see MarkObserved
}

// AddRows adds to the rows the run wrote. A job that commits as it goes calls it only
// for rows already committed.
func (r *Run) AddRows(n int64) { r.rows.Add(n) }

// Rows is the rows written so far.
func (r *Run) Rows() int64 { return r.rows.Load() }

// MarkObserved records that the run read data from its provider. Only such
// runs count towards freshness: a round skipped for a stale snapshot, or a
// tracked round whose every check failed, reads nothing and must not make a
// source look fresh.
func (r *Run) MarkObserved() { r.observed.Store(true) }

// ObservedData reports whether MarkObserved was called.
func (r *Run) ObservedData() bool { return r.observed.Load() }

// Count adds n to a named counter kept in the run's detail (e.g. checks by outcome).
func (r *Run) Count(key string, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int64{}
	}
	r.counts[key] += n
}

// Counts returns a copy of the run's counters.
func (r *Run) Counts() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// cut keeps the first n characters of s (whole ones: Postgres refuses a
// split one) and marks the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
