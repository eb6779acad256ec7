package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// fnJob is a job whose body the test supplies.
type fnJob struct {
	name string
	fn   func(ctx context.Context, run *jobs.Run) error
}

func (j fnJob) Name() string                                 { return j.name }
func (j fnJob) Run(ctx context.Context, run *jobs.Run) error { return j.fn(ctx, run) }

func runRow(t *testing.T, db *store.DB, id int64) (status, class string) {
	t.Helper()
	var c *string
	if err := testdb.QueryRow(t, db, `SELECT status, error_class FROM syncer.runs WHERE id = $1`, id).Scan(&status, &c); err != nil {
		t.Fatal(err)
	}
	if c != nil {
		class = *c
	}
	return status, class
}

// untilDone is a job that runs until its context ends; if the context never
// does (a runner that lost its timeout), it gives up after a while with an
// error of its own, so the test fails instead of hanging the package.
func untilDone(ctx context.Context, run *jobs.Run) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return errors.New("the run's context never ended")
	}
}

func TestRunnerRecordsOutcomes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	r := newRunner(db, "a", nil)
	cases := []struct {
		name       string
		fn         func(ctx context.Context, run *jobs.Run) error
		timeout    time.Duration
		wantStatus string
		wantClass  string
	}{
		{"ok", func(ctx context.Context, run *jobs.Run) error { run.AddRows(3); return nil }, 0, "succeeded", ""},
		{"panic", func(ctx context.Context, run *jobs.Run) error { panic("boom") }, 0, "failed", "internal"},
		{"timeout", untilDone, 20 * time.Millisecond, "failed", "timeout"},
		{"error", func(ctx context.Context, run *jobs.Run) error { return errors.New("bad") }, 0, "failed", "internal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each case is a job of its own name, so they do not contend
			res := r.Execute(context.Background(), fnJob{"job-" + c.name, c.fn}, jobs.Options{Trigger: jobs.TriggerManual, Timeout: c.timeout})
			status, class := runRow(t, db, res.RunID)
			if status != c.wantStatus || class != c.wantClass || res.Status != c.wantStatus {
				t.Errorf("recorded %s/%q, returned %s; want %s/%q", status, class, res.Status, c.wantStatus, c.wantClass)
			}
		})
	}
}

// A cancelled run (shutdown) is recorded as cancelled and its transaction is rolled back.
func TestCancelledRunRollsBack(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	job := fnJob{"writer", func(ctx context.Context, run *jobs.Run) error {
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: time.Now(), RunID: run.ID}); err != nil {
				return err
			}
			cancel()
			if err := untilDone(ctx, run); !errors.Is(err, context.Canceled) {
				return err
			}
			_, err := tx.CountOpenTransfers(ctx) // any statement, after the cancel
			return err
		})
	}}
	res := newRunner(db, "a", nil).Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual})
	if status, class := runRow(t, db, res.RunID); status != "cancelled" || class != "cancelled" {
		t.Errorf("recorded %s/%s", status, class)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != 0 {
		t.Errorf("a cancelled run left %d rows", n)
	}
}

// Two replicas whose cron fires for the same tick: the job runs once.
func TestTickRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var runs atomic.Int32
	job := fnJob{"tick", func(ctx context.Context, run *jobs.Run) error {
		runs.Add(1)
		time.Sleep(10 * time.Millisecond)
		return nil
	}}
	tick := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	// A deadline on every run: a runner that waits where it should skip
	// fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	statuses := make([]string, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRunner(db, []string{"a", "b", "c", "d"}[i], nil)
			statuses[i] = r.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick}).Status
		}()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("the tick ran %d times (%v)", runs.Load(), statuses)
	}
	// The same tick again, later (a replica whose clock lags): still skipped.
	res := newRunner(db, "e", nil).Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick})
	if res.Status != jobs.StatusSkipped || runs.Load() != 1 {
		t.Errorf("late replica: %s, runs %d", res.Status, runs.Load())
	}
}

// A run left 'running' by a killed process is marked failed by the next
// process that takes the job's lock.
func TestAbandonedRunIsMarkedFailed(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Job: "j", Trigger: jobs.TriggerManual, Replica: "dead"})
	if err != nil {
		t.Fatal(err)
	}
	newRunner(db, "a", nil).Execute(ctx, fnJob{"j", func(context.Context, *jobs.Run) error { return nil }}, jobs.Options{Trigger: jobs.TriggerManual})
	if status, class := runRow(t, db, id); status != "failed" || class != "abandoned" {
		t.Errorf("stale run: %s/%s", status, class)
	}
}

// splitJob is a fnJob that replicas may run at once: it takes the name of
// a registered job whose traits say so (each test has its own database).
func splitJob(run func(context.Context, *jobs.Run) error) fnJob {
	return fnJob{config.JobMawthoqRecheck, run}
}

// A SplitJob runs on every replica that fires, even for the same tick, each
// recording its own run; runs left 'running' by a dead process are marked
// abandoned only once no live replica is running the job.
func TestSplitJobRunsOnEveryReplica(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	// Every wait below ends with this context: a runner that serialises the
	// replicas, or never starts a run, fails the test within a minute.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dead, err := db.StartRun(ctx, store.RunStart{Job: config.JobMawthoqRecheck, Trigger: jobs.TriggerSchedule, Replica: "dead"})
	if err != nil {
		t.Fatal(err)
	}
	// Both runs wait for each other: they can only finish if they overlap.
	// A runner that runs them one after the other fails both at the
	// runs' 10 s deadline.
	arrived := testutil.NewBarrier(2)
	job := splitJob(func(ctx context.Context, run *jobs.Run) error {
		if err := arrived.Arrive(ctx); err != nil {
			return fmt.Errorf("the other replica's run never started: %w", err)
		}
		run.AddRows(1)
		return nil
	})
	tick := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	results := make([]jobs.Result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			results[i] = newRunner(db, []string{"a", "b"}[i], nil).Execute(cctx, job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick})
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != jobs.StatusSucceeded || r.RunID == 0 {
			t.Errorf("replica %d: %s %v", i, r.Status, r.Err)
		}
	}
	if status, class := runRow(t, db, dead); status != "failed" || class != "abandoned" {
		t.Errorf("the dead process's run: %s/%s", status, class)
	}

	// While one replica runs the job, another starting does not touch its
	// 'running' row.
	started, release := make(chan int64, 1), make(chan struct{})
	slow := splitJob(func(ctx context.Context, run *jobs.Run) error {
		started <- run.ID
		return testutil.Await(ctx, release)
	})
	done := make(chan jobs.Result, 1)
	go func() { done <- newRunner(db, "a", nil).Execute(ctx, slow, jobs.Options{Trigger: jobs.TriggerManual}) }()
	live := testutil.Receive(t, started, 30*time.Second, "the first replica's run to start")
	quick := splitJob(func(context.Context, *jobs.Run) error { return nil })
	if r := newRunner(db, "b", nil).Execute(ctx, quick, jobs.Options{Trigger: jobs.TriggerManual}); r.Status != jobs.StatusSucceeded {
		t.Errorf("second replica: %s %v", r.Status, r.Err)
	}
	if status, _ := runRow(t, db, live); status != "running" {
		t.Errorf("a live replica's run was marked %s", status)
	}
	close(release)
	if r := testutil.Receive(t, done, 30*time.Second, "the first replica's run to end"); r.Status != jobs.StatusSucceeded {
		t.Errorf("first replica: %s %v", r.Status, r.Err)
	}
}

// Catch-up runs a job whose last success is older than its period, and
// leaves alone a job that is fresh. A run that read no provider data is no
// success for this: such a job is caught up too. The clock is injected: no
// sleeping.
func TestCatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	clk := testutil.NewClock(time.Now())
	var stale, fresh, blind atomic.Int32
	staleJob := fnJob{"stale", func(_ context.Context, r *jobs.Run) error { stale.Add(1); r.MarkObserved(); return nil }}
	freshJob := fnJob{"fresh", func(_ context.Context, r *jobs.Run) error { fresh.Add(1); r.MarkObserved(); return nil }}
	blindJob := fnJob{"blind", func(_ context.Context, r *jobs.Run) error { blind.Add(1); return nil }}
	r := newRunner(db, "a", clk.Now)
	// All succeeded once "now"; then the process is down for two hours.
	r.Execute(ctx, staleJob, jobs.Options{Trigger: jobs.TriggerManual})
	r.Execute(ctx, freshJob, jobs.Options{Trigger: jobs.TriggerManual})
	r.Execute(ctx, blindJob, jobs.Options{Trigger: jobs.TriggerManual})
	clk.Advance(2 * time.Hour)
	s, err := jobs.NewScheduler(r, []jobs.Entry{
		{Job: staleJob, Schedule: "@every 1h"},
		{Job: freshJob, Schedule: "@every 6h"},
		{Job: blindJob, Schedule: "@every 6h"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.CatchUp(ctx)
	if stale.Load() != 2 || fresh.Load() != 1 || blind.Load() != 2 {
		t.Errorf("after catch-up: stale ran %d times, fresh %d, blind %d; want 2, 1 and 2", stale.Load(), fresh.Load(), blind.Load())
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE trigger = 'catchup'`); n != 2 {
		t.Errorf("%d catch-up runs recorded, want 2", n)
	}
}

func TestBadScheduleIsRejected(t *testing.T) {
	t.Parallel()
	_, err := jobs.NewScheduler(&jobs.Runner{}, []jobs.Entry{{Job: fnJob{name: "x"}, Schedule: "61 * * * *"}})
	if err == nil {
		t.Fatal("a bad cron expression was accepted")
	}
}

// "@every" ticks must be the same instants on every replica, whenever each started.
func TestEverySchedulesAlignAcrossReplicas(t *testing.T) {
	t.Parallel()
	s, err := jobs.ParseSchedule("@every 15m")
	if err != nil {
		t.Fatal(err)
	}
	a := s.Next(time.Date(2026, 11, 1, 10, 3, 7, 0, time.UTC))
	b := s.Next(time.Date(2026, 11, 1, 10, 11, 59, 0, time.UTC))
	want := time.Date(2026, 11, 1, 10, 15, 0, 0, time.UTC)
	if !a.Equal(want) || !b.Equal(want) {
		t.Errorf("next ticks %s and %s, want both %s", a, b, want)
	}
	if p := jobs.Period(s, want); p != 15*time.Minute {
		t.Errorf("period %s", p)
	}
}
