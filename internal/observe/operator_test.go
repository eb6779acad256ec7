package observe_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/observe"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

func finishRun(t *testing.T, db *store.DB, job, trigger, status, class string) {
	t.Helper()
	ctx := context.Background()
	id, err := db.StartRun(ctx, store.RunStart{Job: job, Trigger: trigger, Replica: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f := store.RunFinish{Status: status, ErrorClass: class, Observed: status == "succeeded"}
	if class != "" {
		f.ErrorMessage = "mgid agency: HTTP 500"
	}
	if err := db.FinishRun(ctx, id, f); err != nil {
		t.Fatal(err)
	}
}

// A disabled job reads "disabled" even after a manual run (its last run
// muted beside it); a failing job says since when and how many runs in a
// row, with its last outcomes as a strip; tracked targets whose job is
// disabled make an amber warning naming the job. /metrics says the same:
// syncer_job_enabled, the streak, and the coverage gauge.
func TestStatusPageAndMetricsTellDisabledAndFailing(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	fixture(t, db) // mgid-balances failed once, a mawthoq target, mgid-spend succeeded
	finishRun(t, db, "mgid-balances", "schedule", "failed", "retryable")
	finishRun(t, db, "mgid-balances", "schedule", "failed", "retryable")
	finishRun(t, db, "mgid-topup", "manual", "succeeded", "")
	jobs := []observe.JobSpec{
		{Name: "mgid-balances", Schedule: "@every 15m", Enabled: true},
		{Name: "mgid-spend", Schedule: "0 * * * *", Enabled: true},
		{Name: "mgid-topup", Schedule: "@every 15m"},
		{Name: "mawthoq-recheck", Schedule: "*/10 * * * *"},
	}
	s := start(t, db, jobs)
	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(b)
	for _, want := range []string{
		`data-job="mgid-topup" data-outcome="disabled"`,
		`<span class="muted last-outcome">last run succeeded</span>`,
		`<span class="failing">failing since `,
		`, 3 runs in a row</span>`,
		`aria-label="mgid-balances last outcomes, oldest first"`,
		"1 mawthoq target tracked, but mawthoq-recheck is disabled: nothing checks them (set JOB_MAWTHOQ_RECHECK_ENABLED=true).",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(html, `data-job="mgid-topup" data-outcome="succeeded"`) {
		t.Error("a disabled job shows its manual run's outcome as its own")
	}
	// The strip of mgid-balances: three failed runs, newest on the right.
	row := html[strings.Index(html, `data-job="mgid-balances"`):]
	row = row[:strings.Index(row, "</tr>")]
	if n := strings.Count(row, `class="s-bad"`); n != 3 {
		t.Errorf("mgid-balances strip has %d failed cells, want 3:\n%s", n, row)
	}

	f := scrape(t, s.url)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"syncer_job_enabled", map[string]string{"job_name": "mgid-balances"}, 1},
		{"syncer_job_enabled", map[string]string{"job_name": "mgid-topup"}, 0},
		{"syncer_job_enabled", map[string]string{"job_name": "mawthoq-recheck"}, 0},
		{"syncer_job_consecutive_failures", map[string]string{"job_name": "mgid-balances"}, 3},
		{"syncer_job_consecutive_failures", map[string]string{"job_name": "mgid-spend"}, 0},
		{"syncer_operator_read_up", nil, 1},
	} {
		if got := value(f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	since := value(f, "syncer_job_failing_since_timestamp_seconds", map[string]string{"job_name": "mgid-balances"})
	if d := time.Since(time.Unix(int64(since), 0)); d < 0 || d > time.Minute {
		t.Errorf("failing since = %v (%s ago), want about now", since, d)
	}
	if got := value(f, "syncer_job_failing_since_timestamp_seconds", map[string]string{"job_name": "mgid-spend"}); got != -1 {
		t.Errorf("mgid-spend is not failing, yet failing_since = %v", got)
	}
}

// Missing coverage days are counted per source and agency over 7 and 60 days.
func TestCoverageMissingDaysMetric(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	// Spend fetched 10 days ago and today: 9 days between are missing, 6 of
	// them within the last 7 days.
	today := time.Now().UTC()
	for _, d := range []time.Time{today.AddDate(0, 0, -10), today} {
		testdb.Exec(t, db, `INSERT INTO syncer.mgid_spend_fetches (agency_id, spend_date, first_fetched_at, last_fetched_at, run_id) VALUES (1001, $1::date, now(), now(), 1)`,
			d.Format(time.DateOnly))
	}
	s := start(t, db, nil)
	f := scrape(t, s.url)
	if up := value(f, "syncer_operator_read_up", nil); up != 1 {
		t.Fatalf("syncer_operator_read_up = %v", up)
	}
	for window, want := range map[string]float64{"7d": 6, "60d": 9} {
		l := map[string]string{"source": "mgid-spend", "agency_id": "1001", "window": window}
		if got := value(f, "syncer_coverage_missing_days", l); got != want {
			t.Errorf("syncer_coverage_missing_days%v = %v, want %v", l, got, want)
		}
	}
}
