package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"syncer/internal/config"
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
	LastSuccess(ctx context.Context, job string) (time.Time, error)           // store.ErrNotFound if never
	RunningTick(ctx context.Context, job string) (tick *time.Time, err error) // store.ErrNotFound if none
}

// Runner executes jobs and records them.
type Runner struct {
	Store   RunStore
	Log     *slog.Logger
	Replica string // who ran it: host and pid
	Now     func() time.Time
	// Observer, when set, hears how each run ended (metrics).
	Observer RunObserver

	outage  outage
	mu      sync.Mutex
	pending []pendingFinish // ends of runs the database could not take yet
}

// Options qualify one execution.
type Options struct {
	Trigger      string
	Timeout      time.Duration
	ScheduledFor *time.Time    // the cron tick, so each tick runs once across replicas
	FreshWithin  time.Duration // catch-up only: skip if the job succeeded within this
	// ClaimTick is the tick a run that is not a scheduled one (catch-up)
	// claims per-agency work for, so replicas catching up together share
	// it; nil: ScheduledFor, else the run's start.
	ClaimTick *time.Time
}

// Result is how an execution ended.
type Result struct {
	RunID  int64
	Status string
	Rows   int64
	Err    error
}

// StepTimeout is the deadline of each database step around a run (lock,
// start, finish, heartbeat) for a job whose timeout is jobTimeout: a quarter
// of it, at least half a second and at most 30 s (30 s without a timeout).
// A database that does not answer a step within it is treated as down.
func StepTimeout(jobTimeout time.Duration) time.Duration {
	if jobTimeout <= 0 {
		return 30 * time.Second
	}
	return min(max(jobTimeout/4, 500*time.Millisecond), 30*time.Second)
}

// Execute runs job once under its advisory lock and records the run. The
// returned error is the job's (or the runner's) failure; a skip is no error.
// Every failure is logged here, so a caller that drops the Result (the
// scheduler) loses nothing.
func (r *Runner) Execute(ctx context.Context, job Job, o Options) Result {
	log := r.Log.With("job", job.Name(), "trigger", o.Trigger)
	step := StepTimeout(o.Timeout)
	traits := config.Traits(job.Name())
	split := traits.SplitsAcrossReplicas
	tick := r.now()
	switch {
	case o.ScheduledFor != nil:
		tick = *o.ScheduledFor
	case o.ClaimTick != nil:
		tick = *o.ClaimTick
	}
	lock, status, err := r.lock(ctx, job.Name(), split, o, step, log)
	if lock == nil {
		if err != nil {
			r.stepFailed(ctx, log, "take the job's lock", err)
		}
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
		sctx, cancel := context.WithTimeout(ctx, step)
		last, err := r.Store.LastSuccess(sctx, job.Name())
		cancel()
		ok, err := found(err)
		if err != nil {
			err = dbStep(ctx, "check the last success", err)
			r.stepFailed(ctx, log, "check the last success", err)
			return Result{Status: StatusFailed, Err: err}
		}
		if ok && r.now().Sub(last) < o.FreshWithin {
			log.Info("skipped catch-up: a recent run succeeded", "last_success", last)
			return Result{Status: StatusSkipped}
		}
	}
	// The database vouched for itself no earlier than this: a stall begins
	// after it, so a deadline counted from it holds counted from the stall.
	answered := time.Now()
	sctx, cancel := context.WithTimeout(ctx, step)
	id, err := r.Store.StartRun(sctx, store.RunStart{
		Job: job.Name(), Trigger: o.Trigger, ScheduledFor: o.ScheduledFor, Replica: r.Replica,
	})
	cancel()
	if errors.Is(err, store.ErrTickTaken) {
		// Normal with replicas: each tick fires on all of them and one
		// runs it. Not a WARN: an operator has nothing to do about it.
		log.Info("skipped: another replica already ran this tick", "tick", o.ScheduledFor)
		return Result{Status: StatusSkipped}
	}
	if err != nil {
		err = dbStep(ctx, "record the run's start", err)
		r.stepFailed(ctx, log, "record the run's start", err)
		return Result{Status: StatusFailed, Err: err}
	}
	r.outage.up(log)
	run := &Run{ID: id, Job: job.Name(), Trigger: o.Trigger, Log: log.With("run_id", id), incremental: traits.CommitsAsItGoes,
		Tick: tick, timeout: o.Timeout, replica: r.Replica}

	runCtx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	if !split || traits.PerAgency {
		// The run's writes commit only while it is still the job's
		// live run, even if its lock is lost meanwhile.
		runCtx = store.WithFence(runCtx, id)
	}
	hb := LockCheckEvery(o.Timeout)
	stop := r.heartbeat(runCtx, lock, hb, lost, run.Log, answered)
	err = r.invoke(runCtx, job, run, o.Timeout)
	lastAnswer := stop()
	finishBy := time.Now().Add(step)
	if errors.Is(context.Cause(runCtx), errLockLost) || ErrorClass(err) == ClassDatabase {
		// The database stopped answering (or cut the run) after it last
		// answered a ping: the end is recorded within the step deadline
		// counted from that answer, not a whole step after the loss was
		// noticed, so a stalled database fails the run within one step
		// deadline of the stall. An end it cannot take by then is kept and
		// recorded later.
		finishBy = lastAnswer.Add(step)
	}
	return r.finish(ctx, run, err, finishBy)
}

// LockCheckEvery is how soon a run notices that its job lock is lost (its
// lock session terminated or cut, or the database silent): a quarter of the
// job's timeout or 5 s, whichever is less (at least half a second).
func LockCheckEvery(jobTimeout time.Duration) time.Duration {
	return min(StepTimeout(jobTimeout), 5*time.Second)
}

// errLockLost is the cause of a run cancelled because its lock was lost.
var errLockLost = errors.New("the run's job lock was lost")

// lock takes the job's advisory lock, exclusive or (SplitsAcrossReplicas) shared, within
// step, and marks runs a dead process left 'running' as abandoned. A nil
// lock means no run: skipped (another process holds the job) or failed (err).
func (r *Runner) lock(ctx context.Context, job string, split bool, o Options, step time.Duration, log *slog.Logger) (*store.JobLock, string, error) {
	ctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	if split {
		lock, n, err := r.Store.LockJobShared(ctx, job)
		if err != nil {
			return nil, StatusFailed, dbStep(ctx, "lock", err)
		}
		r.flushPending(ctx, log)
		if n > 0 {
			log.Warn("marked runs left by a stopped process as failed", "runs", n)
		}
		return lock, "", nil
	}
	lock, ok, err := r.Store.TryLockJob(ctx, job)
	if err != nil {
		return nil, StatusFailed, dbStep(ctx, "lock", err)
	}
	if !ok {
		r.logBusy(ctx, job, o, log)
		return nil, StatusSkipped, nil
	}
	// Ends of our own runs the database could not take earlier are
	// recorded before anything could mark those runs abandoned.
	r.flushPending(ctx, log)
	// Holding the lock, nobody else can be running this job: runs still
	// marked running were left by a process that died, or lost their lock
	// (they are fenced off from committing: store.WithFence).
	abandoned, err := r.Store.AbandonRunning(ctx, job)
	if err != nil {
		lock.Release()
		return nil, StatusFailed, dbStep(ctx, "abandon stale runs", err)
	}
	if abandoned > 0 {
		log.Warn("marked runs left by a stopped process as failed", "runs", abandoned)
	}
	return lock, "", nil
}

// logBusy says why a run did not take place because another session holds
// the job's lock. When that session runs the same tick, it is the replicas'
// normal deduplication (INFO); otherwise a run is late or overrunning, which
// an operator should hear about (WARN).
func (r *Runner) logBusy(ctx context.Context, job string, o Options, log *slog.Logger) {
	tick, err := r.Store.RunningTick(ctx, job)
	running, err := found(err)
	switch {
	case err == nil && o.ScheduledFor != nil && (!running || tick != nil && tick.Equal(*o.ScheduledFor)):
		log.Info("skipped: another replica is running this tick", "tick", o.ScheduledFor)
	case err == nil && running && tick != nil:
		log.Warn("skipped tick: a run of an earlier tick is still going in another replica or process",
			"tick", o.ScheduledFor, "running_tick", *tick)
	default:
		log.Warn("skipped: the job is running in another replica or process", "tick", o.ScheduledFor)
	}
}

// found splits a store lookup's error: whether the row was there, and the
// error left when "not found" is an answer rather than a failure.
func found(err error) (bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// heartbeat pings the run's lock session (LockCheckEvery) until stop is called.
// When a ping fails (the session was terminated or cut, or the database does
// not answer within half of every) the lock can no longer be vouched for: the run is
// cancelled with a database error as its cause.
//
// stop returns when the database last answered: the start of the last ping
// that succeeded, or answered when none did.
func (r *Runner) heartbeat(ctx context.Context, lock *store.JobLock, every time.Duration, lost context.CancelCauseFunc, log *slog.Logger, answered time.Time) (stop func() time.Time) {
	done := make(chan struct{})
	last := answered // written by the goroutine, read after wg.Wait
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Four times per period, each ping within half of it: a lost lock
		// or a silent database is noticed within three quarters of every.
		t := time.NewTicker(every / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			sent := time.Now()
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every/2)
			err := lock.Ping(pctx)
			cancel()
			if err == nil {
				last = sent
			}
			if err != nil {
				// WARN: the run's end reports the failure (the outage's
				// one ERROR, or a WARN once the outage is known).
				log.Warn("lost the job's lock (database heartbeat failed): cancelling the run", "err", err)
				lost(fmt.Errorf("%w: %w", errLockLost, err))
				return
			}
		}
	}()
	return func() time.Time { close(done); wg.Wait(); return last }
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
	run.started = r.now()
	run.Log.Info("run started")
	// Provider clients log through the run's logger (job, run_id) when
	// the context carries it.
	err = job.Run(providers.WithLogger(ctx, run.Log), run)
	if err != nil && ctx.Err() != nil {
		// The provider or database error is a symptom; the cause is the
		// deadline, the shutdown or the lost lock.
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return err
}

// finish records how the run ended, by the deadline by and without the
// run's cancellation, and logs it: INFO when it succeeded, WARN when
// cancelled, ERROR when it failed. A run failed by the database is the
// outage's one ERROR when it is its first failure, a WARN after that. An end
// the database cannot take now is kept and recorded by a later run's lock
// step, so a run cut off by an outage still ends up failed with class
// database rather than abandoned.
func (r *Runner) finish(ctx context.Context, run *Run, err error, by time.Time) Result {
	f := store.RunFinish{Status: StatusSucceeded, RowsWritten: run.Rows(), Detail: run.Counts(), Observed: run.ObservedData()}
	if err != nil {
		f.Status = StatusFailed
		f.ErrorClass = ErrorClass(err)
		if f.ErrorClass == "cancelled" {
			f.Status = StatusCancelled
		}
		f.ErrorMessage = cut(err.Error(), 2000) // whole characters: Postgres refuses a split one
		if !run.incremental {
			// Rows of a failed run were rolled back with its transaction.
			f.RowsWritten = 0
		}
	}
	failedByDB := f.Status == StatusFailed && f.ErrorClass == ClassDatabase
	fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), by)
	ferr := r.Store.FinishRun(fctx, run.ID, f)
	cancel()
	attrs := []any{"status", f.Status, "rows", f.RowsWritten}
	if ferr != nil {
		r.mu.Lock()
		r.pending = append(r.pending, pendingFinish{id: run.ID, f: f})
		r.mu.Unlock()
		if failedByDB {
			// The same outage: said once, in the run's own line below.
			attrs = append(attrs, "end_recorded", "later (the database did not take it)")
		} else {
			r.stepFailed(context.WithoutCancel(ctx), run.Log, "record the end of the run (kept to record later)", dbStep(fctx, "finish", ferr))
		}
	}
	if !run.started.IsZero() {
		attrs = append(attrs, "took", r.now().Sub(run.started).Round(time.Millisecond))
	}
	switch {
	case err == nil:
		run.Log.Info("run ended", attrs...)
	case f.Status == StatusCancelled:
		run.Log.Warn("run cancelled", append(attrs, "err", err)...)
	case failedByDB && !r.outage.down():
		// An outage already reported at ERROR: this run is one more of
		// its casualties, as a skipped tick is.
		run.Log.Warn("run failed: the database is still unreachable", append(attrs, "error_class", f.ErrorClass, "err", err)...)
	case failedByDB:
		run.Log.Error(runOutageStarts, append(attrs, "error_class", f.ErrorClass, "err", err)...)
	default:
		run.Log.Error("run failed", append(attrs, "error_class", f.ErrorClass, "err", err)...)
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
