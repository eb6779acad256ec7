package main

// Process faults against a real built binary: SIGTERM mid-run and
// mid-catch-up (also while the database swallows packets), SIGKILL
// mid-snapshot and mid-backfill then resume, three replicas on one
// database, every job ticking at once with the default pool, and kill -9
// between a transfer's journal row and its POST.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/testutil/tcpproxy"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// syncerBinary builds the command once per test binary.
func syncerBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "syncer-fault-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "syncer")
		goTool := "go"
		if _, err := exec.LookPath("go"); err != nil {
			goTool = "/usr/local/go/bin/go"
		}
		args := []string{"build", "-o", binPath}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, ".")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running syncer process.
type proc struct {
	cmd  *exec.Cmd
	out  *testutil.LockedBuffer
	done chan struct{}
	err  error
}

func startProc(t *testing.T, environ []string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &testutil.LockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(syncerBinary(t), args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "GOMAXPROCS=2",
		// A free port each: never the default 9188 that other processes may hold.
		"SYNCER_HTTP_ADDR=127.0.0.1:0"}, environ...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		// The MGID password is in every environment here: it must not leak.
		if strings.Contains(p.out.String(), sim.DemoPassword) {
			t.Errorf("syncer %v printed the MGID password", args)
		}
	})
	return p
}

// wait waits for the process to exit and returns its status, or -1 after d.
func (p *proc) wait(d time.Duration) int {
	select {
	case <-p.done:
	case <-time.After(d):
		return -1
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 0
}

func (p *proc) signal(s os.Signal) { _ = p.cmd.Process.Signal(s) }

// waitFor polls cond every 20 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type runRecord struct{ status, class string }

func runsOf(t *testing.T, db *store.DB, job, trigger string) []runRecord {
	t.Helper()
	rows, err := testdb.Query(t, db, `
		SELECT status, coalesce(error_class, '') FROM syncer.runs WHERE job = $1 AND trigger = $2 ORDER BY id`, job, trigger)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []runRecord
	for rows.Next() {
		var r runRecord
		if err := rows.Scan(&r.status, &r.class); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// dripSim serves the simulator with its clients list dripping slowly, so a
// balances run stays in its COPY for seconds.
func dripSim(t *testing.T, clients int) (*sim.Server, string) {
	t.Helper()
	s := sim.New(sim.Options{Clients: clients, Faults: sim.Faults{Mode: sim.FaultDrip, Endpoint: sim.EndpointMGIDClients,
		DripBytes: 4000, DripEvery: 20 * time.Millisecond}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return s, srv.URL
}

// SIGTERM while the catch-up run at start is in its snapshot, with a grace
// shorter than the run: the run is cancelled when the grace ends, its end
// is recorded (cancelled), nothing of it is kept, and the process exits
// within grace + 5 s.
func TestSIGTERMMidCatchUp(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	_, simURL := dripSim(t, 5000)
	p := startProc(t, mgidEnv(url, simURL, "SYNCER_SHUTDOWN_GRACE=1s", "JOB_MGID_SPEND_ENABLED=false"), "run")
	waitFor(t, 30*time.Second, "the catch-up run", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE trigger = 'catchup' AND status = 'running'`) == 1
	})
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(1*time.Second + 5*time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d after %s\n%s", code, took, p.out.String())
	}
	t.Logf("SIGTERM mid-catch-up: exited after %s (grace 1s)", took.Round(time.Millisecond))
	runs := runsOf(t, db, "mgid-balances", "catchup")
	if len(runs) != 1 || runs[0] != (runRecord{"cancelled", "cancelled"}) {
		t.Errorf("catch-up runs %+v, want one cancelled", runs)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 0 {
		t.Errorf("%d rows of the cancelled snapshot kept", n)
	}
	if logs := p.out.String(); !strings.Contains(logs, "level=WARN msg=\"run cancelled\"") || !strings.Contains(logs, "grace period over") {
		t.Errorf("the cancellation is not logged at WARN:\n%s", logs)
	}
}

// SIGTERM mid-run with a grace longer than the run: the run finishes, its
// end is recorded succeeded with its rows, and then the process exits.
func TestSIGTERMMidRunFinishesWithinGrace(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	_, simURL := dripSim(t, 1500)
	p := startProc(t, mgidEnv(url, simURL, "SYNCER_SHUTDOWN_GRACE=30s", "JOB_MGID_SPEND_ENABLED=false"), "run")
	waitFor(t, 30*time.Second, "the catch-up run", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`) == 1
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.out.String())
	}
	runs := runsOf(t, db, "mgid-balances", "catchup")
	if len(runs) != 1 || runs[0].status != "succeeded" {
		t.Errorf("runs %+v, want the catch-up run succeeded", runs)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 1500 {
		t.Errorf("%d client rows, want 1500", n)
	}
}

// SIGTERM while the database swallows every packet (the connection stays
// open, nothing answers): the process exits within the grace plus stopBound
// (the wait for cancelled runs to record their end; the pool's close is not
// waited for on a silent database), with some slack for the exit itself.
// The run it could not record is marked abandoned by the next start.
func TestSIGTERMWhileDatabaseSwallowsPackets(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	px := tcpproxy.Start(t, fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port))
	proxied := strings.Replace(url, fmt.Sprintf("%s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port), px.Addr(), 1)
	_, simURL := dripSim(t, 5000)
	env := mgidEnv(proxied, simURL, "SYNCER_SHUTDOWN_GRACE=1s", "JOB_MGID_SPEND_ENABLED=false")
	p := startProc(t, env, "run")
	waitFor(t, 30*time.Second, "the catch-up run", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`) == 1
	})
	px.Blackhole()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(1*time.Second + 5*time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d after %s (grace 1s)\n%s", code, took, p.out.String())
	}
	// The bound the process keeps, read from its own log (the wall clock
	// here adds the exit and a loaded machine's scheduling, up to ~1 s):
	// from "stopping" to "stopped" within grace + stopBound, with 100 ms
	// for timers firing late.
	const grace, slack = time.Second, 100 * time.Millisecond
	stopping, stopped := logTime(t, p.out.String(), `msg="stopping:`), logTime(t, p.out.String(), `msg=stopped`)
	if d := stopped.Sub(stopping); d > grace+stopBound+slack {
		t.Errorf("stopped %s after the signal was handled, want within grace + stopBound (+%s) = %s\n%s", d, slack, grace+stopBound+slack, p.out.String())
	} else {
		t.Logf("SIGTERM with the database blackholed: stopped %s after the signal was handled, exited %s after it was sent (grace 1s, stopBound %s)",
			d.Round(time.Millisecond), took.Round(time.Millisecond), stopBound)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 0 {
		t.Errorf("%d rows kept", n)
	}
	px.Restore()
	// The next start marks the run it left as abandoned and runs again.
	r := syncer(context.Background(), mgidEnv(url, simURL), "once", "mgid-balances")
	if r.code != 0 {
		t.Fatalf("once after: exit %d %s", r.code, r.stderr)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs still marked running", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 5000 {
		t.Errorf("%d client rows after the next run, want 5000", n)
	}
}

// SIGKILL in the middle of a snapshot's COPY: nothing of it is kept; the
// next run marks the killed one abandoned and writes a whole snapshot.
func TestSIGKILLMidSnapshotThenResume(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	s, simURL := dripSim(t, 5000)
	p := startProc(t, mgidEnv(url, simURL), "once", "mgid-balances")
	waitFor(t, 30*time.Second, "the run", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`) == 1
	})
	time.Sleep(500 * time.Millisecond) // well into the dripping clients list
	p.signal(syscall.SIGKILL)
	if code := p.wait(10 * time.Second); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %d", code)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`) + testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`); n != 0 {
		t.Errorf("%d rows of the killed snapshot kept", n)
	}
	s.SetFaults(sim.Faults{})
	waitLocksGone(t, db)
	r := syncer(context.Background(), mgidEnv(url, simURL), "once", "mgid-balances")
	if r.code != 0 {
		t.Fatalf("once after the kill: exit %d %s", r.code, r.stderr)
	}
	runs := runsOf(t, db, "mgid-balances", "manual")
	if len(runs) != 2 || runs[0] != (runRecord{"failed", "abandoned"}) || runs[1].status != "succeeded" {
		t.Errorf("runs %+v, want the killed one abandoned and the next succeeded", runs)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 5000 {
		t.Errorf("%d client rows, want 5000 (lost or duplicated)", n)
	}
}

// SIGKILL in the middle of a backfill: the days it finished stay, the next
// backfill marks its runs abandoned, does only the rest, and the data equals
// that of a backfill that was never killed.
func TestSIGKILLMidBackfillThenResume(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	ref, refURL := testdb.NewWithURL(t)
	s := sim.New(sim.Options{Clients: 200, Faults: sim.Faults{Latency: 150 * time.Millisecond}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	args := []string{"backfill", "mgid-spend", "--from", "2026-09-01", "--to", "2026-09-20", "--concurrency", "2"}
	p := startProc(t, mgidEnv(url, srv.URL), args...)
	waitFor(t, 60*time.Second, "some days done", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.backfill_days`) >= 4
	})
	p.signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	doneBefore := testdb.Count(t, db, `SELECT count(*) FROM syncer.backfill_days`)
	if doneBefore >= 20 {
		t.Fatalf("the backfill finished (%d days) before the kill", doneBefore)
	}
	s.SetFaults(sim.Faults{})
	waitLocksGone(t, db)
	r := syncer(context.Background(), mgidEnv(url, srv.URL), args...)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d already done", doneBefore)) {
		t.Fatalf("resume: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d backfill runs left running after the resume", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.backfill_days`); n != 20 {
		t.Errorf("%d days checkpointed, want 20", n)
	}
	if r := syncer(context.Background(), mgidEnv(refURL, srv.URL), args...); r.code != 0 {
		t.Fatalf("reference backfill: exit %d %s", r.code, r.stderr)
	}
	const digest = `SELECT count(*) || ':' || coalesce(md5(string_agg(agency_id || '/' || spend_date || '/' || client_id || '/' || spent, ',' ORDER BY agency_id, spend_date, client_id)), '')
		FROM syncer.mgid_client_spend_daily`
	var got, want string
	if err := testdb.QueryRow(t, db, digest).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if err := testdb.QueryRow(t, ref, digest).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if got != want || strings.HasPrefix(got, "0:") {
		t.Errorf("resumed backfill's spend %s, uninterrupted one %s", got, want)
	}
}

// Three `syncer run` replicas on one database, ticking every 2 s: each
// replica records its own run of a tick and they share its agencies, so the
// agency is snapshotted once per tick; none is left running, and no replica
// logs an ERROR.
func TestThreeReplicasOneDatabase(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 200})
	env := mgidEnv(url, simURL, "JOB_MGID_SPEND_ENABLED=false", "JOB_MGID_BALANCES_SCHEDULE=@every 2s",
		"SYNCER_SHUTDOWN_GRACE=5s")
	var ps []*proc
	for range 3 {
		ps = append(ps, startProc(t, env, "run"))
	}
	waitFor(t, 30*time.Second, "three scheduled ticks", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM bi.sync_run_agencies WHERE trigger = 'schedule' AND status = 'succeeded'`) >= 3
	})
	for _, p := range ps {
		p.signal(syscall.SIGTERM)
	}
	for i, p := range ps {
		if code := p.wait(15 * time.Second); code != 0 {
			t.Errorf("replica %d: exit %d\n%s", i, code, p.out.String())
		}
		if strings.Contains(p.out.String(), "level=ERROR") {
			t.Errorf("replica %d logged an ERROR:\n%s", i, p.out.String())
		}
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status <> 'succeeded'`); n != 0 {
		t.Errorf("%d runs not succeeded (running, failed or cancelled)", n)
	}
	done := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_run_agencies WHERE status = 'succeeded'`)
	ticks := testdb.Count(t, db, `SELECT count(DISTINCT tick) FROM bi.sync_run_agencies`)
	snaps := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_agency_balance`)
	if done != ticks || snaps != done || snaps < 3 {
		t.Errorf("%d agency snapshots recorded for %d ticks and %d stored: a tick's agency ran twice", done, ticks, snaps)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs r WHERE trigger = 'schedule'
		AND r.scheduled_for IS NOT NULL`); n != 0 {
		t.Errorf("%d runs of the split job claimed their tick in the runs table", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 200*snaps {
		t.Errorf("%d client rows for %d snapshots", n, snaps)
	}
}

// Every job enabled and ticking at the same second, with the pool size left
// to the default on a 2-core budget (GOMAXPROCS=2): every tick of every job
// is recorded and none is stuck running.
func TestAllJobsTickingAtOnceProcess(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 100})
	const every = "@every 2s"
	policy := filepath.Join(t.TempDir(), "syncer.yaml")
	if err := os.WriteFile(policy, []byte(`
topup:
  max_per_transfer: 150.00
  max_per_client_day: 300.00
  max_per_agency_day: 2000.00
  default: {min: 40.00, target: 120.00}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := mgidEnv(url, simURL, "SYNCER_CONFIG="+policy, "SYNCER_SHUTDOWN_GRACE=5s", "SYNCER_HASH_KEY=fault-hash-key-0123456789abcdef",
		"JOB_MGID_BALANCES_SCHEDULE="+every, "JOB_MGID_SPEND_SCHEDULE="+every,
		"JOB_MGID_TOPUP_ENABLED=true", "JOB_MGID_TOPUP_SCHEDULE="+every,
		"JOB_MAWTHOQ_RECHECK_ENABLED=true", "JOB_MAWTHOQ_RECHECK_SCHEDULE="+every,
		"JOB_FIRSTLIGHT_REDEEM_ENABLED=true", "JOB_FIRSTLIGHT_REDEEM_SCHEDULE="+every,
		"GMEDIA_TOKEN_URL="+simURL+sim.PathGmediaToken, "GMEDIA_CHECK_URL="+simURL+sim.PathGmediaCheck,
		"GMEDIA_CLIENT_ID=sim-gmedia", "GMEDIA_CLIENT_SECRET=sim-gmedia-secret",
		"FIRSTLIGHT_URL="+simURL+sim.PathFirstlightRedeem, "FIRSTLIGHT_TOKEN_URL="+simURL+sim.PathFirstlightToken,
		"FIRSTLIGHT_CLIENT_ID=sim-firstlight", "FIRSTLIGHT_CLIENT_SECRET=sim-firstlight-secret")
	p := startProc(t, env, "run")
	jobsEnabled := []string{"mgid-balances", "mgid-spend", "mgid-topup", "mawthoq-recheck", "firstlight-redeem"}
	defer func() {
		if t.Failed() {
			t.Logf("runs: %s\nlogs:\n%s", runsSummary(t, db), p.out.String())
		}
	}()
	waitFor(t, 40*time.Second, "two scheduled ticks of every job", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM (SELECT job FROM syncer.runs WHERE trigger = 'schedule' AND status <> 'running'
			GROUP BY job HAVING count(*) >= 2) j`) == int64(len(jobsEnabled))
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.out.String())
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs stuck running", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'failed'`); n != 0 {
		t.Errorf("%d runs failed:\n%s", n, p.out.String())
	}
	if !strings.Contains(p.out.String(), "pool_max_conns=7") {
		t.Errorf("the pool was not sized for 5 jobs:\n%s", p.out.String())
	}
}

func runsSummary(t *testing.T, db *store.DB) string {
	var s string
	_ = testdb.QueryRow(t, db, `SELECT coalesce(string_agg(job || ' ' || trigger || ' ' || status || ' ' || coalesce(error_class, ''), E'\n' ORDER BY id), '')
		FROM syncer.runs`).Scan(&s)
	return s
}

// kill -9 of `syncer mgid transfer` after its journal row committed and
// while its POST is out: once where the provider never received the
// request, once where it applied it but the answer never came back. The
// journal keeps both in flight; reconcile settles the applied one as
// succeeded and, after the grace, the other as not_applied. Nothing is sent
// twice: the provider applied exactly the one transfer.
func TestKillBetweenJournalAndPOST(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	s := sim.New(sim.Options{Clients: 50})
	first, _, _ := s.ClientRange(sim.DemoAgencyID)
	var mu sync.Mutex
	apply := false // whether the held POST reaches the simulator first
	posts := 0
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "money-transfers") {
			mu.Lock()
			posts++
			fwd := apply
			mu.Unlock()
			if fwd {
				s.ServeHTTP(httptest.NewRecorder(), r) // applied; the answer is lost
			}
			arrived <- struct{}{}
			<-release // the process is killed while it waits
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(release); s.Close(); srv.Close() })
	env := mgidEnv(url, srv.URL, "MGID_REQUEST_TIMEOUT=1s")
	if r := syncer(context.Background(), env, "once", "mgid-balances"); r.code != 0 {
		t.Fatalf("snapshot: %d %s", r.code, r.stderr)
	}
	send := func(client int64, forward bool) {
		t.Helper()
		mu.Lock()
		apply = forward
		mu.Unlock()
		p := startProc(t, env, "mgid", "transfer", "--agency", "1001", "--client", fmt.Sprint(client),
			"--amount", "25.00", "--from", "personal", "--yes")
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			t.Fatalf("the POST never came\n%s", p.out.String())
		}
		p.signal(syscall.SIGKILL)
		p.wait(10 * time.Second)
		waitLocksGone(t, db)
	}
	send(first, false) // never reached MGID
	send(first+1, true)
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_transfers WHERE status = 'in_flight'`); n != 2 {
		t.Fatalf("%d transfers in flight after the kills, want 2", n)
	}
	time.Sleep(2*time.Second + 100*time.Millisecond) // the reconcile grace: 2 x MGID_REQUEST_TIMEOUT
	r := syncer(context.Background(), env, "mgid", "transfers", "reconcile")
	if r.code != 0 {
		t.Fatalf("reconcile: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	status := func(client int64) string {
		var st string
		if err := testdb.QueryRow(t, db, `SELECT status FROM syncer.mgid_transfers WHERE client_id = $1`, client).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if a, b := status(first), status(first+1); a != "not_applied" || b != "succeeded" {
		t.Errorf("after reconcile: never received %s, applied %s; want not_applied, succeeded", a, b)
	}
	if got := s.Transfers(); len(got) != 1 || got[0].ClientID != first+1 {
		t.Errorf("the provider applied %+v, want the one transfer to %d", got, first+1)
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 2 {
		t.Errorf("%d POSTs, want 2 (nothing resent)", posts)
	}
}

// waitLocksGone waits until no session holds an advisory lock in the test's
// database: Postgres ends a killed client's session, and drops its locks, a
// moment after the process dies. The next process is started after that, as
// an operator's restart would be.
func waitLocksGone(t *testing.T, db *store.DB) {
	t.Helper()
	waitFor(t, 10*time.Second, "the killed process's locks to go", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) == 0
	})
}

// logTime is the time= of the first log line containing msg.
func logTime(t *testing.T, logs, msg string) time.Time {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, msg) {
			continue
		}
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], "time=") {
			at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
			if err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			return at
		}
	}
	t.Fatalf("no log line with %s:\n%s", msg, logs)
	return time.Time{}
}
