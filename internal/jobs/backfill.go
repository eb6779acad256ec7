package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
)

// DayJob is a job that can also run for one past day inside a transaction
// the backfill owns, so the day's data and its checkpoint commit together.
type DayJob interface {
	Job
	RunDay(ctx context.Context, run *Run, tx pgx.Tx, day time.Time) error
}

// BackfillStore is what a backfill needs of the database.
type BackfillStore interface {
	TxRunner
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
}

// BackfillResult sums a backfill.
type BackfillResult struct {
	Days, Skipped, Failed int
	Rows                  int64
}

// Run executes the backfill. It returns an error if any day failed; the
// other days are still done and checkpointed.
func (b *Backfill) Run(ctx context.Context, job DayJob, from, to time.Time) (BackfillResult, error) {
	var res BackfillResult
	done, err := b.Store.DoneDays(ctx, job.Name(), from, to)
	if err != nil {
		return res, err
	}
	var todo []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if done[d.Format(time.DateOnly)] {
			res.Skipped++
			continue
		}
		todo = append(todo, d)
	}
	return b.runDays(ctx, job, todo, res, false)
}

// RunDays runs job for exactly days, whether or not a backfill checkpointed
// them: `backfill --gaps` passes the days coverage reports missing. A
// checkpoint says a backfill once finished the day, not that every agency
// has it now (an agency added since, or a day with no spend fetched before
// fetches were recorded), so it must not stop the day from being filled.
func (b *Backfill) RunDays(ctx context.Context, job DayJob, days []time.Time) (BackfillResult, error) {
	return b.runDays(ctx, job, days, BackfillResult{}, true)
}

func (b *Backfill) runDays(ctx context.Context, job DayJob, todo []time.Time, res BackfillResult, redo bool) (BackfillResult, error) {
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
				rows, err := b.day(ctx, job, day, redo)
				mu.Lock()
				if err != nil {
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
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, errors.Join(errs...)
}

// day runs one day as its own recorded run and transaction; redo runs it
// even if a checkpoint says it is done.
func (b *Backfill) day(ctx context.Context, job DayJob, day time.Time, redo bool) (int64, error) {
	id, err := b.Store.StartRun(ctx, store.RunStart{
		Job: job.Name(), Trigger: TriggerBackfill, WindowDate: &day, Replica: b.Runner.Replica,
	})
	if err != nil {
		return 0, err
	}
	run := &Run{ID: id, Job: job.Name(), Trigger: TriggerBackfill, started: b.Runner.now(),
		Log: b.Runner.Log.With("job", job.Name(), "run_id", id, "day", day.Format(time.DateOnly))}
	err = b.Store.WithTx(ctx, func(tx pgx.Tx) error {
		claim := store.ClaimDay
		if redo {
			claim = store.LockDay
		}
		ok, err := claim(ctx, tx, job.Name(), day)
		if err != nil || !ok {
			if err == nil {
				run.Count("skipped_claimed_elsewhere", 1)
			}
			return err
		}
		if err := job.RunDay(ctx, run, tx, day); err != nil {
			return err
		}
		return store.MarkDayDone(ctx, tx, job.Name(), day, run.ID, run.Rows())
	})
	res := b.Runner.finish(ctx, run, err)
	return res.Rows, res.Err
}
