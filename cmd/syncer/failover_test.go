package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The failover tests run a real primary and a streaming hot standby
// (testdb.NewPair: the machine's PostgreSQL binaries, free ports, temp dirs).

// Every bi view reads on the hot standby as syncer_bi, and what the jobs
// wrote on the primary is there.
func TestFailoverBIViewsReadOnStandby(t *testing.T) {
	t.Parallel()
	p := testdb.NewPair(t)
	primaryURL := p.Primary.URL(testdb.PGDatabase)
	simURL := startSim(t, sim.Options{Clients: 40})
	if r := syncer(context.Background(), mgidEnv(primaryURL, simURL), "once", "mgid-balances", "mgid-spend"); r.code != 0 {
		t.Fatalf("once on the primary: exit %d\n%s", r.code, r.stderr)
	}
	p.WaitReplayed(t, 30*time.Second)

	ctx := context.Background()
	c, err := pgx.Connect(ctx, p.Standby.URL(testdb.PGDatabase))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var recovery bool
	if err := c.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&recovery); err != nil || !recovery {
		t.Fatalf("the standby is not in recovery: %v %v", recovery, err)
	}
	rows, err := c.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	views, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(views) < 10 {
		t.Fatalf("bi views on the standby: %v %v", views, err)
	}
	if _, err := c.Exec(ctx, `SET ROLE syncer_bi`); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, v := range views {
		var n int64
		if err := c.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{"bi", v}.Sanitize()).Scan(&n); err != nil {
			t.Errorf("syncer_bi on the standby cannot read bi.%s: %v", v, err)
		}
		counts[v] = n
	}
	primary := testdb.Open(t, primaryURL)
	for _, v := range []string{"mgid_client_balance_latest", "mgid_client_spend_daily", "sync_runs", "source_freshness"} {
		want := testdb.Count(t, primary, `SELECT count(*) FROM `+pgx.Identifier{"bi", v}.Sanitize())
		if want == 0 || counts[v] != want {
			t.Errorf("bi.%s: %d rows on the standby, %d on the primary (want equal and more than 0)", v, counts[v], want)
		}
	}
}

// The daemon, given both hosts with target_session_attrs=read-write,
// follows a promotion without a restart: the run in flight when the primary
// died is recorded failed as database, snapshots resume on the new primary,
// and every snapshot the standby had before the failover is still there.
func TestFailoverDaemonFollowsPromotion(t *testing.T) {
	t.Parallel()
	p := testdb.NewPair(t)
	// A dripping clients list keeps each snapshot in flight for about two
	// seconds, so the primary dies in the middle of one.
	s := sim.New(sim.Options{Clients: 300, Faults: sim.Faults{Mode: sim.FaultDrip, Endpoint: sim.EndpointMGIDClients,
		DripBytes: 1000, DripEvery: 50 * time.Millisecond}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	simURL := srv.URL
	d := startProc(t, mgidEnv(p.MultiHostURL(), simURL,
		"JOB_MGID_BALANCES_SCHEDULE=@every 2s", "JOB_MGID_BALANCES_TIMEOUT=20s",
		"JOB_MGID_SPEND_ENABLED=false", "JOB_MGID_RETENTION_ENABLED=false"), "run")
	primary := testdb.Open(t, p.Primary.URL(testdb.PGDatabase))
	snapshots := `SELECT count(*) FROM syncer.mgid_agency_balance`
	waitFor(t, 60*time.Second, "two snapshots, then a run in flight", func() bool {
		return testdb.Count(t, primary, snapshots) >= 2 &&
			testdb.Count(t, primary, `SELECT count(*) FROM syncer.runs WHERE job = 'mgid-balances' AND status = 'running'`) == 1
	})
	time.Sleep(500 * time.Millisecond) // into the run's snapshot
	// What the standby holds now is committed and replicated: none of it may be lost.
	standbyBefore := snapshotTimes(t, p.Standby.URL(testdb.PGDatabase))
	if len(standbyBefore) < 2 {
		t.Fatalf("the standby holds %d snapshots before the failover, want 2 or more", len(standbyBefore))
	}
	p.Primary.Kill()
	p.Standby.Promote()

	promoted := testdb.Open(t, p.Standby.URL(testdb.PGDatabase))
	base := testdb.Count(t, promoted, snapshots)
	waitFor(t, 60*time.Second, "two snapshots on the promoted standby", func() bool {
		return testdb.Count(t, promoted, snapshots) >= base+2
	})
	cut := `SELECT count(*) FROM syncer.runs WHERE job = 'mgid-balances' AND status = 'failed' AND error_class = 'database'`
	for end := time.Now().Add(30 * time.Second); testdb.Count(t, promoted, cut) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the run cut by the failover is not recorded failed as database:\n%s\n%s", runsTable(t, promoted), d.out.String())
		}
	}
	after := snapshotTimes(t, p.Standby.URL(testdb.PGDatabase))
	for ts := range standbyBefore {
		if !after[ts] {
			t.Errorf("snapshot %s, replicated before the failover, is gone after it", ts)
		}
	}
	if d.wait(0) != -1 {
		t.Fatalf("the daemon exited during the failover:\n%s", d.out.String())
	}
	if n := testdb.Count(t, promoted, `SELECT count(*) FROM syncer.runs WHERE status = 'running'
		AND started_at < now() - interval '30 seconds'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	d.signal(syscall.SIGTERM)
	if code := d.wait(40 * time.Second); code != 0 {
		t.Errorf("daemon exit %d after SIGTERM\n%s", code, d.out.String())
	}
	if !strings.Contains(d.out.String(), "database unreachable") {
		t.Errorf("no ERROR 'database unreachable' in the daemon's log:\n%s", d.out.String())
	}
}

func snapshotTimes(t *testing.T, url string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT agency_id || '@' || captured_at::text FROM syncer.mgid_agency_balance`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// countingMGID serves the simulator and counts the transfer POSTs that reach
// it; hold, when set, is called on each POST after the simulator applied it
// (and before the answer goes back).
type countingMGID struct {
	sim   *sim.Server
	mu    sync.Mutex
	posts int
	hold  func()
}

func startCountingMGID(t *testing.T) (*countingMGID, string) {
	t.Helper()
	m := &countingMGID{sim: sim.New(sim.Options{Clients: 30})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "money-transfers") {
			m.mu.Lock()
			m.posts++
			hold := m.hold
			m.mu.Unlock()
			if hold != nil {
				m.sim.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer never comes back
				hold()
				return
			}
		}
		m.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { m.sim.Close(); srv.Close() })
	return m, srv.URL
}

func (m *countingMGID) postCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.posts
}

// With SYNCER_TRANSFER_MIN_REPLICAS=1, a transfer is not POSTed while the
// standby cannot receive its journal row: it is settled not_applied with the
// reason and the command exits 1. Once streaming is back, the same transfer
// is sent, and its row is on the standby.
func TestFailoverGuardHoldsTransferWhileStreamingIsCut(t *testing.T) {
	t.Parallel()
	p := testdb.NewPair(t)
	m, mgidURL := startCountingMGID(t)
	env := mgidEnv(p.MultiHostURL(), mgidURL, "SYNCER_TRANSFER_MIN_REPLICAS=1", "SYNCER_TRANSFER_REPLICA_TIMEOUT=1500ms")
	if r := syncer(context.Background(), env, "once", "mgid-balances"); r.code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	first, _, _ := m.sim.ClientRange(sim.DemoAgencyID)
	args := []string{"mgid", "transfer", "--agency", fmt.Sprint(sim.DemoAgencyID), "--client", fmt.Sprint(first),
		"--amount", "10.00", "--from", "personal", "--yes"}
	primary := testdb.Open(t, p.Primary.URL(testdb.PGDatabase))

	p.Stream.Blackhole() // the standby stays connected, and receives nothing
	r := syncer(context.Background(), env, args...)
	if r.code != 1 {
		t.Fatalf("transfer with streaming cut: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := m.postCount(); n != 0 {
		t.Fatalf("%d transfer POSTs while no standby had the journal row, want 0", n)
	}
	var status, reason string
	if err := testdb.QueryRow(t, primary, `SELECT status, coalesce(error, '') FROM syncer.mgid_transfers ORDER BY id DESC LIMIT 1`).
		Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if store.TransferStatus(status) != store.TransferNotApplied || !strings.HasPrefix(reason, store.NotReplicatedError) {
		t.Errorf("journal row: %s %q, want not_applied starting %q", status, reason, store.NotReplicatedError)
	}
	for _, want := range []string{"level=ERROR", "too few standbys hold its journal row", "not sent"} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}

	// A live top-up round: its first transfer is held back the same way,
	// and the round fails as database, sending nothing.
	policy := filepath.Join(t.TempDir(), "syncer.yaml")
	if err := os.WriteFile(policy, []byte(`
topup:
  dry_run: false
  max_per_transfer: 5.00
  max_per_client_day: 5.00
  max_per_agency_day: 50.00
  default: {min: 100000000.00, target: 100000005.00}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := syncer(context.Background(), env, "once", "mgid-topup", "--config", policy); r.code != 1 {
		t.Errorf("top-up round with streaming cut: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if got := runsOf(t, primary, "mgid-topup", "manual"); len(got) != 1 || got[0] != (runRecord{"failed", "database"}) {
		t.Errorf("top-up runs %+v, want one failed as database", got)
	}
	if n := testdb.Count(t, primary, `SELECT count(*) FROM syncer.mgid_transfers WHERE origin = 'topup' AND status = 'not_applied'
		AND starts_with(error, $1)`, store.NotReplicatedError); n != 1 {
		t.Errorf("%d top-up transfers settled not_applied for want of a standby, want 1 (the round stops after it)", n)
	}
	if n := m.postCount(); n != 0 {
		t.Fatalf("%d transfer POSTs from the top-up while no standby had the journal row, want 0", n)
	}

	p.Stream.Restore()
	p.WaitStreaming(t, 30*time.Second)
	env[len(env)-1] = "SYNCER_TRANSFER_REPLICA_TIMEOUT=20s"
	if r := syncer(context.Background(), env, args...); r.code != 0 {
		t.Fatalf("transfer with streaming back: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n, applied := m.postCount(), len(m.sim.Transfers()); n != 1 || applied != 1 {
		t.Errorf("%d POSTs and %d applied transfers after streaming came back, want 1 and 1", n, applied)
	}
	p.WaitReplayed(t, 30*time.Second)
	standby := testdb.Open(t, p.Standby.URL(testdb.PGDatabase))
	if n := testdb.Count(t, standby, `SELECT count(*) FROM syncer.mgid_transfers WHERE status = 'succeeded'`); n != 1 {
		t.Errorf("%d succeeded transfers on the standby, want 1", n)
	}
}

// With the guard on, the primary dies right after a transfer's POST reached
// MGID (the answer never came back, the sender is killed): the promoted
// standby has the in_flight row, a new transfer to the client is refused
// while it is open, and reconcile settles it as succeeded. MGID applied
// exactly one transfer.
func TestFailoverRightAfterPOSTReconcileSettles(t *testing.T) {
	t.Parallel()
	p := testdb.NewPair(t)
	m, mgidURL := startCountingMGID(t)
	env := mgidEnv(p.MultiHostURL(), mgidURL, "SYNCER_TRANSFER_MIN_REPLICAS=1", "MGID_REQUEST_TIMEOUT=1s")
	if r := syncer(context.Background(), env, "once", "mgid-balances"); r.code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", r.code, r.stderr)
	}
	first, _, _ := m.sim.ClientRange(sim.DemoAgencyID)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	m.mu.Lock()
	m.hold = func() { arrived <- struct{}{}; <-release }
	m.mu.Unlock()
	args := []string{"mgid", "transfer", "--agency", fmt.Sprint(sim.DemoAgencyID), "--client", fmt.Sprint(first),
		"--amount", "10.00", "--from", "personal", "--yes"}
	sender := startProc(t, env, args...)
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the POST never came\n%s", sender.out.String())
	}
	p.Primary.Kill()
	sender.signal(syscall.SIGKILL)
	sender.wait(10 * time.Second)
	p.Standby.Promote()
	m.mu.Lock()
	m.hold = nil
	m.mu.Unlock()

	promoted := testdb.Open(t, p.Standby.URL(testdb.PGDatabase))
	if n := testdb.Count(t, promoted, `SELECT count(*) FROM syncer.mgid_transfers WHERE status = 'in_flight' AND client_id = $1`, first); n != 1 {
		t.Fatalf("%d in_flight rows for the client on the promoted standby, want 1 (the guard let the POST go before the standby had it)", n)
	}
	// Until reconcile settles it, the client gets nothing more.
	if r := syncer(context.Background(), env, args...); r.code != 1 || !strings.Contains(r.stderr, "no new transfer until") {
		t.Errorf("a second transfer to the client while the first is open: exit %d\n%s", r.code, r.stderr)
	}
	time.Sleep(2*time.Second + 100*time.Millisecond) // the reconcile grace: 2 x MGID_REQUEST_TIMEOUT
	if r := syncer(context.Background(), env, "mgid", "transfers", "reconcile"); r.code != 0 {
		t.Fatalf("reconcile on the new primary: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var status store.TransferStatus
	if err := testdb.QueryRow(t, promoted, `SELECT status FROM syncer.mgid_transfers WHERE client_id = $1`, first).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != store.TransferSucceeded {
		t.Errorf("after reconcile the transfer is %s, want succeeded", status)
	}
	if got := m.sim.Transfers(); len(got) != 1 || m.postCount() != 1 {
		t.Errorf("MGID applied %d transfers from %d POSTs, want exactly 1 (no double payment)", len(got), m.postCount())
	}
}

func runsTable(t *testing.T, db *store.DB) string {
	t.Helper()
	var s string
	if err := testdb.QueryRow(t, db, `SELECT string_agg(concat_ws(' ', id, job, trigger, status, started_at, finished_at, error_class, error_message), E'\n' ORDER BY id)
		FROM syncer.runs`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
