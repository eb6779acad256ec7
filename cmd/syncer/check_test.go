package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testdb"
)

type checkDoc struct {
	OK       bool           `json:"ok"`
	Problems []checkProblem `json:"problems"`
}

func checkJSON(t *testing.T, environ []string, args ...string) (checkDoc, result) {
	t.Helper()
	r := syncer(context.Background(), environ, append([]string{"check", "--json"}, args...)...)
	var d checkDoc
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("check --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return d, r
}

func kinds(d checkDoc) map[string][]checkProblem {
	out := map[string][]checkProblem{}
	for _, p := range d.Problems {
		out[p.Kind] = append(out[p.Kind], p)
	}
	return out
}

// syncer check needs only DATABASE_URL and exits 1 with one line per
// problem and its fix: never-run and failing jobs, missing days, an
// unknown transfer, a schema behind the binary; 0 once all is well.
func TestCheckExitsOneWithTheFix(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 3})
	only := []string{"DATABASE_URL=" + dbURL, "JOB_MGID_SPEND_ENABLED=false"}

	// Only mgid-balances is enabled, and it never ran: stale, exit 1.
	r := syncer(context.Background(), only, "check")
	if r.code != exitFailed || !strings.Contains(r.stdout, "mgid-balances: has never read provider data") ||
		!strings.Contains(r.stdout, "fix: syncer once mgid-balances") || strings.Contains(r.stdout, "mgid-spend") {
		t.Fatalf("check with a never-run job: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	environ := mgidEnv(dbURL, simURL, "MGID_LOOKBACK_DAYS=0", "SYNCER_LOG_LEVEL=warn")
	for _, job := range []string{"mgid-balances", "mgid-spend"} {
		if r := syncer(context.Background(), environ, "once", job); r.code != exitOK {
			t.Fatalf("once %s: %d %s", job, r.code, r.stderr)
		}
	}
	if r := syncer(context.Background(), []string{"DATABASE_URL=" + dbURL}, "check"); r.code != exitOK || !strings.HasPrefix(r.stdout, "ok:") {
		t.Fatalf("check after both jobs ran: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Two failed runs of mgid-spend (a wrong password: auth).
	bad := mgidEnv(dbURL, simURL, "MGID_LOOKBACK_DAYS=0", "SYNCER_LOG_LEVEL=error", "MGID_PASSWORD=not-the-password")
	for range 2 {
		if r := syncer(context.Background(), bad, "once", "mgid-spend"); r.code != exitFailed {
			t.Fatalf("once with a wrong password: exit %d", r.code)
		}
	}
	// A day five days back read by a backfill: the days after it are missing.
	day := time.Now().UTC().AddDate(0, 0, -5).Format(time.DateOnly)
	if r := syncer(context.Background(), environ, "backfill", "mgid-spend", "--from", day, "--to", day); r.code != exitOK {
		t.Fatalf("backfill: %d %s", r.code, r.stderr)
	}
	testdb.Exec(t, db, `
		INSERT INTO syncer.mgid_transfers (agency_id, client_id, amount, account_type, origin, requested_by, status, created_at, sent_at, error)
		VALUES (1001, 5001, 10, 'personal', 'manual', 'test', 'unknown', now(), now(), 'timeout after sending')`)
	d, r := checkJSON(t, []string{"DATABASE_URL=" + dbURL})
	k := kinds(d)
	if r.code != exitFailed || d.OK {
		t.Errorf("check --json: exit %d ok %v", r.code, d.OK)
	}
	if f := k["failing"]; len(f) != 1 || f[0].Subject != "mgid-spend" || !strings.Contains(f[0].Message, "2 runs in a row") ||
		!strings.Contains(f[0].Message, "(auth)") || !strings.Contains(f[0].Fix, "credentials") {
		t.Errorf("failing problems %+v", f)
	}
	if m := k["missing_days"]; len(m) != 1 || m[0].Subject != "mgid-spend agency 1001" ||
		!strings.HasPrefix(m[0].Message, "4 missing days in the last 7") || !strings.HasPrefix(m[0].Fix, "syncer backfill mgid-spend --gaps --from ") {
		t.Errorf("missing-day problems %+v (want the 4 days after the backfilled one, today read)", m)
	}
	if x := k["transfer"]; len(x) != 1 || !strings.Contains(x[0].Fix, "syncer mgid transfers reconcile") {
		t.Errorf("transfer problems %+v", x)
	}
	if strings.Contains(r.stdout, sim.DemoPassword) {
		t.Error("check printed the MGID password")
	}
	// --days 1 looks at today only: the gap is older.
	if d, _ := checkJSON(t, []string{"DATABASE_URL=" + dbURL}, "--days", "1"); len(kinds(d)["missing_days"]) != 0 {
		t.Errorf("--days 1 still reports old gaps: %+v", d.Problems)
	}

	// A schema behind the binary.
	if r := syncer(context.Background(), []string{"DATABASE_URL=" + dbURL}, "migrate", "down"); r.code != exitOK {
		t.Fatalf("migrate down: %d %s", r.code, r.stderr)
	}
	r = syncer(context.Background(), []string{"DATABASE_URL=" + dbURL}, "check")
	if r.code != exitFailed || !strings.Contains(r.stdout, "schema: the database is at migration") || !strings.Contains(r.stdout, "fix: syncer migrate up") {
		t.Errorf("check with the schema behind: exit %d\n%s", r.code, r.stdout)
	}
	if r := syncer(context.Background(), []string{"DATABASE_URL=" + dbURL}, "check", "--days", "0"); r.code != exitBadArgs {
		t.Errorf("check --days 0: exit %d", r.code)
	}
}

// syncer jobs reads only the database: no MGID credentials, the configured
// enabled flags kept, and --json for scripts.
func TestJobsJSONWithoutProviderCredentials(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 3})
	if r := syncer(context.Background(), mgidEnv(dbURL, simURL, "MGID_LOOKBACK_DAYS=0", "SYNCER_LOG_LEVEL=warn"), "once", "mgid-spend"); r.code != exitOK {
		t.Fatalf("once: %d %s", r.code, r.stderr)
	}
	r := syncer(context.Background(), []string{"DATABASE_URL=" + dbURL, "JOB_MGID_TOPUP_ENABLED=true"}, "jobs", "--json")
	if r.code != exitOK {
		t.Fatalf("jobs --json with only DATABASE_URL: exit %d %s", r.code, r.stderr)
	}
	var doc struct {
		Jobs []jobJSON `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	byName := map[string]jobJSON{}
	for _, j := range doc.Jobs {
		byName[j.Job] = j
	}
	spend, topup, balances := byName["mgid-spend"], byName["mgid-topup"], byName["mgid-balances"]
	if !spend.Enabled || spend.LastRun == nil || spend.LastRun.Status != "succeeded" || spend.LastDataAt == nil || spend.Stale || spend.NextRun == nil {
		t.Errorf("mgid-spend %+v", spend)
	}
	if !topup.Enabled {
		t.Errorf("JOB_MGID_TOPUP_ENABLED=true is not kept: %+v", topup)
	}
	if !balances.Stale || balances.LastRun != nil {
		t.Errorf("mgid-balances never ran, want stale: %+v", balances)
	}
	if r := syncer(context.Background(), []string{"DATABASE_URL=" + dbURL, "JOB_MGID_SPEND_SCHEDULE=@every -5s"}, "jobs"); r.code != exitBadArgs ||
		!strings.Contains(r.stderr, "JOB_MGID_SPEND_SCHEDULE") {
		t.Errorf("jobs with @every -5s: exit %d %s", r.code, r.stderr)
	}
}

// syncer version says which build this is, without any configuration.
func TestVersion(t *testing.T) {
	t.Parallel()
	r := syncer(context.Background(), nil, "version", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); r.code != exitOK || err != nil {
		t.Fatalf("version --json: exit %d %v %q", r.code, err, r.stdout)
	}
	if v, _ := m["version"].(string); v == "" {
		t.Errorf("no version: %v", m)
	}
	if g, _ := m["go_version"].(string); !strings.HasPrefix(g, "go1.") {
		t.Errorf("go_version %q", g)
	}
	if r := syncer(context.Background(), nil, "--help"); !strings.Contains(r.stderr, "version") || !strings.Contains(r.stderr, "resolve") ||
		!strings.Contains(r.stderr, "--source") || !strings.Contains(r.stderr, "check") {
		t.Errorf("--help lacks a command:\n%s", r.stderr)
	}
}

// A schedule that would fire more often than once a second, or @every of
// zero or less, exits 2 naming the setting, before anything runs.
func TestSubSecondScheduleExitsTwo(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 3})
	for _, spec := range []string{"@every 0s", "@every -5s", "@every 500ms"} {
		for _, args := range [][]string{{"config", "check"}, {"run"}, {"once", "mgid-spend"}} {
			r := syncer(context.Background(), mgidEnv(dbURL, simURL, "JOB_MGID_SPEND_SCHEDULE="+spec), args...)
			if r.code != exitBadArgs || !strings.Contains(r.stderr, `JOB_MGID_SPEND_SCHEDULE: "`+spec+`"`) {
				t.Errorf("%v with %q: exit %d\n%s", args, spec, r.code, r.stderr)
			}
		}
	}
	if n := testdb.Count(t, db, "SELECT count(*) FROM syncer.runs"); n != 0 {
		t.Errorf("%d runs recorded", n)
	}
}
