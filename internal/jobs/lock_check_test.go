package jobs_test

import (
	"context"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

func TestLockCheckEvery(t *testing.T) {
	t.Parallel()
	for timeout, want := range map[time.Duration]time.Duration{
		0:                5 * time.Second, // no timeout: the 30 s step, capped at 5 s
		time.Second:      500 * time.Millisecond,
		8 * time.Second:  2 * time.Second,
		20 * time.Second: 5 * time.Second,
		time.Hour:        5 * time.Second,
	} {
		if got := jobs.LockCheckEvery(timeout); got != want {
			t.Errorf("LockCheckEvery(%s) = %s, want %s", timeout, got, want)
		}
	}
}

// A run whose lock session is terminated (pg_terminate_backend) notices
// within LockCheckEvery (5 s for a job with a 10-minute timeout, whose step
// deadline is 30 s), is cancelled and recorded failed as database; the lost
// lock is a WARN, not one more ERROR.
func TestLostLockNoticedWithinFiveSeconds(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	logs := &testutil.LockedBuffer{}
	r := &jobs.Runner{Store: db, Log: testLogger(logs), Replica: "a"}
	started := make(chan struct{})
	job := fnJob{"lost-lock", func(ctx context.Context, run *jobs.Run) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}}
	const timeout = 10 * time.Minute
	res := make(chan jobs.Result, 1)
	go func() {
		res <- r.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: timeout})
	}()
	<-started
	terminate(t, db, lockHolder(t, db, "job:lost-lock"))
	cut := time.Now()
	var got jobs.Result
	select {
	case got = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not notice its lost lock within 30 s")
	}
	took := time.Since(cut)
	t.Logf("lost lock noticed and the run ended %s after the cut (LockCheckEvery %s, step %s)",
		took.Round(time.Millisecond), jobs.LockCheckEvery(timeout), jobs.StepTimeout(timeout))
	if got.Status != jobs.StatusFailed || jobs.ErrorClass(got.Err) != jobs.ClassDatabase {
		t.Errorf("run: %+v (class %s)", got, jobs.ErrorClass(got.Err))
	}
	if limit := jobs.LockCheckEvery(timeout) + time.Second; took > limit {
		t.Errorf("the run ended %s after its lock was cut, want within %s", took, limit)
	}
	out := logs.String()
	if logLines(out, "WARN", "lost the job's lock") != 1 || logLines(out, "ERROR", "lost the job's lock") != 0 {
		t.Errorf("want the lost lock once at WARN:\n%s", out)
	}
}
