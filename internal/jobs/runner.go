package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"syncer/internal/providers"
	"syncer/internal/store"
)

// Triggers recorded in the runs table.
const (
	TriggerSchedule = "schedule"
	TriggerCatchUp  = "catchup"
	TriggerManual   = "manual"
	TriggerBackfill = "backfill"
)

// Statuses recorded in the runs table.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	// StatusSkipped is not recorded: the run did not happen here because
	// another replica holds the job or already ran the tick.
	StatusSkipped = "skipped"
)

// RunStore is what the runner needs of the database.
type RunStore interface {
	TryLockJob(ctx context.Context, name string) (*store.JobLock, bool, error)
	LockJobShared(ctx context.Context, name string) (*store.JobLock, int64, error)
	AbandonRunning(ctx context.Context, job string) (int64, error)
	StartRun(ctx context.Context, r store.RunStart) (int64, error)
	FinishRun(ctx context.Context, id int64, f store.RunFinish) error
	LastSuccess(ctx context.Context, job string) (time.Time, bool, error)
}

// Runner executes jobs and records them.
type Runner struct {
	Store   RunStore
	Log     *slog.Logger
	Replica string // who ran it: host and pid
	Now     func() time.Time
	// Observer, when set, hears how each run ended (metrics).
	Observer RunObserver
}

// Options qualify one execution.
type Options struct {
	Trigger      string
	Timeout      time.Duration
	ScheduledFor *time.Time    // the cron tick, so each tick runs once across replicas
	FreshWithin  time.Duration // catch-up only: skip if the job succeeded within this
}

// Result is how an execution ended.
type Result struct {
	RunID  int64
	Status string
	Rows   int64
	Err    error
}

// Execute runs job once under its advisory lock and records the run. The
// returned error is the job's (or the runner's) failure; a skip is no error.
func (r *Runner) Execute(ctx context.Context, job Job, o Options) Result {
	log := r.Log.With("job", job.Name(), "trigger", o.Trigger)
	_, split := job.(SplitJob)
	lock, status, err := r.lock(ctx, job.Name(), split, log)
	if lock == nil {
		return Result{Status: status, Err: err}
	}
	defer lock.Release()
	if split {
		// Every replica runs every tick and the job splits the work, so
		// the tick is not claimed: each replica records its own run.
		o.ScheduledFor = nil
	}
	if o.FreshWithin > 0 {
		// Re-check under the lock: another replica may have just caught up.
		last, ok, err := r.Store.LastSuccess(ctx, job.Name())
		if err != nil {
			return Result{Status: StatusFailed, Err: err}
		}
		if ok && r.now().Sub(last) < o.FreshWithin {
			log.Info("skipped catch-up: a recent run succeeded", "last_success", last)
			return Result{Status: StatusSkipped}
		}
	}
	id, err := r.Store.StartRun(ctx, store.RunStart{
		Job: job.Name(), Trigger: o.Trigger, ScheduledFor: o.ScheduledFor, Replica: r.Replica,
	})
	if errors.Is(err, store.ErrTickTaken) {
		log.Info("skipped: another replica already ran this tick", "tick", o.ScheduledFor)
		return Result{Status: StatusSkipped}
	}
	if err != nil {
		return Result{Status: StatusFailed, Err: err}
	}
	run := &Run{ID: id, Job: job.Name(), Trigger: o.Trigger, Log: log.With("run_id", id), started: r.now()}
	return r.finish(ctx, run, r.invoke(ctx, job, run, o.Timeout))
}

// SplitJob is a job that several replicas may run at once because it splits
// its work between them itself (the tracked checks claim their targets with
// FOR UPDATE SKIP LOCKED). The runner lets them: the job's lock is taken in
// shared mode and ticks are not claimed.
type SplitJob interface {
	Job
	SplitsAcrossReplicas()
}

// lock takes the job's advisory lock, exclusive or (SplitJob) shared, and
// marks runs a dead process left 'running' as abandoned. A nil lock means
// no run: skipped (another process holds the job) or failed (err).
func (r *Runner) lock(ctx context.Context, job string, split bool, log *slog.Logger) (*store.JobLock, string, error) {
	if split {
		lock, n, err := r.Store.LockJobShared(ctx, job)
		if err != nil {
			return nil, StatusFailed, err
		}
		if n > 0 {
			log.Warn("marked runs left by a stopped process as failed", "runs", n)
		}
		return lock, "", nil
	}
	lock, ok, err := r.Store.TryLockJob(ctx, job)
	if err != nil {
		return nil, StatusFailed, err
	}
	if !ok {
		log.Info("skipped: the job is running in another replica or process")
		return nil, StatusSkipped, nil
	}
	// Holding the lock, nobody else can be running this job: runs still
	// marked running were left by a process that died.
	abandoned, err := r.Store.AbandonRunning(ctx, job)
	if err != nil {
		lock.Release()
		return nil, StatusFailed, err
	}
	if abandoned > 0 {
		log.Warn("marked runs left by a stopped process as failed", "runs", abandoned)
	}
	return lock, "", nil
}

// invoke calls job.Run with the timeout and turns a panic into an error, so
// one broken job cannot take the daemon down.
func (r *Runner) invoke(ctx context.Context, job Job, run *Run, timeout time.Duration) (err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("job timeout of %s: %w", timeout, context.DeadlineExceeded))
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			run.Log.Error("job panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	start := r.now()
	run.Log.Info("run started")
	err = job.Run(ctx, run)
	if err != nil && ctx.Err() != nil {
		// The provider or database error is a symptom; the cause is the deadline or shutdown.
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	run.Log.Info("run ended", "rows", run.Rows(), "took", r.now().Sub(start).Round(time.Millisecond), "err", err)
	return err
}

func (r *Runner) finish(ctx context.Context, run *Run, err error) Result {
	f := store.RunFinish{Status: StatusSucceeded, RowsWritten: run.Rows(), Detail: run.Counts(), Observed: run.ObservedData()}
	if err != nil {
		f.Status = StatusFailed
		f.ErrorClass = providers.Class(err)
		if f.ErrorClass == "cancelled" {
			f.Status = StatusCancelled
		}
		f.ErrorMessage = cut(err.Error(), 2000) // whole characters: Postgres refuses a split one
		// Rows of a failed run were rolled back with its transaction.
		f.RowsWritten = 0
	}
	if ferr := r.Store.FinishRun(ctx, run.ID, f); ferr != nil {
		run.Log.Error("could not record the end of the run", "err", ferr)
	}
	r.observe(run, f)
	return Result{RunID: run.ID, Status: f.Status, Rows: f.RowsWritten, Err: err}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
