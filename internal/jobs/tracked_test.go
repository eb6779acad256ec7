package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/providers/gmedia"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/tracked"
)

var trT0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

// trHashKey is SYNCER_HASH_KEY in these tests.
var trHashKey = []byte("tracked-test-hash-key")

// trTinyRetry keeps provider failures fast.
var trTinyRetry = providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}

// trAccount is the i-th valid national ID (first digit 1): eight digits of
// i, then the Luhn check digit.
func trAccount(i int) string {
	body := fmt.Sprintf("1%08d", i)
	sum := 0
	for k := 0; k < len(body); k++ {
		d := int(body[len(body)-1-k] - '0')
		if k%2 == 0 { // doubled: these sit at odd distance from the check digit
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + fmt.Sprint((10-sum%10)%10)
}

func TestTrAccountIsValid(t *testing.T) {
	t.Parallel()
	if trAccount(0) != "1000000008" {
		t.Fatalf("trAccount(0) = %s, want 1000000008", trAccount(0))
	}
	for i := range 1000 {
		if err := gmedia.ValidateAccount(trAccount(i)); err != nil {
			t.Fatalf("trAccount(%d) = %s: %v", i, trAccount(i), err)
		}
	}
}

// trSeedMawthoq tracks accounts 0..n-1 on platform and returns the ids in account order.
func trSeedMawthoq(t testing.TB, db *store.DB, platform string, n int) []int64 {
	t.Helper()
	in := make([]store.TargetInput, n)
	for i := range in {
		tg, err := tracked.MawthoqTarget{Platform: platform, Account: trAccount(i)}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		in[i] = tg.Input(trHashKey)
	}
	if _, err := db.UpsertTargets(context.Background(), store.TrackedMawthoq, in, false); err != nil {
		t.Fatal(err)
	}
	rows, _ := testdb.Query(t, db, `SELECT id FROM syncer.tracked_targets WHERE kind = 'mawthoq' ORDER BY params->>'account'`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func trSettings() config.TrackedCheck {
	return config.TrackedCheck{RecheckAfter: 30 * time.Minute, Concurrency: 8, BatchSize: 50, Lease: time.Minute}
}

func trGmedia(url, secret string) *gmedia.Client {
	return trGmediaAt(url+sim.PathGmediaToken, url+sim.PathGmediaCheck, secret)
}

func trGmediaAt(tokenURL, checkURL, secret string) *gmedia.Client {
	return gmedia.New(checkURL, gmedia.Credentials{TokenURL: tokenURL, ClientID: "sim-gmedia", ClientSecret: secret},
		gmedia.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), gmedia.WithRetry(trTinyRetry))
}

func trRun(id int64, log *slog.Logger) *jobs.Run {
	if log == nil {
		log = testLogger(io.Discard)
	}
	return &jobs.Run{ID: id, Job: "test", Trigger: jobs.TriggerManual, Log: log}
}

// Two replicas' runners fire for the same tick on one database: both run
// (the job is a SplitJob: shared lock, no tick claim), each checks a share
// of the targets, and every target is checked exactly once between them.
func TestTrackedReplicasSplitTargets(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const n = 2000
	trSeedMawthoq(t, db, "tiktok", n)
	clk := testutil.NewClock(trT0)
	s, url := startSim(t, sim.Options{Now: clk.Now}, nil)
	tick := trT0.Truncate(10 * time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	runs := make([]*jobs.Run, 2)
	// Each replica's first check waits for the other's: however the two
	// goroutines are scheduled, both are checking before either can finish,
	// so a replica left without a share means the claims did not split.
	met := testutil.NewBarrier(2)
	for i := range 2 {
		replica := fmt.Sprintf("replica-%d", i)
		job := &jobs.MawthoqRecheck{Gmedia: &meetFirst{GmediaChecker: trGmedia(url, "sim-gmedia-secret"), barrier: met},
			DB: db, Settings: trSettings(), Replica: replica, Now: clk.Now}
		runner := newRunner(db, replica, clk.Now)
		wg.Go(func() {
			res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick})
			if res.Status != jobs.StatusSucceeded {
				errs[i] = fmt.Errorf("replica %d: %s %v", i, res.Status, res.Err)
			}
			runs[i] = &jobs.Run{ID: res.RunID}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(sim.EndpointGmediaCheck); got != n {
		t.Errorf("the simulator got %d checks for %d targets", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE checks = 1 AND valid_to IS NULL`); got != n {
		t.Errorf("%d targets have one check in one open period, want %d", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`); got != n {
		t.Errorf("%d history rows, want %d", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE last_checked_at = '-infinity' OR lease_until IS NOT NULL`); got != 0 {
		t.Errorf("%d targets unchecked or still leased", got)
	}
	// Each replica recorded its own run and checked a share; the shares
	// and the runs' rows add up to every target.
	var total, shares int64
	for i, r := range runs {
		total += testdb.Count(t, db, `SELECT rows_written FROM syncer.runs WHERE id = $1 AND status = 'succeeded'`, r.ID)
		share := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE run_id = $1`, r.ID)
		t.Logf("replica %d checked %d targets", i, share)
		if share == 0 {
			t.Errorf("replica %d checked no target: the other took them all", i)
		}
		shares += share
	}
	if total != n || shares != n {
		t.Errorf("the runs wrote %d rows and checked %d targets, want %d each", total, shares, n)
	}
	// A second round finds nothing due.
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "sim-gmedia-secret"), DB: db, Settings: trSettings(), Replica: "replica-0", Now: clk.Now}
	if err := job.Run(context.Background(), trRun(3, nil)); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(sim.EndpointGmediaCheck); got != n {
		t.Errorf("a round with nothing due sent %d more checks", got-n)
	}
}

// meetFirst holds a replica's first check until every replica sharing the
// barrier has made its first; a replica that never gets a target to check
// fails the other's round at the deadline instead of hanging it.
type meetFirst struct {
	tracked.GmediaChecker
	barrier *testutil.Barrier
	once    sync.Once
	err     error
}

func (m *meetFirst) Check(ctx context.Context, platform, account string) (gmedia.Result, error) {
	m.once.Do(func() {
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.barrier.Arrive(wait); err != nil {
			m.err = fmt.Errorf("the other replica never checked a target: %w", err)
		}
	})
	if m.err != nil {
		return gmedia.Result{}, m.err
	}
	return m.GmediaChecker.Check(ctx, platform, account)
}

// A replica that claimed targets and died holds them until its lease runs
// out; then the next round picks them up.
func TestTrackedLeaseOfCrashedReplicaExpires(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	const n = 120
	trSeedMawthoq(t, db, "youtube", n)
	clk := testutil.NewClock(trT0)
	s, url := startSim(t, sim.Options{Now: clk.Now}, nil)
	settings := trSettings()
	settings.RecheckAfter = 24 * time.Hour
	crashed, _, err := db.ClaimTargets(context.Background(), store.Claim{Kind: store.TrackedMawthoq, Replica: "crashed",
		Now: trT0, DueBefore: trT0.Add(-settings.RecheckAfter), LeaseUntil: trT0.Add(settings.Lease), Limit: 30})
	if err != nil || len(crashed) != 30 {
		t.Fatalf("claim: %d, %v", len(crashed), err)
	}
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "sim-gmedia-secret"), DB: db, Settings: settings, Replica: "alive", Now: clk.Now}
	if err := job.Run(context.Background(), trRun(1, nil)); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(sim.EndpointGmediaCheck); got != n-30 {
		t.Fatalf("first round checked %d, want %d (the crashed replica's 30 are leased)", got, n-30)
	}
	clk.Advance(settings.Lease + time.Second)
	if err := job.Run(context.Background(), trRun(2, nil)); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(sim.EndpointGmediaCheck); got != n {
		t.Fatalf("after the lease ran out %d checks in all, want %d", got, n)
	}
	for _, c := range crashed {
		if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE target_id = $1 AND run_id = 2`, c.ID); got != 1 {
			t.Errorf("target %d leased by the crashed replica: %d rows from the second round", c.ID, got)
		}
	}
}

// A provider that is down ends the round after MaxConsecutiveErrors
// failures (recorded), leaves the rest unclaimed for the next round, and
// fails the run as retryable.
func TestTrackedRoundStopsWhenProviderIsDown(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	trSeedMawthoq(t, db, "snapchat", 200)
	clk := testutil.NewClock(trT0)
	_, url := startSim(t, sim.Options{Now: clk.Now, Faults: sim.Faults{ErrorRate: 1}}, nil)
	settings := trSettings()
	settings.Concurrency = 1
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "sim-gmedia-secret"), DB: db, Settings: settings, Replica: "r", Now: clk.Now, MaxConsecutiveErrors: 10}
	run := trRun(1, nil)
	err := job.Run(context.Background(), run)
	if providers.Class(err) != "retryable" {
		t.Fatalf("err = %v (class %s), want a retryable error", err, providers.Class(err))
	}
	if got := run.Counts()["provider_error"]; got != 10 {
		t.Errorf("recorded %d provider errors, want 10", got)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history WHERE outcome = 'provider_error' AND code = '500'`); got != 10 {
		t.Errorf("%d provider_error periods, want 10", got)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE lease_until IS NOT NULL`); got != 0 {
		t.Errorf("%d targets left leased after the round stopped", got)
	}
}

// Gmedia refusing our credentials is systemic: the run fails with class
// auth and nothing is recorded against the targets.
func TestTrackedRoundFailsOnRefusedCredentials(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	trSeedMawthoq(t, db, "tiktok", 20)
	_, url := startSim(t, sim.Options{}, nil)
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "wrong-secret"), DB: db, Settings: trSettings(), Replica: "r"}
	res := newRunner(db, "r", nil).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusFailed || providers.Class(res.Err) != "auth" {
		t.Fatalf("run: %+v, want failed with class auth", res)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE error_class = 'auth'`); got != 1 {
		t.Errorf("%d runs recorded with class auth", got)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`); got != 0 {
		t.Errorf("%d history rows after a refused token", got)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE lease_until IS NOT NULL OR last_checked_at > '-infinity'`); got != 0 {
		t.Errorf("%d targets leased or marked checked", got)
	}
}

// A cancelled round records what was answered, releases the rest, and
// ends as cancelled.
func TestTrackedRoundCancelled(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	trSeedMawthoq(t, db, "facebook", 300)
	s, url := startSim(t, sim.Options{Faults: sim.Faults{Latency: 5 * time.Millisecond}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	settings := trSettings()
	settings.Concurrency = 2
	job := &jobs.MawthoqRecheck{Gmedia: &cancelAfter{GmediaChecker: trGmedia(url, "sim-gmedia-secret"), n: 20, cancel: cancel}, DB: db, Settings: settings, Replica: "r"}
	err := job.Run(ctx, trRun(1, nil))
	if providers.Class(err) != "cancelled" {
		t.Fatalf("err = %v, want cancelled", err)
	}
	recorded := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`)
	// The 20th check cancels before it is sent; of the 19 before it, the
	// ones still in flight (at most Concurrency) are cut off.
	if recorded < 19-2 || recorded > 19 || int(recorded) > s.Requests(sim.EndpointGmediaCheck) {
		t.Errorf("recorded %d checks of %d sent; want the 17 to 19 answered before the cancel", recorded, s.Requests(sim.EndpointGmediaCheck))
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE lease_until IS NOT NULL`); got != 0 {
		t.Errorf("%d targets left leased", got)
	}
}

// cancelAfter cancels the round's context after n checks.
type cancelAfter struct {
	tracked.GmediaChecker
	n      int32
	cancel context.CancelFunc

	mu   sync.Mutex
	seen int32
}

func (c *cancelAfter) Check(ctx context.Context, platform, account string) (gmedia.Result, error) {
	c.mu.Lock()
	c.seen++
	if c.seen == c.n {
		c.cancel()
	}
	c.mu.Unlock()
	return c.GmediaChecker.Check(ctx, platform, account)
}
