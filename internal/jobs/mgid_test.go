package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/money"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func TestBalancesSnapshotMatchesSimulator(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	s, url := startSim(t, sim.Options{Clients: 3000, Now: clk.Now, ClientsAsMap: true}, nil)
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: db, Now: clk.Now}
	res := newRunner(db, "a", clk.Now).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusSucceeded || res.Rows != 3001 {
		t.Fatalf("run: %+v", res)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_latest`); n != 3000 {
		t.Fatalf("latest has %d clients", n)
	}
	// Spot-check stored values against the simulator's own figures.
	first, _, _ := s.ClientRange(sim.DemoAgencyID)
	for _, id := range []int64{first, first + 1234, first + 2999} {
		want, _ := s.WalletAt(id, t0)
		var bal, income money.Amount
		var credit *money.Amount
		var email string
		if err := testdb.QueryRow(t, db, `SELECT balance, credit, income, email
			FROM bi.mgid_client_balance_latest WHERE client_id = $1`, id).Scan(&bal, &credit, &income, &email); err != nil {
			t.Fatal(err)
		}
		if bal != want.Balance || credit == nil || *credit != want.Credit || income != want.Income || !strings.Contains(email, "@") {
			t.Errorf("client %d: stored %s/%s/%s %q, sim %+v", id, bal, credit, income, email, want)
		}
	}
}

// A response that breaks in the middle of the clients list must fail the run
// and leave the previous snapshot as the latest, with no partial rows.
func TestFailedSnapshotLeavesPreviousDataIntact(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	var broken toggle
	_, url := startSim(t, sim.Options{Clients: 5000, Now: clk.Now}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken.on.Load() && strings.HasSuffix(r.URL.Path, "/clients") {
				h.ServeHTTP(&cutWriter{ResponseWriter: w, left: 100_000}, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: db, Now: clk.Now}
	runner := newRunner(db, "a", clk.Now)
	if res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual}); res.Status != jobs.StatusSucceeded {
		t.Fatalf("first run: %+v", res)
	}
	clk.Advance(15 * time.Minute)
	broken.on.Store(true)
	res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusFailed {
		t.Fatalf("broken run: %+v", res)
	}
	var class, msg string
	var rows int64
	if err := testdb.QueryRow(t, db, `SELECT error_class, error, rows_written FROM bi.sync_runs WHERE run_id = $1`,
		res.RunID).Scan(&class, &msg, &rows); err != nil {
		t.Fatal(err)
	}
	if class == "" || class == "internal" || rows != 0 {
		t.Errorf("failed run recorded as class %q rows %d: %s", class, rows, msg)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 5000 {
		t.Errorf("history has %d rows after a failed run, want the first snapshot's 5000", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_agency_balance_history`); n != 1 {
		t.Errorf("%d agency snapshots, want 1", n)
	}
	if strings.Contains(msg, sim.DemoPassword) {
		t.Error("the error message contains the password")
	}
}

// cutWriter passes the first `left` bytes, then fails the connection.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, _ := c.ResponseWriter.Write(p)
	c.left -= n
	if c.left == 0 {
		if h, ok := c.ResponseWriter.(http.Hijacker); ok {
			if f, ok := c.ResponseWriter.(http.Flusher); ok {
				f.Flush()
			}
			conn, _, err := h.Hijack()
			if err == nil {
				conn.Close()
			}
		}
		return n, http.ErrHandlerTimeout
	}
	return n, nil
}

func (c *cutWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func TestSpendRestatementsAreKeptAsRevisions(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	s, url := startSim(t, sim.Options{Clients: 200, Now: clk.Now}, nil)
	job := &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{mgidClient(url)}, DB: db, LookbackDays: 7, Now: clk.Now}
	runner := newRunner(db, "a", clk.Now)
	ctx := context.Background()

	first := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual})
	if first.Status != jobs.StatusSucceeded || first.Rows == 0 {
		t.Fatalf("first run: %+v", first)
	}
	days := testdb.Count(t, db, `SELECT count(DISTINCT spend_date) FROM bi.mgid_client_spend_daily`)
	if days != 8 {
		t.Errorf("%d distinct days, want today and 7 before", days)
	}
	// Same instant again: nothing changed, nothing is written.
	if again := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual}); again.Rows != 0 {
		t.Errorf("unchanged re-run wrote %d rows", again.Rows)
	}
	// Seven hours later recent days are restated; days older than the
	// restatement window are final and must not be revised.
	clk.Advance(7 * time.Hour)
	later := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual})
	if later.Status != jobs.StatusSucceeded {
		t.Fatalf("later run: %+v", later)
	}
	revised := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions`)
	if revised == 0 {
		t.Fatal("no restatement was recorded")
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions WHERE spend_date < $1::date - 5`,
		t0.Format(time.DateOnly)); n != 0 {
		t.Errorf("%d revisions of final days", n)
	}
	// 16:30 UTC is still today: today's changes are growth, earlier days'
	// are restatements, and only restatements are counted.
	restated := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions WHERE kind = 'restatement'`)
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions
		WHERE (kind = 'intraday') <> (spend_date = $1::date)`, t0.Format(time.DateOnly)); n != 0 {
		t.Errorf("%d revisions of the wrong kind", n)
	}
	if restated == 0 || restated == revised {
		t.Errorf("%d restatements of %d revisions: want both kinds", restated, revised)
	}
	if n := testdb.Count(t, db, `SELECT coalesce(sum(revisions), 0) FROM bi.mgid_client_spend_daily`); n != restated {
		t.Errorf("revision counters sum to %d, restatement rows %d", n, restated)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily WHERE spend_timezone IS DISTINCT FROM 'UTC'`); n != 0 {
		t.Errorf("%d days without spend_timezone UTC", n)
	}
	// The stored value is the simulator's current one.
	first5001, _, _ := s.ClientRange(sim.DemoAgencyID)
	var spent money.Amount
	yesterday := time.Date(t0.Year(), t0.Month(), t0.Day()-1, 0, 0, 0, 0, time.UTC)
	err := testdb.QueryRow(t, db, `SELECT spent FROM bi.mgid_client_spend_daily WHERE client_id = $1 AND spend_date = $2`,
		first5001+1, yesterday.Format(time.DateOnly)).Scan(&spent)
	want, _ := s.SpendAt(first5001+1, yesterday, clk.Now())
	if err == nil && spent != want {
		t.Errorf("stored %s, sim says %s", spent, want)
	}
}

// The job classifies in its own zone: at 16:30 UTC it is already 01:30 the
// next day in Tokyo, so every change to 20 November (Tokyo) is a restatement,
// where a UTC clock would call that day's changes intraday.
func TestSpendRevisionsClassifiedInJobZone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0) // 18:30 on 20 November in Tokyo
	_, url := startSim(t, sim.Options{Clients: 50, Now: clk.Now}, nil)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	job := &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{mgidClient(url)}, DB: db, Location: tokyo, LookbackDays: 2, Now: clk.Now}
	runner := newRunner(db, "a", clk.Now)
	ctx := context.Background()
	if r := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual}); r.Status != jobs.StatusSucceeded {
		t.Fatalf("first run: %+v", r)
	}
	clk.Advance(7 * time.Hour)
	if r := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual}); r.Status != jobs.StatusSucceeded {
		t.Fatalf("later run: %+v", r)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions WHERE spend_date = '2026-11-20'`); n == 0 {
		t.Fatal("20 November (Tokyo) was not revised: the test shows nothing")
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_revisions WHERE kind <> 'restatement'`); n != 0 {
		t.Errorf("%d revisions of closed Tokyo days called intraday", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily WHERE spend_timezone IS DISTINCT FROM 'Asia/Tokyo'`); n != 0 {
		t.Errorf("%d days not labelled Asia/Tokyo", n)
	}
}

// A backfill that fails on some days checkpoints the others; running it again
// does only the missing days, and a third run does nothing.
func TestBackfillResumesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	var failing toggle
	failing.on.Store(true)
	_, url := startSim(t, sim.Options{Clients: 300, Now: clk.Now}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.on.Load() && r.URL.Query().Get("dateStart") == "2026-10-05" {
				http.Error(w, `{"errors":["Invalid client id"]}`, http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	job := &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{mgidClient(url)}, DB: db, Now: clk.Now}
	b := &jobs.Backfill{Store: db, Runner: newRunner(db, "a", clk.Now), Concurrency: 3}
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()

	res, err := b.Run(ctx, job, from, to)
	if err == nil || res.Days != 9 || res.Failed != 1 {
		t.Fatalf("first backfill: %+v %v", res, err)
	}
	rowsBefore := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily`)
	failing.on.Store(false)
	res, err = b.Run(ctx, job, from, to)
	if err != nil || res.Days != 1 || res.Skipped != 9 {
		t.Fatalf("resumed backfill: %+v %v", res, err)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily WHERE spend_date = '2026-10-05'`); n == 0 {
		t.Error("the resumed day wrote nothing")
	}
	rowsAfter := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily`)
	res, err = b.Run(ctx, job, from, to)
	if err != nil || res.Days != 0 || res.Skipped != 10 {
		t.Fatalf("third backfill: %+v %v", res, err)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_spend_daily`); n != rowsAfter || rowsAfter <= rowsBefore {
		t.Errorf("rows: %d after first, %d after resume, %d after the no-op", rowsBefore, rowsAfter, n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_runs WHERE trigger = 'backfill' AND status = 'failed' AND error_class = 'permanent'`); n != 1 {
		t.Errorf("%d failed backfill runs recorded, want 1", n)
	}
}

// The mgid client's lines within a run carry the run's job and run_id: the
// runner hands its logger down in the context. Outside a run the client
// logs through its own logger.
func TestMGIDClientLogsCarryRunID(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	_, url := startSim(t, sim.Options{Clients: 3, Now: clk.Now}, nil)
	var own, runLog testutil.LockedBuffer
	client := mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}), mgid.WithLogger(testLogger(&own)))
	runner := &jobs.Runner{Store: db, Log: testLogger(&runLog), Replica: "a", Now: clk.Now}
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{client}, DB: db, Now: clk.Now}
	res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusSucceeded {
		t.Fatalf("run: %+v", res)
	}
	var line string
	for _, l := range strings.Split(runLog.String(), "\n") {
		if strings.Contains(l, `msg="mgid logged in"`) {
			line = l
		}
	}
	want := fmt.Sprintf("run_id=%d", res.RunID)
	if line == "" || !strings.Contains(line, want) || !strings.Contains(line, "job="+job.Name()) {
		t.Fatalf("mgid login line %q, want one with %s and job=%s; run log:\n%s", line, want, job.Name(), runLog.String())
	}
	if own.String() != "" {
		t.Errorf("within a run the client's own logger got %q", own.String())
	}
	// A backfill day is a run of its own: the spend client's lines carry
	// its run_id and day.
	var dayLog testutil.LockedBuffer
	spendClient := mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}), mgid.WithLogger(testLogger(&own)))
	b := &jobs.Backfill{Store: db, Runner: &jobs.Runner{Store: db, Log: testLogger(&dayLog), Replica: "a", Now: clk.Now}, Concurrency: 1}
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	spend := &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{spendClient}, DB: db, Now: clk.Now}
	if _, err := b.Run(context.Background(), spend, day, day.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	line = ""
	for _, l := range strings.Split(dayLog.String(), "\n") {
		if strings.Contains(l, `msg="mgid logged in"`) {
			line = l
		}
	}
	if !strings.Contains(line, "run_id=") || !strings.Contains(line, "day=2026-10-01") {
		t.Errorf("backfill's mgid login line %q, want one with run_id and day; log:\n%s", line, dayLog.String())
	}
	if own.String() != "" {
		t.Errorf("within a backfill day the client's own logger got %q", own.String())
	}

	outside := mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}), mgid.WithLogger(testLogger(&own)))
	if _, err := outside.AccountID(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := own.String(); !strings.Contains(got, `msg="mgid logged in"`) || strings.Contains(got, "run_id") {
		t.Errorf("outside a run the client's own logger got %q", got)
	}
}

// The first mgid-balances run of a month rebuilds the wallet index of the
// month that ended (store.PackWalletIndexes), once, after its snapshots.
func TestBalancesRunPacksTheEndedMonth(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0) // 20 November
	_, url := startSim(t, sim.Options{Clients: 50, Now: clk.Now}, nil)
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: db, Now: clk.Now}
	run := func() {
		t.Helper()
		res := newRunner(db, "a", clk.Now).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
		if res.Status != jobs.StatusSucceeded {
			t.Fatalf("run: %+v", res)
		}
	}
	run()
	clk.Advance(time.Hour)
	run() // closes periods into November's partition
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_wallet_packed`); n != 0 {
		t.Fatalf("%d partitions packed in November; want none", n)
	}
	clk.Advance(15 * 24 * time.Hour) // 5 December
	run()
	var packedAt *time.Time
	if err := testdb.QueryRow(t, db, `SELECT packed_at FROM syncer.mgid_wallet_packed WHERE partition = 'mgid_client_wallet_202611'`).Scan(&packedAt); err != nil || packedAt == nil {
		t.Fatalf("November's partition after a December run: packed_at %v, %v", packedAt, err)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_wallet_packed WHERE partition >= 'mgid_client_wallet_202612'`); n != 0 {
		t.Errorf("%d partitions of December or later packed in December", n)
	}
}
