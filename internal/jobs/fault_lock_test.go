package jobs_test

// Lost locks and runs left by stopped processes: the top-up round whose
// locks are terminated mid-round, backfills (abandoned only when dead, each
// reporting its own work) and catch-up runs at shutdown.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// pg_terminate_backend on both locks of a live top-up round (the job's and
// the agency's transfer lock) after its first transfer, while it reads
// balances before its second. A second round then takes the locks and sends
// up to the caps. The first round, resuming, must send nothing more: its
// next journal row is refused by the fence, so it never plans against caps
// the second round already used. Caps hold, journal and provider agree, no
// client is paid twice by the two rounds together beyond its cap.
func TestTopUpLockTerminatedMidRoundNeverExceedsCap(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 300})
	e.snapshot()
	p := livePolicy()
	p.MaxPerAgencyDay = amt("600")

	// Round A talks to the simulator through its own server, so the test
	// can hold A alone: after its first transfer, its next request waits for
	// the gate, and every read after that fails (A falls back to its
	// snapshot figures and goes on to journal its second transfer).
	var posts atomic.Int32
	var held atomic.Bool
	blocked, gate := make(chan struct{}), make(chan struct{})
	// However the test ends, the held request goes on: srvA.Close waits for
	// its handlers, and a gate never opened would hang the package.
	var openGate sync.Once
	t.Cleanup(func() { openGate.Do(func() { close(gate) }) })
	simHandler := http.Handler(e.Sim)
	srvA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "money-transfers") {
			posts.Add(1)
			simHandler.ServeHTTP(w, r)
			return
		}
		if posts.Load() >= 1 && r.Method == http.MethodGet {
			if held.CompareAndSwap(false, true) {
				close(blocked)
				_ = testutil.Await(r.Context(), gate)
			}
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		simHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srvA.Close)
	a := &jobs.MGIDTopUp{DB: e.DB, Agencies: []jobs.MGIDTopUpAgency{mgidClientOf(e, srvA.URL)}, Policy: p,
		Location: time.UTC, MaxSnapshotAge: 30 * time.Minute, ReconcileGrace: xferGrace, Now: e.Clk.Now}
	ra := &jobs.Runner{Store: e.DB, Log: testLogger(e.Logs), Replica: "a", Now: e.Clk.Now}
	var resA jobs.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		// No timeout: the heartbeat (every 5 s) may cancel A first, or the
		// fence refuses its next journal row; either way A sends nothing more.
		resA = ra.Execute(context.Background(), a, jobs.Options{Trigger: jobs.TriggerManual})
	}()
	testutil.Receive(t, blocked, 30*time.Second, "round A to hold its first read after the transfer")
	terminate(t, e.DB, lockHolder(t, e.DB, "job:"+config.JobMGIDTopUp))
	terminate(t, e.DB, lockHolder(t, e.DB, "mgid-transfers:1001"))

	resB := e.runTopUp(p)
	if resB.Status != jobs.StatusSucceeded {
		t.Fatalf("second round: %+v", resB)
	}
	openGate.Do(func() { close(gate) })
	testutil.Receive(t, done, 30*time.Second, "round A to end")
	if resA.Status != jobs.StatusFailed || jobs.ErrorClass(resA.Err) != jobs.ClassDatabase {
		t.Fatalf("first round: %+v", resA)
	}
	status, class, msg := runRowFull(t, e.DB, resA.RunID)
	if status != "failed" || class != "database" || !strings.Contains(msg, "lost its job lock") && !strings.Contains(msg, "job lock was lost") {
		t.Errorf("first round recorded %s/%s %q", status, class, msg)
	}
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers WHERE run_id = $1`, resA.RunID); n != 1 {
		t.Errorf("first round journaled %d transfers, want only the one before its lock was lost", n)
	}
	if got := posts.Load(); got != 1 {
		t.Errorf("first round sent %d transfers, want 1", got)
	}
	sent := e.journalAgrees(p) // caps, and journal == what the provider applied
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers WHERE status <> 'planned'`); n != int64(sent) {
		t.Errorf("journal has %d sent transfers, the simulator applied %d", n, sent)
	}
	if sent < 2 {
		t.Errorf("only %d transfers in all: the second round did not run", sent)
	}
	e.NoSecrets()
}

func mgidClientOf(e *xferEnv, url string) *mgid.Client {
	c := *e.Env // a copy: e keeps its own URL
	c.URL = url
	return c.MGID(10 * time.Second)
}

// A backfill's runs are marked abandoned only once its process is gone:
// while it holds its backfill lock the job's lock step leaves them alone.
func TestBackfillRunsAbandonedOnlyWhenDead(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	day := t0
	lock, n, err := db.LockBackfill(ctx, "mgid-spend")
	if err != nil || n != 0 {
		t.Fatalf("backfill lock: %v %d", err, n)
	}
	id, err := db.StartRun(ctx, store.RunStart{Job: "mgid-spend", Trigger: jobs.TriggerBackfill, WindowDate: &day, Replica: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.AbandonRunning(ctx, "mgid-spend"); err != nil || n != 0 {
		t.Fatalf("abandon while the backfill lives: %d %v", n, err)
	}
	if s, _ := runRow(t, db, id); s != "running" {
		t.Fatalf("a live backfill's run was marked %s", s)
	}
	lock.Release() // the process dies: its session, and lock, go
	if n, err := db.AbandonRunning(ctx, "mgid-spend"); err != nil || n != 1 {
		t.Fatalf("abandon after the backfill died: %d %v", n, err)
	}
	if s, c := runRow(t, db, id); s != "failed" || c != "abandoned" {
		t.Errorf("dead backfill's run: %s/%s", s, c)
	}
	// A new backfill marks them too, when it finds no other alive.
	id2, _ := db.StartRun(ctx, store.RunStart{Job: "mgid-spend", Trigger: jobs.TriggerBackfill, WindowDate: &day, Replica: "dead"})
	l2, n, err := db.LockBackfill(ctx, "mgid-spend")
	if err != nil || n != 1 {
		t.Fatalf("new backfill: %v, marked %d", err, n)
	}
	l2.Release()
	if s, c := runRow(t, db, id2); s != "failed" || c != "abandoned" {
		t.Errorf("dead backfill's run after a new backfill: %s/%s", s, c)
	}
}

// Two backfills of the same range at once: each reports what it did itself;
// together they did each day once.
func TestConcurrentBackfillsReportTheirOwnDays(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	_, url := startSim(t, sim.Options{Clients: 50, Now: testutil.NewClock(t0).Now}, nil)
	from, to := t0.AddDate(0, 0, -30).Truncate(24*time.Hour), t0.AddDate(0, 0, -1).Truncate(24*time.Hour)
	const days = 30
	results := make([]jobs.BackfillResult, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := &jobs.MGIDSpend{DB: db, Agencies: []jobs.MGIDSpendSource{mgidClient(url)}, Location: time.UTC, LookbackDays: 3}
			b := &jobs.Backfill{Store: db, Runner: newRunner(db, "r", nil), Concurrency: 3}
			res, err := b.Run(context.Background(), job, from, to)
			if err != nil {
				t.Errorf("backfill %d: %v", i, err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	done := results[0].Days + results[1].Days
	if done != days {
		t.Errorf("the two backfills did %d days between them, want %d: %+v", done, days, results)
	}
	for i, r := range results {
		if r.Days+r.Skipped+r.ClaimedElsewhere != days || r.Failed != 0 {
			t.Errorf("backfill %d accounts for %+v, not %d days", i, r, days)
		}
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.backfill_days`); n != days {
		t.Errorf("%d days checkpointed", n)
	}
}

// Stop waits for the catch-up pass as for ticks: a catch-up run still going
// at shutdown gets the grace and its end is recorded.
func TestCatchUpRunFinishesUnderGrace(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	started := make(chan struct{})
	job := fnJob{"slow-catchup", func(ctx context.Context, run *jobs.Run) error {
		close(started)
		select {
		case <-time.After(500 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	s, err := jobs.NewScheduler(newRunner(db, "a", nil), []jobs.Entry{{Job: job, Schedule: "@every 1h"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	testutil.Receive(t, started, 30*time.Second, "the catch-up run to start")
	stopped := s.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Stop never finished")
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE trigger = 'catchup' AND status = 'succeeded'`); n != 1 {
		t.Errorf("%d catch-up runs recorded succeeded after Stop returned, want 1", n)
	}
}
