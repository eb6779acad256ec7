package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"syncer/internal/config"
	"syncer/internal/providers"
	"syncer/internal/store"
)

// DayJob is a job that can also run for one past day inside a transaction
// the backfill owns, so the day's data and its checkpoint commit together.
type DayJob interface {
	Job
	RunDay(ctx context.Context, run *Run, tx *store.Tx, day time.Time) error
}

// BackfillStore is what a backfill needs of the database.
type BackfillStore interface {
	TxRunner
	LockBackfill(ctx context.Context, job string) (*store.JobLock, int64, error)
	AbandonDeadBackfills(ctx context.Context, l *store.JobLock, job string) (int64, error)
	StartRun(ctx context.Context, r store.RunStart) (int64, error)
	FinishRun(ctx context.Context, id int64, f store.RunFinish) error
	DoneDays(ctx context.Context, job string, from, to time.Time) (map[string]bool, error)
}

// Progress hears about each day as it ends.
type Progress interface {
	Start(total, alreadyDone int)
	Day(day time.Time, rows int64, err error)
}

// Backfill runs job for every day from..to (inclusive) with at most
// concurrency days in flight. Days checkpointed by an earlier backfill are
// skipped, so a killed backfill resumes and a finished range is a no-op.
type Backfill struct {
	Store       BackfillStore
	Runner      *Runner // for the replica name, logger and clock
	Concurrency int
	Progress    Progress
	// DayTimeout bounds each day's run (the job's configured timeout), so
	// a stalled database or provider fails the day instead of hanging it.
	// 0: no limit.
	DayTimeout time.Duration
}

// BackfillResult sums what this backfill did: Days it did itself,
// Skipped days an earlier backfill had finished, ClaimedElsewhere days a
// concurrent backfill took while this one ran, and Failed days.
type BackfillResult struct {
	Days, Skipped, ClaimedElsewhere, Failed int
	Rows                                    int64
}

// ErrClaimedElsewhere is what Progress.Day hears for a day another backfill
// running at the same time took: not a failure, and not done by this one.
var ErrClaimedElsewhere = errors.New("done by another backfill running at the same time")

// Run executes the backfill. It returns an error if any day failed; the
// other days are still done and checkpointed.
func (b *Backfill) Run(ctx context.Context, job DayJob, from, to time.Time) (BackfillResult, error) {
	return b.run(ctx, job, func(res *BackfillResult) ([]time.Time, error) {
		done, err := b.Store.DoneDays(ctx, job.Name(), from, to)
		if err != nil {
			return nil, err
		}
		var todo []time.Time
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			if done[d.Format(time.DateOnly)] {
				res.Skipped++
				continue
			}
			todo = append(todo, d)
		}
		return todo, nil
	}, false)
}

// RunDays runs job for exactly days, whether or not a backfill checkpointed
// them: `backfill --gaps` passes the days coverage reports missing. A
// checkpoint says a backfill once finished the day, not that every agency
// has it now (an agency added since, or a day with no spend fetched before
// fetches were recorded), so it must not stop the day from being filled.
func (b *Backfill) RunDays(ctx context.Context, job DayJob, days []time.Time) (BackfillResult, error) {
	return b.run(ctx, job, func(*BackfillResult) ([]time.Time, error) { return days, nil }, true)
}

// run holds the backfill lock, asks plan for the days to run, and runs them;
// redo runs a day even if a checkpoint says it is done.
func (b *Backfill) run(ctx context.Context, job DayJob, plan func(*BackfillResult) ([]time.Time, error), redo bool) (BackfillResult, error) {
	var res BackfillResult
	// Held shared for the whole backfill: it tells the abandon step that
	// this backfill's running runs are alive (store.LockBackfill).
	lock, abandoned, err := b.Store.LockBackfill(ctx, job.Name())
	if err != nil {
		return res, err
	}
	defer lock.Release()
	if abandoned > 0 {
		b.Runner.Log.Warn("marked backfill runs left by a stopped process as failed", "job", job.Name(), "runs", abandoned)
	}
	todo, err := plan(&res)
	if err != nil {
		return res, err
	}
	if b.Progress != nil {
		b.Progress.Start(len(todo)+res.Skipped, res.Skipped)
	}
	days := make(chan time.Time)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w := 0; w < max(1, b.Concurrency); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for day := range days {
				rows, claimed, err := b.day(ctx, job, day, redo)
				mu.Lock()
				if err == nil && !claimed {
					res.ClaimedElsewhere++
					err = ErrClaimedElsewhere
				} else if err != nil {
					res.Failed++
					errs = append(errs, fmt.Errorf("%s: %w", day.Format(time.DateOnly), err))
				} else {
					res.Days++
					res.Rows += rows
				}
				mu.Unlock()
				if b.Progress != nil {
					b.Progress.Day(day, rows, err)
				}
			}
		}()
	}
feed:
	for _, d := range todo {
		select {
		case days <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(days)
	wg.Wait()
	// Again now that all of ours have ended: a killed backfill's session
	// may have outlived its process for a moment when we started.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StepTimeout(0))
	if n, err := b.Store.AbandonDeadBackfills(actx, lock, job.Name()); err != nil {
		b.Runner.Log.Error("could not mark runs of stopped backfills", "job", job.Name(), "err", err)
	} else if n > 0 {
		b.Runner.Log.Warn("marked backfill runs left by a stopped process as failed", "job", job.Name(), "runs", n)
	}
	cancel()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, errors.Join(errs...)
}

// day runs one day as its own recorded run and transaction; redo runs it
// even if a checkpoint says it is done. claimed is false when another
// backfill had the day.
func (b *Backfill) day(ctx context.Context, job DayJob, day time.Time, redo bool) (rows int64, claimed bool, err error) {
	step := StepTimeout(b.DayTimeout)
	sctx, cancel := context.WithTimeout(ctx, step)
	id, err := b.Store.StartRun(sctx, store.RunStart{
		Job: job.Name(), Trigger: TriggerBackfill, WindowDate: &day, Replica: b.Runner.Replica,
	})
	cancel()
	if err != nil {
		return 0, false, dbStep(ctx, "record the run's start", err)
	}
	incremental := config.Traits(job.Name()).CommitsAsItGoes
	run := &Run{ID: id, Job: job.Name(), Trigger: TriggerBackfill, started: b.Runner.now(), Tick: day,
		timeout: b.DayTimeout, replica: b.Runner.Replica, incremental: incremental,
		Log: b.Runner.Log.With("job", job.Name(), "run_id", id, "day", day.Format(time.DateOnly))}
	// The day's provider calls log through the day's run logger.
	dctx := providers.WithLogger(ctx, run.Log)
	if b.DayTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeoutCause(dctx, b.DayTimeout, fmt.Errorf("job timeout of %s: %w", b.DayTimeout, context.DeadlineExceeded))
		defer cancel()
	}
	var partial error // some agencies failed, the others are to commit
	err = b.Store.WithTx(dctx, func(tx *store.Tx) error {
		ctx := dctx
		claim := tx.ClaimDay
		if redo {
			claim = tx.LockDay
		}
		ok, err := claim(ctx, job.Name(), day)
		if err != nil || !ok {
			if err == nil {
				run.Count("skipped_claimed_elsewhere", 1)
			}
			return err
		}
		claimed = true
		if err := job.RunDay(ctx, run, tx, day); err != nil {
			var some *AgencyFailures
			if errors.As(err, &some) {
				// The other agencies' days commit; the day is not
				// checkpointed, so the next backfill (or --gaps) does it again.
				partial = err
				return nil
			}
			return err
		}
		return tx.MarkDayDone(ctx, job.Name(), day, run.ID, run.Rows())
	})
	if err != nil {
		// The day's transaction rolled back: none of its agencies committed.
		run.rows.Store(0)
	} else {
		err = partial
	}
	if err != nil && dctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", context.Cause(dctx), err)
	}
	res := b.Runner.finish(ctx, run, err, time.Now().Add(step))
	return res.Rows, claimed, res.Err
}
