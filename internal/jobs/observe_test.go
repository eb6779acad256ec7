package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

type finished struct {
	job, trigger string
	f            store.RunFinish
	took         time.Duration
}

type runRecorder struct {
	mu   sync.Mutex
	runs []finished
}

func (r *runRecorder) RunFinished(job, trigger string, f store.RunFinish, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, finished{job, trigger, f, took})
}

// The runner tells its Observer how every recorded run ended, once, with
// what it wrote to the runs table and how long the run took.
func TestRunnerTellsObserver(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	rec := &runRecorder{}
	r := newRunner(db, "a", nil)
	r.Observer = rec
	ok := fnJob{"observed-ok", func(ctx context.Context, run *jobs.Run) error {
		time.Sleep(20 * time.Millisecond)
		run.AddRows(5)
		run.Count("found", 2)
		run.Count("provider_error", 1)
		return nil
	}}
	bad := fnJob{"observed-bad", func(ctx context.Context, run *jobs.Run) error {
		run.AddRows(9) // rolled back: a failed run reports 0
		return &providers.Error{Provider: "mgid", Op: "agency", Status: 503, Kind: providers.Retryable}
	}}
	r.Execute(context.Background(), ok, jobs.Options{Trigger: jobs.TriggerSchedule})
	r.Execute(context.Background(), bad, jobs.Options{Trigger: jobs.TriggerManual})

	if len(rec.runs) != 2 {
		t.Fatalf("observer heard %d runs, want 2: %+v", len(rec.runs), rec.runs)
	}
	got := rec.runs[0]
	if got.job != "observed-ok" || got.trigger != jobs.TriggerSchedule || got.f.Status != jobs.StatusSucceeded ||
		got.f.RowsWritten != 5 || got.f.Detail["found"] != 2 || got.f.Detail["provider_error"] != 1 || got.took < 20*time.Millisecond {
		t.Errorf("succeeded run heard as %+v", got)
	}
	got = rec.runs[1]
	if got.job != "observed-bad" || got.f.Status != jobs.StatusFailed || got.f.ErrorClass != "retryable" || got.f.RowsWritten != 0 {
		t.Errorf("failed run heard as %+v", got)
	}
}
