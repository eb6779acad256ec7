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

// Job is one kind of work. Run does it once; its writes must commit together
// or not at all.
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

	started time.Time
	rows    atomic.Int64
	mu      sync.Mutex
	counts  map[string]int64
}

// AddRows adds to the rows the run wrote.
func (r *Run) AddRows(n int64) { r.rows.Add(n) }

// Rows is the rows written so far.
func (r *Run) Rows() int64 { return r.rows.Load() }

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
