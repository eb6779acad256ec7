package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Entry is a job with its schedule.
type Entry struct {
	Job      Job
	Schedule string
	Timeout  time.Duration
}

// Scheduler bridges robfig/cron to the Runner.
type Scheduler struct {
	runner  *Runner
	cron    *cron.Cron
	entries []scheduled
	log     *slog.Logger

	catchUp  sync.WaitGroup // the catch-up pass, which runs outside cron
	stopping atomic.Bool    // Stop was called: the catch-up pass starts no more runs
}

type scheduled struct {
	Entry
	id       cron.EntryID
	schedule cron.Schedule
	running  atomic.Bool // a run of this entry is going in this process
}

// NewScheduler parses every schedule; it does not start anything.
func NewScheduler(r *Runner, entries []Entry) (*Scheduler, error) {
	logger := cronLogger{r.Log}
	s := &Scheduler{
		runner: r,
		log:    r.Log,
		cron:   cron.New(cron.WithChain(cron.Recover(logger)), cron.WithLogger(logger)),
	}
	for _, e := range entries {
		sched, err := ParseSchedule(e.Schedule)
		if err != nil {
			return nil, fmt.Errorf("schedule of %s %q: %w", e.Job.Name(), e.Schedule, err)
		}
		s.entries = append(s.entries, scheduled{Entry: e, schedule: sched})
	}
	return s, nil
}

// Start schedules every entry with ctx as the parent of each run's context,
// then starts catch-up runs in the background.
func (s *Scheduler) Start(ctx context.Context) {
	for i := range s.entries {
		e := &s.entries[i]
		e.id = s.cron.Schedule(e.schedule, cron.FuncJob(func() {
			// Prev is the exact tick cron fired for, equal on every replica
			// however their clocks drift, so it deduplicates ticks.
			tick := s.cron.Entry(e.id).Prev
			s.execute(ctx, e, Options{Trigger: TriggerSchedule, Timeout: e.Timeout, ScheduledFor: &tick})
		}))
	}
	s.cron.Start()
	s.catchUp.Add(1)
	go func() {
		defer s.catchUp.Done()
		s.CatchUp(ctx)
	}()
}

// execute runs an entry unless a run of it is already going in this
// process (a catch-up or the previous tick): such a tick is dropped, not
// queued, since the next tick is the retry, and the drop is logged at WARN
// with its reason: a job that overruns its period needs an operator.
func (s *Scheduler) execute(ctx context.Context, e *scheduled, o Options) {
	if !e.running.CompareAndSwap(false, true) {
		s.log.Warn("skipped tick: the previous run of the job in this process is still going",
			"job", e.Job.Name(), "trigger", o.Trigger, "tick", o.ScheduledFor)
		return
	}
	defer e.running.Store(false)
	s.runner.Execute(ctx, e.Job, o)
}

// Stop stops new ticks and new catch-up runs; the returned context is done
// when running jobs, catch-up ones included, end.
func (s *Scheduler) Stop() context.Context {
	s.stopping.Store(true)
	cronDone := s.cron.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-cronDone.Done()
		s.catchUp.Wait()
		cancel()
	}()
	return ctx
}

// CatchUp runs, one after another, every job whose last success is older
// than its period (or that never succeeded): after downtime the data should
// not wait for the next tick.
func (s *Scheduler) CatchUp(ctx context.Context) {
	for i := range s.entries {
		e := &s.entries[i]
		if ctx.Err() != nil || s.stopping.Load() {
			return
		}
		period := Period(e.schedule, s.runner.now())
		cctx, cancel := context.WithTimeout(ctx, StepTimeout(e.Timeout))
		last, err := s.runner.Store.LastSuccess(cctx, e.Job.Name())
		cancel()
		ok, err := found(err)
		if err != nil {
			s.runner.stepFailed(ctx, s.log.With("job", e.Job.Name(), "trigger", TriggerCatchUp),
				"check whether the job needs a catch-up run", dbStep(ctx, "catch-up check", err))
			continue
		}
		if ok && s.runner.now().Sub(last) < period {
			continue
		}
		// Replicas starting together all catch up: the tick they share
		// their agencies by is the schedule's latest, not each one's clock.
		prev := prevTick(e.schedule, s.runner.now(), period)
		s.execute(ctx, e, Options{Trigger: TriggerCatchUp, Timeout: e.Timeout, FreshWithin: period, ClaimTick: &prev})
	}
}

// prevTick is the schedule's latest tick at or before now (now itself if
// none is found within two periods), the same on every replica.
func prevTick(sched cron.Schedule, now time.Time, period time.Duration) time.Time {
	start := now.Add(-2*period - time.Minute)
	prev := now
	for t := sched.Next(start); !t.After(now); t = sched.Next(t) {
		prev = t
	}
	return prev
}

// Next is the next time each job is due.
func (s *Scheduler) Next(now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for i := range s.entries {
		out[s.entries[i].Job.Name()] = s.entries[i].schedule.Next(now)
	}
	return out
}

// ParseSchedule parses a 5-field cron expression or a descriptor. "@every d"
// ticks are aligned to multiples of d since the Unix epoch rather than to the
// process start, so every replica fires the same ticks and the per-tick claim
// in the runs table can deduplicate them.
func ParseSchedule(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		return alignedEvery(every.Delay), nil
	}
	return sched, nil
}

type alignedEvery time.Duration

func (a alignedEvery) Next(t time.Time) time.Time {
	d := time.Duration(a)
	return t.Truncate(d).Add(d)
}

// Period is the gap between two consecutive ticks of sched after now.
func Period(sched cron.Schedule, now time.Time) time.Duration {
	a := sched.Next(now)
	return sched.Next(a).Sub(a)
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
