package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// bi.source_freshness counts only live runs that read provider data: a
// backfill, a top-up round skipped for a stale snapshot and a tracked round
// whose every check failed all succeed, and none of them makes a source
// fresh. A job that never succeeded is listed, NULL and stale.
func TestFreshnessCountsOnlyRunsThatObservedData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newXferEnv(t, sim.Options{Clients: 20})
	db := e.DB
	sched := func(job, spec string, tick, expected time.Duration) store.JobSchedule {
		return store.JobSchedule{Job: job, Schedule: spec, Enabled: true, TickInterval: tick, ExpectedInterval: expected}
	}
	if err := db.SaveJobSchedules(ctx, "test", []store.JobSchedule{
		sched(config.JobMGIDBalances, "@every 15m", 15*time.Minute, 15*time.Minute),
		sched(config.JobMGIDSpend, "0 * * * *", time.Hour, time.Hour),
		sched(config.JobMGIDTopUp, "@every 15m", 15*time.Minute, 15*time.Minute),
		sched(config.JobMawthoqRecheck, "*/10 * * * *", 10*time.Minute, 24*time.Hour+10*time.Minute),
		sched(config.JobFirstlightRedeem, "*/10 * * * *", 10*time.Minute, time.Hour+10*time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	r := newRunner(db, "a", e.Clk.Now)

	// mgid-balances: a live snapshot.
	e.snapshot()

	// mgid-spend: a live run, then a backfill that ends later.
	spend := &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{e.Client}, DB: db, Location: time.UTC, LookbackDays: 1, Now: e.Clk.Now}
	live := r.Execute(ctx, spend, jobs.Options{Trigger: jobs.TriggerManual})
	if live.Status != jobs.StatusSucceeded {
		t.Fatalf("spend: %+v", live)
	}
	b := &jobs.Backfill{Store: db, Runner: r, Concurrency: 1}
	if res, err := b.Run(ctx, spend, t0.AddDate(0, 0, -10), t0.AddDate(0, 0, -9)); err != nil || res.Days != 2 {
		t.Fatalf("backfill: %+v %v", res, err)
	}

	// mgid-topup: the snapshot is an hour old, past MaxSnapshotAge.
	e.Clk.Advance(time.Hour)
	topup := e.runTopUp(livePolicy())
	if topup.Status != jobs.StatusSucceeded || e.detail(topup.RunID, "skipped_stale_snapshot") != 1 {
		t.Fatalf("top-up: %+v", topup)
	}

	// mawthoq-recheck: Gmedia answers every check with its 500.
	body, err := os.ReadFile(filepath.Join("..", "providers", "gmedia", "testdata", "error_500.json"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"tok","expires_in":3600,"token_type":"Bearer"}`)
	})
	mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	trSeedMawthoq(t, db, "tiktok", 3)
	mawthoq := &jobs.MawthoqRecheck{DB: db, Settings: trSettings(), Replica: "a",
		Gmedia: trGmediaAt(srv.URL+"/token", srv.URL+"/check", "secret")}
	failedRound := r.Execute(ctx, mawthoq, jobs.Options{Trigger: jobs.TriggerManual})
	if failedRound.Status != jobs.StatusSucceeded {
		t.Fatalf("mawthoq round: %+v", failedRound)
	}

	// Each of those runs succeeded; only the live snapshot and spend run observed.
	type runRow struct {
		Job, Trigger, Status string
		Observed             bool
		Runs                 int64
	}
	rows, err := testdb.Query(t, db, `
		SELECT job, trigger, status, observed, count(*) FROM syncer.runs
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	var runs []runRow
	for rows.Next() {
		var x runRow
		if err := rows.Scan(&x.Job, &x.Trigger, &x.Status, &x.Observed, &x.Runs); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, x)
	}
	wantRuns := []runRow{
		{"mawthoq-recheck", "manual", "succeeded", false, 1},
		{"mgid-balances", "manual", "succeeded", true, 1},
		{"mgid-spend", "backfill", "succeeded", true, 2},
		{"mgid-spend", "manual", "succeeded", true, 1},
		{"mgid-topup", "manual", "succeeded", false, 1},
	}
	if fmt.Sprint(runs) != fmt.Sprint(wantRuns) {
		t.Errorf("runs:\n got %v\nwant %v", runs, wantRuns)
	}

	finished := func(where string) *time.Time {
		var at time.Time
		if err := testdb.QueryRow(t, db, `SELECT finished_at FROM syncer.runs WHERE `+where).Scan(&at); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		return &at
	}
	type fresh struct {
		Job              string
		LastSuccessAt    *time.Time
		ExpectedInterval time.Duration
		StaleAfter       time.Duration
		Stale            bool
	}
	got := func() []fresh {
		t.Helper()
		all, err := db.SourceFreshness(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []fresh
		for _, f := range all {
			if !f.Scheduled || !f.Enabled {
				t.Errorf("%s: scheduled %v enabled %v", f.Job, f.Scheduled, f.Enabled)
			}
			if (f.LastSuccessAt == nil) != (f.Age == 0) {
				t.Errorf("%s: last success %v with age %s", f.Job, f.LastSuccessAt, f.Age)
			}
			out = append(out, fresh{f.Job, f.LastSuccessAt, f.ExpectedInterval, f.StaleAfter, f.Stale})
		}
		return out
	}
	show := func(fs []fresh) string {
		s := ""
		for _, f := range fs {
			at := "NULL"
			if f.LastSuccessAt != nil {
				at = f.LastSuccessAt.UTC().Format(time.RFC3339Nano)
			}
			s += fmt.Sprintf("\n  %s last=%s expected=%s stale_after=%s stale=%v", f.Job, at, f.ExpectedInterval, f.StaleAfter, f.Stale)
		}
		return s
	}
	want := []fresh{
		{"firstlight-redeem", nil, time.Hour + 10*time.Minute, time.Hour + 20*time.Minute, true},
		{"mawthoq-recheck", nil, 24*time.Hour + 10*time.Minute, 24*time.Hour + 20*time.Minute, true},
		{"mgid-balances", finished("job = 'mgid-balances'"), 15 * time.Minute, 30 * time.Minute, false},
		{"mgid-spend", finished(fmt.Sprintf("id = %d", live.RunID)), time.Hour, 2 * time.Hour, false},
		{"mgid-topup", nil, 15 * time.Minute, 30 * time.Minute, true},
	}
	if g := got(); show(g) != show(want) {
		t.Errorf("bi.source_freshness:%s\nwant:%s", show(g), show(want))
	}

	// Stale is age past expected_interval plus one tick: 2h for mgid-spend.
	// The cases move one run's finish time, so they run one after the other.
	for _, c := range []struct {
		ago   string
		stale bool
	}{{"1 hour 59 minutes", false}, {"2 hours 1 minute", true}} {
		t.Run(c.ago, func(t *testing.T) {
			testdb.Exec(t, db, `UPDATE syncer.runs SET finished_at = now() - $2::interval WHERE id = $1`, live.RunID, c.ago)
			var stale bool
			if err := testdb.QueryRow(t, db, `SELECT stale FROM bi.source_freshness WHERE job = 'mgid-spend'`).Scan(&stale); err != nil {
				t.Fatal(err)
			}
			if stale != c.stale {
				t.Errorf("mgid-spend last read %s ago: stale %v, want %v", c.ago, stale, c.stale)
			}
		})
	}
}
