package jobs_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"syncer/internal/jobs"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// A tracked round commits each batch of results as it goes, so when Gmedia
// goes down mid-round and the run fails, what it recorded stays and
// rows_written says how much (it used to say 0).
func TestFailedTrackedRoundCountsTheRowsItCommitted(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	trSeedMawthoq(t, db, "snapchat", 200)
	clk := testutil.NewClock(trT0)
	const answered = 60
	var checks atomic.Int32
	down := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == sim.PathGmediaCheck && checks.Add(1) > answered {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	_, url := startSim(t, sim.Options{Now: clk.Now}, down)
	settings := trSettings()
	settings.Concurrency = 1
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "sim-gmedia-secret"), DB: db, Settings: settings, Replica: "r",
		Now: clk.Now, MaxConsecutiveErrors: 10}
	res := newRunner(db, "r", clk.Now).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusFailed {
		t.Fatalf("run: %+v, want failed (provider down)", res)
	}
	history := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`)
	if history < answered+10 {
		t.Fatalf("%d history rows, want at least the %d answers and 10 provider errors", history, answered)
	}
	written := testdb.Count(t, db, `SELECT rows_written FROM syncer.runs WHERE id = $1`, res.RunID)
	if written != history || res.Rows != history {
		t.Errorf("rows_written %d (result %d), want the %d history rows the failed run committed", written, res.Rows, history)
	}
}

// An all-or-nothing job's failed run committed nothing: rows_written is 0
// whatever it counted inside the transaction that rolled back.
func TestFailedAllOrNothingRunWroteNothing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	job := fnJob{"all-or-nothing", func(ctx context.Context, run *jobs.Run) error {
		run.AddRows(7)
		return context.DeadlineExceeded
	}}
	res := newRunner(db, "r", nil).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if written := testdb.Count(t, db, `SELECT rows_written FROM syncer.runs WHERE id = $1`, res.RunID); res.Status != jobs.StatusFailed || written != 0 {
		t.Errorf("run %s recorded rows_written %d, want failed with 0", res.Status, written)
	}
}
