package observe_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dtomodel "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"syncer/internal/money"
	"syncer/internal/observe"
	"syncer/internal/providers"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// fixture fills a test database with what the page and the collector read:
// a failed run, a succeeded observed run, recorded schedules, an unknown
// transfer and a tracked target.
func fixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.SaveJobSchedules(ctx, "test", []store.JobSchedule{
		{Job: "mgid-balances", Schedule: "@every 15m", Enabled: true, TickInterval: 15 * time.Minute, ExpectedInterval: 15 * time.Minute},
		{Job: "mgid-spend", Schedule: "0 * * * *", Enabled: true, TickInterval: time.Hour, ExpectedInterval: time.Hour},
	}); err != nil {
		t.Fatal(err)
	}
	run := func(job, status, class string, observed bool) {
		id, err := db.StartRun(ctx, store.RunStart{Job: job, Trigger: "manual", Replica: "test"})
		if err != nil {
			t.Fatal(err)
		}
		f := store.RunFinish{Status: status, ErrorClass: class, Observed: observed, RowsWritten: 7}
		if class != "" {
			f.ErrorMessage = "mgid agency: HTTP 500: Internal server error"
		}
		if err := db.FinishRun(ctx, id, f); err != nil {
			t.Fatal(err)
		}
	}
	run("mgid-spend", "succeeded", "", true)
	run("mgid-balances", "failed", "retryable", false)
	sent := time.Now().Add(-time.Hour)
	if _, err := db.InsertTransfer(ctx, store.Transfer{
		AgencyID: 1001, ClientID: 5001, Amount: money.MustParse("150.00"), AccountType: "personal",
		Origin: store.OriginManual, RequestedBy: "test", Status: store.TransferUnknown,
		CreatedAt: sent, SentAt: &sent,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertTargets(ctx, store.TrackedMawthoq, []store.TargetInput{
		{Key: "tiktok:1000000008", Params: json.RawMessage(`{"platform":"tiktok","account":"1000000008"}`)},
	}, false); err != nil {
		t.Fatal(err)
	}
}

// dto is one metric family as scraped.
type dto struct{ metrics []*dtomodel.Metric }

func scrape(t *testing.T, url string) map[string]*dto {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	out := map[string]*dto{}
	for name, f := range fams {
		out[name] = &dto{f.GetMetric()}
	}
	return out
}

// value returns the sample of a family whose labels include want, or -1.
func value(fams map[string]*dto, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.metrics {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

type server struct {
	url     string
	metrics *observe.Metrics
	health  *observe.Health
}

func start(t *testing.T, db *store.DB, jobs []observe.JobSpec) server {
	t.Helper()
	m := observe.NewMetrics(observe.MetricsOptions{TrackedJobs: []string{"mawthoq-recheck"}})
	m.Registry.MustRegister(&observe.DBCollector{Store: db, Pool: db.Stat}, &observe.OperatorCollector{Store: db, Jobs: jobs,
		// The machine running the tests may be loaded: a read that is slow
		// here must not read as a missing metric.
		Timeout: 20 * time.Second})
	want, err := store.BinaryMigrationVersion()
	if err != nil {
		t.Fatal(err)
	}
	h := &observe.Health{DB: db, WantVersion: want}
	h.Beat(time.Now())
	p := &observe.Page{Store: db, Health: h, Jobs: jobs}
	srv := httptest.NewServer(observe.Handler(m, h, p))
	t.Cleanup(srv.Close)
	return server{srv.URL, m, h}
}

// Every metric the issue asks for is exported with the value that was fed
// in: run outcomes from the runner hook, requests, retries and 429 waits
// from a real providers.Do against an httptest provider, and the
// database's state read at scrape time.
func TestMetrics(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	fixture(t, db)
	s := start(t, db, nil)

	s.metrics.RunFinished("mgid-spend", "schedule", store.RunFinish{Status: "succeeded", RowsWritten: 42}, 1500*time.Millisecond)
	s.metrics.RunFinished("mgid-balances", "schedule", store.RunFinish{Status: "failed", ErrorClass: "retryable"}, 2*time.Second)
	s.metrics.RunFinished("mawthoq-recheck", "schedule", store.RunFinish{Status: "succeeded", RowsWritten: 3,
		Detail: map[string]int64{"found": 2, "provider_error": 1}}, time.Second)

	// A provider that answers 429, then 500, then 200: three attempts, two
	// retries, one of them a rate-limit wait.
	var n int
	prov := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		switch n {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			io.WriteString(w, "{}")
		}
	}))
	defer prov.Close()
	m := observe.NewMetrics(observe.MetricsOptions{Providers: map[string]string{prov.URL: "mgid"}})
	check := func(resp *http.Response) error {
		if resp.StatusCode == 200 {
			return nil
		}
		return &providers.Error{Provider: "mgid", Op: "test", Status: resp.StatusCode, Kind: providers.StatusKind(resp.StatusCode)}
	}
	err := providers.Do(context.Background(), providers.Observed(prov.Client(), m), providers.Retry{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond},
		func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, prov.URL+"/v1/agencies/1001/clients?limit=5", nil)
		}, check, func(*http.Response) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	provSrv := httptest.NewServer(observe.Handler(m, &observe.Health{DB: db}, &observe.Page{Store: db}))
	defer provSrv.Close()
	pf := scrape(t, provSrv.URL)
	ep := map[string]string{"provider": "mgid", "endpoint": "GET /v1/agencies/{id}/clients"}
	for _, c := range []struct {
		name  string
		class string
		want  float64
	}{
		{"syncer_provider_requests_total", "4xx", 1},
		{"syncer_provider_requests_total", "5xx", 1},
		{"syncer_provider_requests_total", "2xx", 1},
	} {
		if got := value(pf, c.name, merge(ep, map[string]string{"status_class": c.class})); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.class, got, c.want)
		}
	}
	if got := value(pf, "syncer_provider_retries_total", merge(ep, map[string]string{"kind": "rate_limited"})); got != 1 {
		t.Errorf("retries after 429 = %v, want 1", got)
	}
	if got := value(pf, "syncer_provider_retries_total", merge(ep, map[string]string{"kind": "retryable"})); got != 1 {
		t.Errorf("retries after 500 = %v, want 1", got)
	}
	if got := value(pf, "syncer_provider_rate_limit_waits_total", ep); got != 1 {
		t.Errorf("rate-limit waits = %v, want 1", got)
	}

	f := scrape(t, s.url)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"syncer_job_runs_total", map[string]string{"job_name": "mgid-balances", "status": "failed", "error_class": "retryable"}, 1},
		{"syncer_job_runs_total", map[string]string{"job_name": "mgid-spend", "status": "succeeded"}, 1},
		{"syncer_job_run_duration_seconds", map[string]string{"job_name": "mgid-spend"}, 1},
		{"syncer_job_rows_written_total", map[string]string{"job_name": "mgid-spend"}, 42},
		{"syncer_tracked_checks_total", map[string]string{"job_name": "mawthoq-recheck", "outcome": "provider_error"}, 1},
		{"syncer_tracked_checks_total", map[string]string{"job_name": "mawthoq-recheck", "outcome": "found"}, 2},
		{"syncer_transfers_open", map[string]string{"status": "unknown"}, 1},
		{"syncer_transfers_open", map[string]string{"status": "in_flight"}, 0},
		{"syncer_tracked_targets", map[string]string{"kind": "mawthoq", "outcome": "unchecked"}, 1},
		{"syncer_job_stale", map[string]string{"job_name": "mgid-balances"}, 1}, // never observed data
		{"syncer_job_stale", map[string]string{"job_name": "mgid-spend"}, 0},
		{"syncer_job_last_run_failed", map[string]string{"job_name": "mgid-balances"}, 1},
		{"syncer_job_expected_interval_seconds", map[string]string{"job_name": "mgid-balances"}, 900},
		{"syncer_db_up", nil, 1},
		{"syncer_db_pool_connections_max", nil, 8},
		{"syncer_build_info", nil, 1},
	}
	for _, c := range checks {
		if got := value(f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(f, "syncer_job_staleness_seconds", map[string]string{"job_name": "mgid-spend"}); got < 0 || got > 60 {
		t.Errorf("staleness of mgid-spend = %v s, want a few seconds", got)
	}
	if got := value(f, "syncer_job_last_success_timestamp_seconds", map[string]string{"job_name": "mgid-spend"}); time.Since(time.Unix(int64(got), 0)) > time.Minute {
		t.Errorf("last success of mgid-spend = %v, want about now", got)
	}
	for _, name := range []string{"syncer_db_pool_connections_in_use", "syncer_db_pool_acquire_waits_total", "go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := f[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
}

// The page says unhealthy and why, lists every configured job, shows the
// failed run with its class, the transfer that needs a person, the tracked
// outcomes and the coverage legend; and loads nothing from elsewhere.
func TestStatusPage(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	fixture(t, db)
	jobs := []observe.JobSpec{
		{Name: "mgid-balances", Schedule: "@every 15m", Enabled: true},
		{Name: "mgid-spend", Schedule: "0 * * * *", Enabled: true},
		{Name: "mgid-topup", Schedule: "@every 15m"},
	}
	s := start(t, db, jobs)
	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	html := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`data-healthy="false"`, "<h1>Unhealthy</h1>",
		"Job mgid-balances: the last run failed (retryable).",
		`data-job="mgid-balances" data-outcome="failed"`,
		`data-job="mgid-spend" data-outcome="succeeded"`,
		`data-job="mgid-topup" data-outcome="disabled"`,
		"Source mgid-balances has never brought data.",
		`data-source="mgid-spend" data-state="fresh"`,
		`class="unknown-transfer"`, "150.00",
		"run syncer mgid transfers reconcile once MGID answers",
		`data-kind="mawthoq"`, "unchecked",
		"missing", "restated", "provisional", "observed",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(html, banned) {
			t.Errorf("status page holds %q: it must load nothing external and run no script", banned)
		}
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
