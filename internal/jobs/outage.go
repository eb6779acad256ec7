package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"syncer/internal/providers"
	"syncer/internal/store"
)

// ClassDatabase is the error class of a run that failed because of the
// database (unreachable, stalled past a step's deadline, its lock lost),
// not because of a provider or the data.
const ClassDatabase = "database"

// ErrorClass is the class recorded with a failed run: cancelled, database,
// or what providers.Class says of a provider's failure (timeout, auth,
// rate_limited, retryable, malformed, permanent, internal). The database
// is told apart here, not in providers, which knows nothing of Postgres.
func ErrorClass(err error) string {
	var pe *providers.Error
	if err != nil && !errors.Is(err, context.Canceled) && !errors.As(err, &pe) && store.IsDatabaseError(err) {
		return ClassDatabase
	}
	return providers.Class(err)
}

// dbStep marks the failure of a database step around a run as the
// database's fault (a deadline on a step included), unless it is the
// caller's own cancellation (a shutdown), which stays a cancellation.
func dbStep(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return err
	}
	var de *store.DatabaseError
	if errors.As(err, &de) {
		return err
	}
	return &store.DatabaseError{Op: op, Err: err}
}

// stepFailed logs a failed step around a run, so no failure is dropped: a
// database failure through the outage (ERROR once per outage, WARN for each
// tick skipped during it), anything else at ERROR; a shutdown at INFO.
func (r *Runner) stepFailed(ctx context.Context, log *slog.Logger, step string, err error) {
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		log.Info("not run: shutting down", "step", step)
	case store.IsDatabaseError(err):
		if r.outage.down() {
			log.Error(outageStarts, "step", step, "err", err)
		} else {
			log.Warn("skipped: the database is unreachable", "step", step, "err", err)
		}
	default:
		log.Error("could not "+step, "err", err)
	}
}

// outageStarts is the ERROR that opens an outage when a step around a run
// finds the database gone; a run that the outage fails says it in its own
// "run failed" line instead (runOutageStarts), so one outage is one ERROR.
const (
	outageStarts    = "database unreachable: runs fail or are skipped until it returns"
	runOutageStarts = "run failed: database unreachable; runs fail or are skipped until it returns"
)

// outage remembers whether the database is down, so that it is reported at
// ERROR once when it goes and at INFO once when it returns, not per tick.
type outage struct {
	mu    sync.Mutex
	since time.Time // zero while the database answers
}

// down records that the database failed; it returns true only for the
// first failure of an outage, whose caller logs the outage's one ERROR.
func (o *outage) down() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		return false
	}
	o.since = time.Now()
	return true
}

// up records that a database step succeeded.
func (o *outage) up(log *slog.Logger) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	log.Info("database reachable again", "outage", time.Since(o.since).Round(time.Millisecond))
	o.since = time.Time{}
}

type pendingFinish struct {
	id int64
	f  store.RunFinish
}

// flushPending records the ends of runs that the database could not take
// when they finished (it was down), now that it answers again.
func (r *Runner) flushPending(ctx context.Context, log *slog.Logger) {
	r.mu.Lock()
	todo := r.pending
	r.pending = nil
	r.mu.Unlock()
	var left []pendingFinish
	for _, p := range todo {
		if err := r.Store.FinishRun(ctx, p.id, p.f); err != nil {
			left = append(left, p)
			continue
		}
		log.Info("recorded the end of a run the database could not take earlier", "run_id", p.id, "status", p.f.Status)
	}
	if len(left) > 0 {
		r.mu.Lock()
		r.pending = append(r.pending, left...)
		r.mu.Unlock()
	}
}
