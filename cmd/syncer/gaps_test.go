package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/sim"
	"syncer/internal/testdb"
)

// gapRows is the table `syncer gaps` printed, one string per row.
func gapRows(out string) []string {
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] != "SOURCE" {
			rows = append(rows, strings.Join(f, " "))
		}
	}
	return rows
}

// A history with a hole before the lookback window and one inside an old,
// checkpointed backfill: gaps lists both, merged; backfill --gaps runs
// exactly those days, and then nothing is missing.
func TestGapsAndBackfillGapsFillExactlyTheMissingDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 5})
	environ := mgidEnv(dbURL, simURL, "MGID_LOOKBACK_DAYS=1", "SYNCER_LOG_LEVEL=warn")
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	ds := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }

	must := func(args ...string) result {
		t.Helper()
		r := syncer(ctx, environ, args...)
		if r.code != exitOK {
			t.Fatalf("syncer %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r
	}
	must("backfill", "mgid-spend", "--from", ds(-12), "--to", ds(-9))
	must("once", "mgid-spend") // today and yesterday
	// A day of the old backfill is lost; its checkpoint stays.
	testdb.Exec(t, db, `
		WITH f AS (DELETE FROM syncer.mgid_spend_fetches WHERE spend_date = $1)
		DELETE FROM syncer.mgid_client_spend_daily WHERE spend_date = $1`, ds(-11))

	r := must("gaps")
	want := []string{
		fmt.Sprintf("mgid-spend %d %s %s 1", sim.DemoAgencyID, ds(-11), ds(-11)),
		fmt.Sprintf("mgid-spend %d %s %s 7", sim.DemoAgencyID, ds(-8), ds(-2)),
	}
	if got := gapRows(r.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("syncer gaps:\n%s\nwant rows %q", r.stdout, want)
	}
	if !strings.Contains(r.stdout, "syncer backfill mgid-spend --gaps") {
		t.Errorf("gaps does not say how to fill them:\n%s", r.stdout)
	}
	r = must("gaps", "--from", ds(-5), "--to", ds(-3))
	if got := gapRows(r.stdout); fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("mgid-spend %d %s %s 3", sim.DemoAgencyID, ds(-5), ds(-3))}) {
		t.Errorf("syncer gaps --from --to:\n%s", r.stdout)
	}

	var before int64
	if err := testdb.QueryRow(t, db, `SELECT max(id) FROM syncer.runs`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	must("backfill", "mgid-spend", "--gaps")
	rows, err := testdb.Query(t, db, `
		SELECT window_date::text || ' ' || status FROM syncer.runs
		WHERE id > $1 ORDER BY window_date`, before)
	if err != nil {
		t.Fatal(err)
	}
	ran, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	wantRan := []string{ds(-11) + " succeeded"}
	for n := -8; n <= -2; n++ {
		wantRan = append(wantRan, ds(n)+" succeeded")
	}
	if fmt.Sprint(ran) != fmt.Sprint(wantRan) {
		t.Errorf("backfill --gaps ran:\n %v\nwant exactly the missing days:\n %v", ran, wantRan)
	}
	if r := must("gaps"); r.stdout != "no missing days\n" {
		t.Errorf("after backfill --gaps, gaps says:\n%s", r.stdout)
	}
	if r := must("backfill", "mgid-spend", "--gaps"); !strings.Contains(r.stdout, "no missing days") {
		t.Errorf("a second backfill --gaps: %s", r.stdout)
	}
	var states string
	if err := testdb.QueryRow(t, db, `
		SELECT string_agg(DISTINCT state, ',' ORDER BY state) FROM bi.coverage
		WHERE source = 'mgid-spend' AND day < $1`, ds(-1)).Scan(&states); err != nil {
		t.Fatal(err)
	}
	if states != "observed" {
		t.Errorf("closed days after filling are %q, want observed", states)
	}
}

// Bad dates and contradictions exit 2 before anything is read or written.
func TestGapsBadInput(t *testing.T) {
	t.Parallel()
	environ := []string{"DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no such date", []string{"gaps", "--from", "2026-02-30"}},
		{"not a date", []string{"gaps", "--to", "yesterday"}},
		{"reversed range", []string{"gaps", "--from", "2026-11-10", "--to", "2026-11-01"}},
		{"unknown source", []string{"gaps", "--source", "mgid-topup"}},
		{"stray argument", []string{"gaps", "extra"}},
		{"backfill US date", []string{"backfill", "mgid-spend", "--gaps", "--from", "11/01/2026"}},
		{"backfill without range", []string{"backfill", "mgid-spend"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := syncer(context.Background(), environ, tc.args...)
			if r.code != exitBadArgs || !strings.Contains(r.stderr, "syncer ") {
				t.Errorf("syncer %v: exit %d, want 2; stderr %q", tc.args, r.code, r.stderr)
			}
			golden(t, normalize(render(tc.args, r)))
		})
	}
}

// A newcomer creates the schema with nothing but DATABASE_URL: no provider
// credentials are needed to migrate or to look at the views and gaps.
func TestMigrateNeedsNoProviderCredentials(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	environ := []string{"DATABASE_URL=" + dbURL}
	for _, args := range [][]string{{"migrate", "down"}, {"migrate", "up"}, {"migrate", "status"}, {"views"}, {"gaps"}} {
		if r := syncer(context.Background(), environ, args...); r.code != exitOK {
			t.Errorf("syncer %v with only DATABASE_URL: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := syncer(context.Background(), nil, "migrate", "up"); r.code != exitBadArgs || !strings.Contains(r.stderr, "DATABASE_URL") {
		t.Errorf("migrate without DATABASE_URL: exit %d %q", r.code, r.stderr)
	}
}

// syncer jobs shows when each job last read provider data and marks the
// stale ones: an enabled job that never ran is stale, a disabled one is not.
func TestJobsShowsLastDataAndStale(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 3})
	environ := mgidEnv(dbURL, simURL, "MGID_LOOKBACK_DAYS=0", "SYNCER_LOG_LEVEL=warn")
	if r := syncer(context.Background(), environ, "once", "mgid-spend"); r.code != exitOK {
		t.Fatalf("once: %d %s", r.code, r.stderr)
	}
	r := syncer(context.Background(), environ, "jobs")
	if r.code != exitOK {
		t.Fatalf("jobs: %d %s", r.code, r.stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for job, want := range map[string]string{
		"mgid-spend":    " ago ",
		"mgid-balances": " never STALE",
		"mgid-topup":    " never ",
	} {
		if !strings.Contains(lines[job]+" ", want) {
			t.Errorf("jobs line of %s lacks %q:\n%s", job, want, r.stdout)
		}
	}
	if strings.Contains(lines["mgid-spend"], "STALE") || strings.Contains(lines["mgid-topup"], "STALE") {
		t.Errorf("a fresh or disabled job is marked stale:\n%s", r.stdout)
	}
}
