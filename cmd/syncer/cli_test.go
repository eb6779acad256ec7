package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

type result struct {
	code           int
	stdout, stderr string
}

func syncer(ctx context.Context, environ []string, args ...string) result {
	var out, errb testutil.LockedBuffer
	code := run(ctx, args, env{stdout: &out, stderr: &errb, environ: environ, stdin: strings.NewReader("")})
	return result{code, out.String(), errb.String()}
}

func startSim(t *testing.T, o sim.Options) string {
	t.Helper()
	s := sim.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return srv.URL
}

func mgidEnv(dbURL, simURL string, extra ...string) []string {
	return append([]string{
		"DATABASE_URL=" + dbURL, "MGID_BASE_URL=" + simURL,
		"MGID_LOGIN=" + sim.DemoLogin, "MGID_PASSWORD=" + sim.DemoPassword,
		"SYNCER_LOG_LEVEL=debug",
	}, extra...)
}

// Invalid configuration or arguments: exit 2, a message naming what is
// wrong, and nothing written to the database.
func TestBadInputExitsTwoBeforeWriting(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 10})
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad cron", mgidEnv(dbURL, simURL, "JOB_MGID_SPEND_SCHEDULE=61 * * * *"), []string{"once", "mgid-spend"}, "JOB_MGID_SPEND_SCHEDULE"},
		{"bad zone", mgidEnv(dbURL, simURL, "MGID_TIMEZONE=Mars/Olympus"), []string{"once", "mgid-spend"}, "MGID_TIMEZONE"},
		{"missing credentials", []string{"DATABASE_URL=" + dbURL}, []string{"once", "mgid-balances"}, "MGID_LOGIN"},
		{"misspelt variable", mgidEnv(dbURL, simURL, "JOB_MGID_SPEND_SCHEDUEL=@daily"), []string{"run"}, "JOB_MGID_SPEND_SCHEDUEL"},
		{"bad listen address", mgidEnv(dbURL, simURL, "SYNCER_HTTP_ADDR=localhost"), []string{"run"}, "SYNCER_HTTP_ADDR"},
		{"unknown job", mgidEnv(dbURL, simURL), []string{"once", "mgid-nope"}, `unknown job "mgid-nope"`},
		{"no job", mgidEnv(dbURL, simURL), []string{"once"}, "at least one job"},
		{"bad date", mgidEnv(dbURL, simURL), []string{"backfill", "mgid-spend", "--from", "2026-13-01", "--to", "2026-12-02"}, "--from"},
		{"reversed range", mgidEnv(dbURL, simURL), []string{"backfill", "mgid-spend", "--from", "2026-10-05", "--to", "2026-10-01"}, "before"},
		{"unknown flag", mgidEnv(dbURL, simURL), []string{"once", "--bogus", "mgid-spend"}, "bogus"},
		{"unknown command", mgidEnv(dbURL, simURL), []string{"frobnicate"}, "unknown command"},
		{"no database", []string{"MGID_LOGIN=a", "MGID_PASSWORD=b"}, []string{"once", "mgid-spend"}, "DATABASE_URL"},
		{"min replicas not a number", mgidEnv(dbURL, simURL, "SYNCER_TRANSFER_MIN_REPLICAS=two"),
			[]string{"mgid", "transfer", "--agency", "1001", "--client", "1", "--amount", "1.00", "--from", "personal", "--yes"}, "SYNCER_TRANSFER_MIN_REPLICAS"},
		{"min replicas negative", mgidEnv(dbURL, simURL, "SYNCER_TRANSFER_MIN_REPLICAS=-1"), []string{"run"}, "SYNCER_TRANSFER_MIN_REPLICAS"},
	}
	// The message of each case is in its golden file; want is what it
	// must name, checked too so that -update cannot drop it unnoticed.
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := syncer(context.Background(), c.env, c.args...)
				if r.code != exitBadArgs || !strings.Contains(r.stderr, c.want) {
					t.Errorf("exit %d, stderr %q; want 2 and a message naming %q", r.code, r.stderr, c.want)
				}
				golden(t, normalize(render(c.args, r), dbURL, "$DATABASE_URL", simURL, "$SIM_URL"))
			})
		}
	})
	// Nothing ran: the (migrated) runs table is still empty.
	if n := testdb.Count(t, db, "SELECT count(*) FROM syncer.runs"); n != 0 {
		t.Errorf("%d runs recorded by rejected commands", n)
	}
}

func TestConfigCheckRedactsSecrets(t *testing.T) {
	t.Parallel()
	const canary = "canary-pass-8731"
	r := syncer(context.Background(), []string{
		"DATABASE_URL=postgres://app:" + canary + "@db.internal:5432/syncer",
		"MGID_LOGIN=agency-a", "MGID_PASSWORD=" + canary,
	}, "config", "check")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, canary) {
		t.Fatalf("a secret was printed:\n%s", r.stdout)
	}
	// Every setting with its default and where it came from; the
	// password and the database URL's password read [redacted].
	golden(t, r.stdout)
}

// A wrong password fails the run with class auth; the password appears in
// no output and no table.
func TestOnceRecordsProviderFailureWithoutSecrets(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 10})
	const canary = "canary-wrong-pass-5521"
	environ := []string{"DATABASE_URL=" + dbURL, "MGID_BASE_URL=" + simURL, "MGID_LOGIN=" + sim.DemoLogin,
		"MGID_PASSWORD=" + canary, "SYNCER_LOG_LEVEL=debug"}
	r := syncer(context.Background(), environ, "once", "mgid-balances")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1: %s %s", r.code, r.stdout, r.stderr)
	}
	var status, class, msg string
	if err := testdb.QueryRow(t, db, `SELECT status, error_class, error FROM bi.sync_runs`).Scan(&status, &class, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || class != "auth" {
		t.Errorf("run recorded %s/%s: %s", status, class, msg)
	}
	if strings.Contains(r.stdout+r.stderr+msg, canary) {
		t.Error("the password leaked into output or the runs table")
	}
}

// The daemon: it migrates, catches up at start (so the views fill without
// waiting for a tick), and exits 0 on a signal.
func TestRunFillsViewsAndStopsOnSignal(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 50})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		done <- syncer(ctx, mgidEnv(dbURL, simURL, "SYNCER_SHUTDOWN_GRACE=5s", "SYNCER_HTTP_ADDR=127.0.0.1:0"), "run")
	}()
	deadline := time.Now().Add(20 * time.Second)
	// Every job is listed once the daemon recorded the schedules; the two
	// enabled ones gain a last success when their catch-up runs end.
	for testdb.Count(t, db, "SELECT count(*) FROM bi.source_freshness WHERE last_success_at IS NOT NULL") < 2 {
		if time.Now().After(deadline) {
			cancel()
			r := testutil.Receive(t, done, 30*time.Second, "the daemon to exit after its context was cancelled")
			t.Fatalf("views did not fill; daemon said:\n%s", r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	r := testutil.Receive(t, done, 30*time.Second, "the daemon to exit after its context was cancelled")
	if r.code != 0 {
		t.Fatalf("daemon exit %d:\n%s", r.code, r.stderr)
	}
	if n := testdb.Count(t, db, "SELECT count(*) FROM bi.mgid_client_balance_latest"); n != 50 {
		t.Errorf("latest snapshot has %d clients, want 50", n)
	}
	// Each enabled job caught up at start. A test that starts just before a
	// quarter hour can see the scheduled tick take the job's lock first, and
	// the catch-up then skips: that job's success is the scheduled run's.
	if n := testdb.Count(t, db, `SELECT count(DISTINCT job) FROM syncer.runs
		WHERE status = 'succeeded' AND (trigger = 'catchup'
			OR (trigger = 'schedule' AND NOT EXISTS (SELECT 1 FROM syncer.runs c WHERE c.job = runs.job AND c.trigger = 'catchup' AND c.status = 'succeeded')))`); n != 2 {
		t.Errorf("%d jobs caught up at start (or had their scheduled tick win the lock), want 2", n)
	}
	// The daemon recorded every job's schedule for bi.source_freshness.
	var sched string
	if err := testdb.QueryRow(t, db, `
		SELECT string_agg(job || ' ' || enabled || ' ' || expected_interval::text, ', ' ORDER BY job)
		FROM syncer.job_schedules`).Scan(&sched); err != nil {
		t.Fatal(err)
	}
	const want = "firstlight-redeem false 01:10:00, mawthoq-recheck false 24:10:00, " +
		"mgid-balances true 00:15:00, mgid-retention false 24:00:00, mgid-spend true 01:00:00, mgid-topup false 00:15:00"
	if sched != want {
		t.Errorf("job schedules:\n %s\nwant\n %s", sched, want)
	}
}
