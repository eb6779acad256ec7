package jobs

import (
	"context"
	"fmt"
	"log/slog"
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
}

type scheduled struct {
	Entry
	id       cron.EntryID
	schedule cron.Schedule
}

// NewScheduler parses every schedule; it does not start anything.
func NewScheduler(r *Runner, entries []Entry) (*Scheduler, error) {
	logger := cronLogger{r.Log}
	s := &Scheduler{
		runner: r,
		log:    r.Log,
		cron: cron.New(cron.WithChain(
			cron.Recover(logger),
			// A tick that comes while the previous run is still going is
			// dropped, not queued: the next tick is the retry.
			cron.SkipIfStillRunning(logger),
		), cron.WithLogger(logger)),
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
			s.runner.Execute(ctx, e.Job, Options{Trigger: TriggerSchedule, Timeout: e.Timeout, ScheduledFor: &tick})
		}))
	}
	s.cron.Start()
	go s.CatchUp(ctx)
}

// Stop stops new ticks; the returned context is done when running jobs end.
func (s *Scheduler) Stop() context.Context { return s.cron.Stop() }

// CatchUp runs, one after another, every job whose last success is older
// than its period (or that never succeeded): after downtime the data should
// not wait for the next tick.
func (s *Scheduler) CatchUp(ctx context.Context) {
	for _, e := range s.entries {
		if ctx.Err() != nil {
			return
		}
		period := Period(e.schedule, s.runner.now())
		last, ok, err := s.runner.Store.LastSuccess(ctx, e.Job.Name())
		if err != nil {
			s.log.Error("catch-up check failed", "job", e.Job.Name(), "err", err)
			continue
		}
		if ok && s.runner.now().Sub(last) < period {
			continue
		}
		s.runner.Execute(ctx, e.Job, Options{Trigger: TriggerCatchUp, Timeout: e.Timeout, FreshWithin: period})
	}
}

// Next is the next time each job is due.
func (s *Scheduler) Next(now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, e := range s.entries {
		out[e.Job.Name()] = e.schedule.Next(now)
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
