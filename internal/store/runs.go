package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunStart describes a run about to begin.
type RunStart struct {
	Job          string
	Trigger      string     // schedule, catchup, manual, backfill
	ScheduledFor *time.Time // the cron tick, for scheduled runs
	WindowDate   *time.Time // the day, for backfill runs
	Replica      string
}

// RunFinish is how a run ended.
type RunFinish struct {
	Status       string // succeeded, failed, cancelled
	RowsWritten  int64
	Detail       map[string]int64
	ErrorClass   string
	ErrorMessage string
	// Observed: the run read data from its provider (see Run.MarkObserved).
	// Only a succeeded run's reading counts towards freshness.
	Observed bool
}

// ErrTickTaken means another replica already ran (or is running) this tick.
var ErrTickTaken = errors.New("tick already taken by another replica")

// StartRun records a running run and returns its id. For a scheduled run the
// tick is claimed: if a row for the same job and tick exists, ErrTickTaken.
func (db *DB) StartRun(ctx context.Context, r RunStart) (int64, error) {
	var id int64
	err := db.queryRow(ctx, `
		INSERT INTO syncer.runs (job, trigger, scheduled_for, window_date, replica)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (job, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
		RETURNING id`,
		r.Job, r.Trigger, r.ScheduledFor, dateArg(r.WindowDate), r.Replica).Scan(&id)
	if errors.Is(err, ErrNotFound) {
		return 0, ErrTickTaken
	}
	if err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	return id, nil
}

// FinishRun records how run id ended. The caller gives it a context that
// outlives the run's own (the runner's finish step: without the run's
// cancellation, with a deadline), so a cancelled run is still recorded.
func (db *DB) FinishRun(ctx context.Context, id int64, f RunFinish) error {
	var detail []byte
	if len(f.Detail) > 0 {
		detail, _ = json.Marshal(f.Detail)
	}
	_, err := db.exec(ctx, `
		UPDATE syncer.runs
		SET finished_at = now(), status = $2, rows_written = $3, detail = $4,
		    error_class = NULLIF($5, ''), error_message = NULLIF($6, ''),
		    observed = $7 AND $2 = 'succeeded'
		WHERE id = $1`,
		id, f.Status, f.RowsWritten, detail, f.ErrorClass, f.ErrorMessage, f.Observed)
	if err != nil {
		return fmt.Errorf("record run finish: %w", err)
	}
	return nil
}

// AbandonRunning marks the job's runs still 'running' as failed. Call it only
// while holding the job's lock: then no live replica can be running them, so
// they were left by a process that died. Backfill runs are marked too when no
// live backfill of the job holds its backfill lock (LockBackfill).
func (db *DB) AbandonRunning(ctx context.Context, job string) (n int64, err error) {
	err = pgx.BeginFunc(ctx, db.q, func(tx pgx.Tx) error {
		n, err = abandon(ctx, tx, job)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("abandon stale runs of %s: %w", job, err)
	}
	return n, nil
}

// abandon marks, in tx, the job's runs a dead process left running: the
// scheduled/manual ones (the caller holds the job's lock exclusively) and
// the backfill ones if no backfill of the job is alive, which the
// transaction-scoped try-lock on the backfill key proves (a live backfill
// holds it shared for as long as it runs).
func abandon(ctx context.Context, tx dbtx, job string) (int64, error) {
	tag, err := tx.Exec(ctx, abandonSQL+` AND trigger <> 'backfill'`, job)
	if err != nil {
		return 0, err
	}
	n := tag.RowsAffected()
	var free bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, LockKey("backfill:"+job)).Scan(&free); err != nil {
		return 0, err
	}
	if !free {
		return n, nil
	}
	tag, err = tx.Exec(ctx, abandonSQL+` AND trigger = 'backfill'`, job)
	if err != nil {
		return 0, err
	}
	return n + tag.RowsAffected(), nil
}

const abandonSQL = `
	UPDATE syncer.runs
	SET status = 'failed', finished_at = now(), error_class = 'abandoned',
	    error_message = 'the process running it stopped before it finished'
	WHERE job = $1 AND status = 'running'`

// LastSuccess is when the job last finished a live run that read provider
// data, by the rule of bi.source_freshness; ErrNotFound if it never did.
// Catch-up uses it: a backfill or a round that read nothing leaves the
// source as stale as it was, so it must not stop the catch-up run.
func (db *DB) LastSuccess(ctx context.Context, job string) (time.Time, error) {
	var t *time.Time
	err := db.queryRow(ctx, `
		SELECT max(finished_at) FROM syncer.runs
		WHERE job = $1 AND status = 'succeeded' AND observed AND trigger <> 'backfill'`, job).Scan(&t)
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("last success of %s: %w", job, err)
	case t == nil:
		return time.Time{}, fmt.Errorf("last success of %s: %w", job, ErrNotFound)
	}
	return *t, nil
}

// LastRun is the most recent run of a job.
type LastRun struct {
	ID         int64
	Trigger    string
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Rows       int64
	ErrorClass string
	Error      string
}

func dateArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}

// RunningTick is the tick of the job's latest run still marked running,
// ErrNotFound when none is; tick is nil for a run that was not a scheduled
// tick (manual, catch-up).
func (db *DB) RunningTick(ctx context.Context, job string) (tick *time.Time, err error) {
	err = db.queryRow(ctx, `
		SELECT scheduled_for FROM syncer.runs
		WHERE job = $1 AND status = 'running' AND trigger <> 'backfill'
		ORDER BY id DESC LIMIT 1`, job).Scan(&tick)
	if err != nil {
		return nil, fmt.Errorf("running tick of %s: %w", job, err)
	}
	return tick, nil
}
