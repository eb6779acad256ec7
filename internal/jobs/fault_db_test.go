package jobs_test

// Database faults around job runs: a real Postgres reached through an
// in-process TCP proxy (tcpproxy) that the tests reset or blackhole, and
// pg_terminate_backend on the sessions that hold locks or do the work.
// Each test asserts what was lost (nothing), what was duplicated (nothing)
// and what an operator sees: the run's row and the log line's level.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/testutil/tcpproxy"
)

// proxiedDB is a test database reached two ways: direct, for the test's own
// checks and pg_terminate_backend, and through a proxy the test breaks, for
// the code under test. maxConns 0 keeps pgx's default pool size.
func proxiedDB(t *testing.T, maxConns int32) (direct, viaProxy *store.DB, p *tcpproxy.Proxy) {
	t.Helper()
	direct, url := testdb.NewWithURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	p = tcpproxy.Start(t, fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", uint16(p.Port())
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	viaProxy, err = store.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)
	return direct, viaProxy, p
}

// logLines counts the log lines at level that contain msg.
func logLines(logs, level, msg string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level="+level+" ") && strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

// lockHolder is the backend pid holding the advisory lock name in this
// test's database.
func lockHolder(t *testing.T, db *store.DB, name string) int32 {
	t.Helper()
	var pid int32
	err := testdb.QueryRow(t, db, `
		SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((classid::bigint << 32) | objid::bigint) = $1
		LIMIT 1`, store.LockKey(name)).Scan(&pid)
	if err != nil {
		t.Fatalf("holder of lock %s: %v", name, err)
	}
	return pid
}

// terminate ends the session pid and waits (up to 5 s) until it has exited
// and so released its locks: without the wait, pg_terminate_backend only
// signals, and a run started next could still find the lock held (seen
// once in CI: the second run skipped).
func terminate(t *testing.T, db *store.DB, pid int32) {
	t.Helper()
	var ok bool
	if err := testdb.QueryRow(t, db, `SELECT pg_terminate_backend($1, 5000)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, ok, err)
	}
}

// runRowFull is a run's row: status, error class and message.
func runRowFull(t *testing.T, db *store.DB, id int64) (status, class, msg string) {
	t.Helper()
	err := testdb.QueryRow(t, db, `
		SELECT status, coalesce(error_class, ''), coalesce(error_message, '') FROM syncer.runs WHERE id = $1`, id).
		Scan(&status, &class, &msg)
	if err != nil {
		t.Fatal(err)
	}
	return status, class, msg
}

// writeJob writes n agency-balance rows stamped with its run id in one
// transaction, pausing hold inside it: work that needs a pool connection for
// as long as it runs.
func writeJob(db *store.DB, name string, hold time.Duration) fnJob {
	return fnJob{name, func(ctx context.Context, run *jobs.Run) error {
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: run.ID, CapturedAt: time.Now(), RunID: run.ID}); err != nil {
				return err
			}
			run.AddRows(1)
			select {
			case <-time.After(hold):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}}
}

// All jobs ticking at the same second with the pool pgx sizes by default on
// a 2-core machine (max(4, cores) = 4): before locks moved out of the pool,
// four jobs each held a connection for their lock and waited forever for a
// second one. Seven jobs (more than the pool) tick at once here, one of them
// also holding a second (transfer) lock as mgid-topup does; every run must
// be recorded succeeded within the deadline and none left running.
func TestAllJobsTickingAtOnceWithDefaultPool(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4 // pgxpool's default, max(4, NumCPU), on the 2-core budget
	small, err := store.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	r := newRunner(small, "a", nil)
	var list []jobs.Job
	for i := range 6 {
		list = append(list, writeJob(small, fmt.Sprintf("job-%d", i), 300*time.Millisecond))
	}
	list = append(list, fnJob{"topup-like", func(ctx context.Context, run *jobs.Run) error {
		l, ok, err := small.TryLockTransfers(ctx, 1)
		if err != nil || !ok {
			return fmt.Errorf("transfer lock: %v %v", ok, err)
		}
		defer l.Release()
		return writeJob(small, "", 300*time.Millisecond).fn(ctx, run)
	}})
	tick := time.Now().Truncate(time.Minute)
	results := make([]jobs.Result, len(list))
	var wg sync.WaitGroup
	start := time.Now()
	for i, j := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.Execute(context.Background(), j, jobs.Options{Trigger: jobs.TriggerSchedule, Timeout: 20 * time.Second, ScheduledFor: &tick})
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("runs still going after 15 s: the daemon froze")
	}
	t.Logf("%d jobs on a pool of 4 took %s", len(list), time.Since(start).Round(time.Millisecond))
	for i, res := range results {
		if res.Status != jobs.StatusSucceeded {
			t.Errorf("%s: %+v", list[i].Name(), res)
		}
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'succeeded'`); n != int64(len(list)) {
		t.Errorf("%d runs recorded succeeded, want %d", n, len(list))
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs stuck running", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != int64(len(list)) {
		t.Errorf("%d rows written, want %d (lost or duplicated)", n, len(list))
	}

	// The daemon's own pool is sized for its jobs; an explicit size too small is refused.
	sized, err := store.OpenForJobs(context.Background(), url, 5, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := sized.MaxConns(); got < 6 {
		t.Errorf("pool for 5 jobs has %d connections", got)
	}
	sized.Close()
	if _, err := store.OpenForJobs(context.Background(), url+"&pool_max_conns=3", 5, 5); err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
		t.Errorf("pool_max_conns=3 for 5 jobs: %v", err)
	}
	// Agencies in flight each hold a connection: 5 jobs, one of them an
	// agency job with 12 agencies in flight, hold 12 + 4 = 16 at once, and
	// the pool is that + 2 (pgx's own default is 4 on 2 cores, and
	// MGID_AGENCY_CONCURRENCY=12 waited on it). An explicit size is the
	// operator's: only one below jobs+1 is refused.
	sized, err = store.OpenForJobs(context.Background(), url, 5, 16)
	if err != nil {
		t.Fatal(err)
	}
	if got := sized.MaxConns(); got != 18 {
		t.Errorf("pool for 16 connections held at once has %d connections, want 18", got)
	}
	sized.Close()
	explicit, err := store.OpenForJobs(context.Background(), url+"&pool_max_conns=8", 5, 16)
	if err != nil {
		t.Fatalf("pool_max_conns=8 for 5 jobs holding 16 connections: %v", err)
	}
	if got := explicit.MaxConns(); got != 8 {
		t.Errorf("explicit pool_max_conns=8 gave %d connections", got)
	}
	explicit.Close()
}

// Packets swallowed: the database stops answering mid-run (the connection
// stays open, as behind a dead NAT). The run fails as class database well
// before its own timeout, logged at ERROR, with one ERROR for the outage;
// its transaction commits nothing; once the network is back the next run
// succeeds, the stalled run's end is recorded, and an INFO says so.
func TestPacketsSwallowedFailRunAsDatabase(t *testing.T) {
	t.Parallel()
	db, via, p := proxiedDB(t, 0)
	logs := &testutil.LockedBuffer{}
	r := &jobs.Runner{Store: via, Log: testLogger(logs), Replica: "a"}
	inTx := make(chan struct{})
	job := fnJob{"stalls", func(ctx context.Context, run *jobs.Run) error {
		return via.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 7, CapturedAt: time.Now(), RunID: run.ID}); err != nil {
				return err
			}
			close(inTx)
			for { // keeps talking to the database, as a COPY would
				if _, err := tx.CountOpenTransfers(ctx); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}}
	const timeout = 8 * time.Second // step deadline: 2 s
	step := jobs.StepTimeout(timeout)
	stalled := make(chan time.Time, 1)
	go func() { <-inTx; stalled <- time.Now(); p.Blackhole() }()
	start := time.Now()
	res := r.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: timeout})
	took := time.Since(start)
	if res.Status != jobs.StatusFailed || jobs.ErrorClass(res.Err) != jobs.ClassDatabase {
		t.Fatalf("stalled run: %+v (class %s)", res, jobs.ErrorClass(res.Err))
	}
	// The documented bound: the run has failed one step deadline after
	// the database went silent. The slack is the job's own return once
	// cancelled and the timers' lateness on a loaded machine.
	const slack = 150 * time.Millisecond
	if sinceStall := time.Since(<-stalled); sinceStall > step+slack {
		t.Errorf("the stalled run failed %s after the stall, want within the step deadline %s (+%s)", sinceStall, step, slack)
	} else {
		t.Logf("stalled run failed %s after the stall, %s after it started (job timeout %s, step %s)",
			sinceStall.Round(time.Millisecond), took.Round(time.Millisecond), timeout, step)
	}
	// A tick during the outage: skipped, and said so, but no second ERROR for the outage.
	if res := r.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: timeout}); res.Status != jobs.StatusFailed {
		t.Errorf("tick during the outage: %+v", res)
	}
	p.Restore()
	ok := fnJob{"stalls", func(ctx context.Context, run *jobs.Run) error { return nil }}
	if res := r.Execute(context.Background(), ok, jobs.Options{Trigger: jobs.TriggerManual, Timeout: timeout}); res.Status != jobs.StatusSucceeded {
		t.Fatalf("first run after the outage: %+v", res)
	}
	status, class, _ := runRowFull(t, db, res.RunID)
	if status != "failed" || class != "database" {
		t.Errorf("stalled run recorded %s/%s, want failed/database", status, class)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != 0 {
		t.Errorf("%d rows of the stalled run committed", n)
	}
	out := logs.String()
	// One ERROR for the outage, and it is the stalled run's own end.
	if n := logLines(out, "ERROR", ""); n != 1 || logLines(out, "ERROR", "run failed: database unreachable") != 1 {
		t.Errorf("%d ERROR lines for the outage, want 1, the failed run's:\n%s", n, out)
	}
	if logLines(out, "WARN", "skipped: the database is unreachable") < 1 {
		t.Errorf("want the skipped tick at WARN:\n%s", out)
	}
	if n := logLines(out, "INFO", "database reachable again"); n != 1 {
		t.Errorf("%d INFO lines for the database's return, want 1", n)
	}
}

// The connection to Postgres is reset in the middle of a snapshot's COPY
// (the simulator's clients list is half streamed). The run fails as class
// database, the previous snapshot stays the latest, nothing partial is
// kept, and the next run writes a whole snapshot.
func TestConnectionResetMidCopy(t *testing.T) {
	t.Parallel()
	db, via, p := proxiedDB(t, 0)
	clk := testutil.NewClock(t0)
	var cut toggle
	_, url := startSim(t, sim.Options{Clients: 5000, Now: clk.Now}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cut.on.Load() && strings.HasSuffix(r.URL.Path, "/clients") {
				h.ServeHTTP(&resetAfter{ResponseWriter: w, left: 300_000, reset: p.ResetAll}, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	logs := &testutil.LockedBuffer{}
	r := &jobs.Runner{Store: via, Log: testLogger(logs), Replica: "a", Now: clk.Now}
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: via, Now: clk.Now}
	opts := jobs.Options{Trigger: jobs.TriggerManual, Timeout: 20 * time.Second}
	if res := r.Execute(context.Background(), job, opts); res.Status != jobs.StatusSucceeded {
		t.Fatalf("first snapshot: %+v", res)
	}
	clk.Advance(15 * time.Minute)
	cut.on.Store(true)
	res := r.Execute(context.Background(), job, opts)
	cut.on.Store(false)
	if res.Status != jobs.StatusFailed {
		t.Fatalf("run with the reset: %+v", res)
	}
	status, class, msg := runRowFull(t, db, res.RunID)
	if status != "failed" || class != "database" {
		t.Errorf("recorded %s/%s (%s), want failed/database", status, class, msg)
	}
	if n := testdb.Count(t, db, `SELECT count(DISTINCT captured_at) FROM bi.mgid_client_balance_history`); n != 1 {
		t.Errorf("%d snapshots stored after the cut, want the first one only", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 5000 {
		t.Errorf("%d history rows after the cut, want the first snapshot's 5000", n)
	}
	if logLines(logs.String(), "ERROR", "run failed") != 1 {
		t.Errorf("the failed run is not logged at ERROR once:\n%s", logs.String())
	}
	if strings.Contains(logs.String()+msg, sim.DemoPassword) {
		t.Error("the MGID password is in the logs or the run's error")
	}
	clk.Advance(15 * time.Minute)
	if res := r.Execute(context.Background(), job, opts); res.Status != jobs.StatusSucceeded {
		t.Fatalf("run after the reset: %+v", res)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 10000 {
		t.Errorf("%d history rows after two whole snapshots, want 10000", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM (SELECT 1 FROM bi.mgid_client_balance_history
		GROUP BY agency_id, client_id, captured_at HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d duplicated rows", n)
	}
}

// resetAfter passes the first left bytes of a response, then resets every
// connection through the database proxy and goes on.
type resetAfter struct {
	http.ResponseWriter
	left  int
	reset func()
	done  bool
}

func (c *resetAfter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.left -= n
	if c.left <= 0 && !c.done {
		c.done = true
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(50 * time.Millisecond) // let the COPY take in what was sent
		c.reset()
	}
	return n, err
}

func (c *resetAfter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// pg_terminate_backend on the session holding a job's lock, while its run is
// inside its transaction: a second process then takes the lock and runs the
// job. The first run must not commit after the second started (fencing):
// its transaction is refused, its row says failed/database, and only the
// second run's rows exist.
func TestLockHolderTerminatedRunIsFenced(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	logs := &testutil.LockedBuffer{}
	a := &jobs.Runner{Store: db, Log: testLogger(logs), Replica: "a"}
	b := &jobs.Runner{Store: db, Log: testLogger(logs), Replica: "b"}
	inTx, goOn := make(chan struct{}), make(chan struct{})
	// Let the first run go on however this test ends: a failed assertion
	// must not leave it holding its transaction (and the test's pool) forever.
	var once sync.Once
	release := func() { once.Do(func() { close(goOn) }) }
	defer release()
	first := fnJob{"fenced", func(ctx context.Context, run *jobs.Run) error {
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: time.Now(), RunID: run.ID}); err != nil {
				return err
			}
			close(inTx)
			<-goOn // the lock is lost and another run starts meanwhile
			return nil
		})
	}}
	second := writeJob(db, "fenced", 0)
	// No timeout: the heartbeat may notice the terminated lock session
	// first (within LockCheckEvery), or the fence stops the commit.
	var resA jobs.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		resA = a.Execute(context.Background(), first, jobs.Options{Trigger: jobs.TriggerManual})
	}()
	testutil.Receive(t, inTx, 30*time.Second, "the first run to open its transaction")
	terminate(t, db, lockHolder(t, db, "job:fenced"))
	resB := b.Execute(context.Background(), second, jobs.Options{Trigger: jobs.TriggerManual})
	if resB.Status != jobs.StatusSucceeded {
		t.Fatalf("second run: %+v", resB)
	}
	release()
	testutil.Receive(t, done, 30*time.Second, "the fenced run to end")
	if resA.Status != jobs.StatusFailed || jobs.ErrorClass(resA.Err) != jobs.ClassDatabase {
		t.Fatalf("first run: %+v", resA)
	}
	status, class, msg := runRowFull(t, db, resA.RunID)
	if status != "failed" || class != "database" || !strings.Contains(msg, "lost its job lock") && !strings.Contains(msg, "job lock was lost") {
		t.Errorf("first run recorded %s/%s %q", status, class, msg)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance WHERE run_id = $1`, resA.RunID); n != 0 {
		t.Errorf("the fenced run committed %d rows", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != 1 {
		t.Errorf("%d rows, want the second run's 1", n)
	}
	if logLines(logs.String(), "ERROR", "run failed") != 1 {
		t.Errorf("the fenced run is not logged at ERROR:\n%s", logs.String())
	}
}

// pg_terminate_backend on the session doing a run's work: the run fails as
// class database (SQLSTATE 57P01), logged at ERROR, commits nothing, and the
// next run succeeds.
func TestWorkerTerminatedFailsAsDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	logs := &testutil.LockedBuffer{}
	r := &jobs.Runner{Store: db, Log: testLogger(logs), Replica: "a"}
	wrote := make(chan struct{})
	job := fnJob{"worker", func(ctx context.Context, run *jobs.Run) error {
		return db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertAgencyBalance(ctx, store.AgencyBalance{AgencyID: 1, CapturedAt: time.Now(), RunID: run.ID}); err != nil {
				return err
			}
			close(wrote)
			for { // the run's work goes on until its session is gone
				if _, err := tx.CountOpenTransfers(ctx); err != nil {
					return err
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}}
	go func() {
		<-wrote
		// The session doing the work is the one whose transaction has
		// written (has an xid); the runner's own sessions have not.
		var pid int32
		if err := testdb.QueryRow(t, db, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()`).Scan(&pid); err != nil {
			t.Errorf("the working session: %v", err)
			return
		}
		terminate(t, db, pid)
	}()
	res := r.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: 20 * time.Second})
	status, class, msg := runRowFull(t, db, res.RunID)
	if res.Status != jobs.StatusFailed || status != "failed" || class != "database" {
		t.Fatalf("terminated worker: %+v, recorded %s/%s %s", res, status, class, msg)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != 0 {
		t.Errorf("%d rows committed by the terminated run", n)
	}
	if logLines(logs.String(), "ERROR", "run failed") != 1 {
		t.Errorf("not logged at ERROR:\n%s", logs.String())
	}
	if res := r.Execute(context.Background(), writeJob(db, "worker", 0), jobs.Options{Trigger: jobs.TriggerManual}); res.Status != jobs.StatusSucceeded {
		t.Fatalf("next run: %+v", res)
	}
}

func TestErrorClassTellsTheDatabaseApart(t *testing.T) {
	t.Parallel()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"server terminated the backend", fmt.Errorf("copy: %w", &pgconn.PgError{Code: "57P01"}), "database"},
		{"too many connections", &pgconn.PgError{Code: "53300"}, "database"},
		{"constraint violation is ours", &pgconn.PgError{Code: "23505"}, "internal"},
		{"a database step", &store.DatabaseError{Op: "lock", Err: context.DeadlineExceeded}, "database"},
		{"fenced commit", fmt.Errorf("x: %w", &store.DatabaseError{Op: "commit fence", Err: store.ErrFenced}), "database"},
		{"bare socket error is the database's", fmt.Errorf("copy client balances: %w", reset), "database"},
		{"provider network error", &providers.Error{Provider: "mgid", Op: "clients", Kind: providers.Retryable, Err: &url.Error{Op: "Get", URL: "u", Err: reset}}, "retryable"},
		{"http client error", fmt.Errorf("x: %w", &url.Error{Op: "Get", URL: "u", Err: reset}), "retryable"},
		{"shutdown", fmt.Errorf("%w (x)", context.Canceled), "cancelled"},
		{"job timeout", fmt.Errorf("job timeout: %w", context.DeadlineExceeded), "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := jobs.ErrorClass(c.err); got != c.want {
				t.Errorf("ErrorClass(%v) = %s, want %s", c.err, got, c.want)
			}
		})
	}
}

// Two jobs run at once when the database starts swallowing packets: both
// fail as database, and the outage is still one ERROR (the first run's
// end); the other run's failure is a WARN.
func TestOutageCuttingTwoRunsIsOneError(t *testing.T) {
	t.Parallel()
	_, via, p := proxiedDB(t, 0)
	logs := &testutil.LockedBuffer{}
	r := &jobs.Runner{Store: via, Log: testLogger(logs), Replica: "a"}
	var busy sync.WaitGroup
	busy.Add(2)
	stalls := func(name string) jobs.Job {
		return fnJob{name, func(ctx context.Context, run *jobs.Run) error {
			busy.Done()
			for {
				if _, err := via.CountOpenTransfers(ctx); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)
			}
		}}
	}
	go func() { busy.Wait(); p.Blackhole() }()
	results := make(chan jobs.Result, 2)
	for _, name := range []string{"stalls-a", "stalls-b"} {
		go func() {
			results <- r.Execute(context.Background(), stalls(name), jobs.Options{Trigger: jobs.TriggerManual, Timeout: 8 * time.Second})
		}()
	}
	for range 2 {
		if res := <-results; res.Status != jobs.StatusFailed || jobs.ErrorClass(res.Err) != jobs.ClassDatabase {
			t.Errorf("stalled run: %+v (class %s)", res, jobs.ErrorClass(res.Err))
		}
	}
	p.Restore()
	out := logs.String()
	if logLines(out, "ERROR", "") != 1 || logLines(out, "ERROR", "run failed: database unreachable") != 1 {
		t.Errorf("want one ERROR for the outage, the first failed run's:\n%s", out)
	}
	if logLines(out, "WARN", "run failed: the database is still unreachable") != 1 {
		t.Errorf("want the second failed run at WARN:\n%s", out)
	}
}
