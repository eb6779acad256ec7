package jobs_test

// The provider half of the fault matrix (docs/reliability.md, "Provider
// faults"): each case breaks the provider at the HTTP boundary (the
// simulator's fault modes, a handler in front of it, or a closed port),
// runs the real job against a real Postgres, and asserts what the run
// recorded, that the data already stored is untouched, and that nothing was
// written twice.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/testutil/tcpproxy"
)

// fpRetry keeps the whole matrix fast: three attempts, millisecond backoff.
var fpRetry = providers.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}

func fpMGID(url string, timeout time.Duration, retry providers.Retry) *mgid.Client {
	return mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: timeout}), mgid.WithRetry(retry))
}

// fpFingerprint is every row of the tables a job writes, as one text: equal
// fingerprints mean nothing was lost, changed or added.
func fpFingerprint(t *testing.T, db *store.DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tb := range tables {
		var s string
		if err := testdb.QueryRow(t, db, `SELECT coalesce(string_agg(v::text, E'\n' ORDER BY v::text), '') FROM `+tb+` v`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(tb + "\n" + s + "\n")
	}
	return b.String()
}

// fpRunRecord is what bi.sync_runs says of a run.
func fpRunRecord(t *testing.T, db *store.DB, id int64) (status, class, msg string) {
	t.Helper()
	var c, m *string
	if err := testdb.QueryRow(t, db, `SELECT status, error_class, error FROM bi.sync_runs WHERE run_id = $1`, id).
		Scan(&status, &c, &m); err != nil {
		t.Fatal(err)
	}
	if c != nil {
		class = *c
	}
	if m != nil {
		msg = *m
	}
	return status, class, msg
}

// fpClosedURL is a URL on which nothing listens: connect refused.
func fpClosedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

type fpCase struct {
	name      string
	job       string // "balances" or "spend"
	clients   int    // default 300
	faults    sim.Faults
	wrap      func(http.Handler) http.Handler // a fault in front of the simulator
	closed    bool                            // the faulted run talks to a closed port
	timeout   time.Duration                   // HTTP client timeout (default 2s)
	retry     providers.Retry                 // default fpRetry
	realClock bool                            // the simulator dates Retry-After with the real clock
	want      string                          // run status
	class     []string                        // acceptable error classes of a failed run
	minTook   time.Duration                   // the run waited at least this long (Retry-After honoured)
	msg       string                          // the recorded error contains this
	calls     int                             // requests to the list endpoint in the faulted run (0: not checked)
}

// mgidMalformedJSON answers the clients list with a body that is not JSON
// (a missing comma), 200 and application/json.
func mgidMalformedJSON(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/clients") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"clients":[{"id":5001,"email":"c5001@example.com" "wallet":{"balance":"1.00"}}]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func TestProviderFaultsMGID(t *testing.T) {
	t.Parallel()
	failed, ok := jobs.StatusFailed, jobs.StatusSucceeded
	cases := []fpCase{
		{name: "5xx burst", job: "balances", faults: sim.Faults{Mode: sim.Fault5xx, Burst: 2}, want: ok, calls: 3},
		{name: "5xx persisting", job: "balances", faults: sim.Faults{Mode: sim.Fault5xx}, want: failed, class: []string{"retryable"}},
		{name: "429 Retry-After seconds", job: "balances", faults: sim.Faults{Mode: sim.Fault429, Burst: 1, RetryAfter: time.Second},
			retry: providers.Retry{Attempts: 3, Base: time.Millisecond, Max: 500 * time.Millisecond}, want: ok, minTook: 900 * time.Millisecond},
		{name: "429 Retry-After HTTP date", job: "balances", faults: sim.Faults{Mode: sim.Fault429Date, Burst: 1, RetryAfter: 2 * time.Second},
			retry: providers.Retry{Attempts: 3, Base: time.Millisecond, Max: time.Second}, realClock: true, want: ok, minTook: 900 * time.Millisecond},
		{name: "429 persisting", job: "spend", faults: sim.Faults{Mode: sim.Fault429, RetryAfter: time.Second}, want: failed, class: []string{"rate_limited"}},
		{name: "connect refused", job: "balances", closed: true, want: failed, class: []string{"retryable"}},
		{name: "timeout mid-body", job: "balances", faults: sim.Faults{Mode: sim.FaultStall, CutAfter: 10_000}, timeout: 300 * time.Millisecond,
			want: failed, class: []string{"timeout"}, msg: "reading body"},
		{name: "connection reset mid-body once", job: "balances", clients: 3000, faults: sim.Faults{Mode: sim.FaultReset, Burst: 1, CutAfter: 200_000}, want: ok, calls: 2},
		{name: "connection reset mid-body persisting", job: "balances", faults: sim.Faults{Mode: sim.FaultReset, CutAfter: 10_000}, want: failed, class: []string{"retryable"}},
		{name: "truncated body once", job: "balances", clients: 3000, faults: sim.Faults{Mode: sim.FaultTruncate, Burst: 1, CutAfter: 200_000}, want: ok, calls: 2},
		{name: "truncated body persisting", job: "balances", faults: sim.Faults{Mode: sim.FaultTruncate, CutAfter: 10_000}, want: failed, class: []string{"malformed"}, msg: "stops short", calls: 3},
		{name: "truncated spend report once", job: "spend", faults: sim.Faults{Mode: sim.FaultTruncate, Burst: 1, CutAfter: 3000}, want: ok, calls: 4},
		{name: "slow drip", job: "balances", faults: sim.Faults{Mode: sim.FaultDrip, DripBytes: 64, DripEvery: 20 * time.Millisecond},
			timeout: 300 * time.Millisecond, want: failed, class: []string{"timeout"}, msg: "reading body"},
		{name: "malformed JSON", job: "balances", wrap: mgidMalformedJSON, want: failed, class: []string{"malformed"}, msg: "not JSON"},
		{name: "HTML page with 200 burst", job: "spend", faults: sim.Faults{Mode: sim.FaultHTML200, Burst: 2}, want: ok, calls: 5},
		{name: "HTML page with 200 persisting", job: "balances", faults: sim.Faults{Mode: sim.FaultHTML200}, want: failed, class: []string{"malformed"}, msg: "not JSON", calls: 3},
		{name: "NaN amount", job: "balances", faults: sim.Faults{Mode: sim.FaultNaN}, want: failed, class: []string{"malformed"}, msg: "NaN"},
		{name: "NaN spend", job: "spend", faults: sim.Faults{Mode: sim.FaultNaN}, want: failed, class: []string{"malformed"}, msg: "NaN"},
		{name: "overflowing amount", job: "balances", faults: sim.Faults{Mode: sim.FaultOverflow}, want: failed, class: []string{"malformed"}, msg: "too large"},
		{name: "overflowing spend", job: "spend", faults: sim.Faults{Mode: sim.FaultOverflow}, want: failed, class: []string{"malformed"}, msg: "too large"},
		{name: "huge field", job: "balances", faults: sim.Faults{Mode: sim.FaultHugeField, HugeField: 4 << 20}, want: failed, class: []string{"malformed"}, msg: "over the limit", calls: 1},
		{name: "duplicate client ids", job: "balances", faults: sim.Faults{Mode: sim.FaultDupIDs}, want: failed, class: []string{"malformed"}, msg: "twice", calls: 1},
		{name: "duplicate client/day in spend", job: "spend", faults: sim.Faults{Mode: sim.FaultDupIDs}, want: failed, class: []string{"malformed"}, msg: "twice"},
		{name: "token expiry mid-run", job: "balances", faults: sim.Faults{Mode: sim.FaultTokenOnce}, want: ok},
		{name: "token endpoint hanging", job: "balances", faults: sim.Faults{Mode: sim.FaultTokenHang}, timeout: 300 * time.Millisecond,
			want: failed, class: []string{"timeout"}, msg: "login"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fpRunMGIDCase(t, tc)
		})
	}
}

func fpRunMGIDCase(t *testing.T, tc fpCase) {
	ctx := context.Background()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	now := clk.Now
	if tc.realClock {
		now = time.Now
	}
	clients := tc.clients
	if clients == 0 {
		clients = 300
	}
	s, url := startSim(t, sim.Options{Clients: clients, Now: now}, tc.wrap)
	timeout, retry := tc.timeout, tc.retry
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	if retry.Attempts == 0 {
		retry = fpRetry
	}
	good := fpMGID(url, 2*time.Second, fpRetry)
	faultURL := url
	if tc.closed {
		faultURL = fpClosedURL(t)
	}
	faulty := fpMGID(faultURL, timeout, retry)
	var job func(*mgid.Client) jobs.Job
	var tables []string
	switch tc.job {
	case "balances":
		job = func(c *mgid.Client) jobs.Job {
			return &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{c}, DB: db, Now: now}
		}
		tables = []string{"syncer.mgid_agency_balance", "bi.mgid_client_balance_history"}
	case "spend":
		job = func(c *mgid.Client) jobs.Job {
			return &jobs.MGIDSpend{Agencies: []jobs.MGIDSpendSource{c}, DB: db, LookbackDays: 2, Now: now}
		}
		tables = []string{"syncer.mgid_client_spend_daily", "syncer.mgid_client_spend_revision"}
	}
	runner := newRunner(db, "a", now)
	opts := jobs.Options{Trigger: jobs.TriggerManual}
	// A malformed-JSON wrapper breaks every answer: the baseline is empty then.
	baseline := runner.Execute(ctx, job(good), opts)
	if tc.wrap == nil && baseline.Status != jobs.StatusSucceeded {
		t.Fatalf("baseline run: %+v", baseline)
	}
	before := fpFingerprint(t, db, tables...)
	beforeRows := testdb.Count(t, db, `SELECT count(*) FROM `+tables[0])

	clk.Advance(15 * time.Minute)
	endpoint := sim.EndpointMGIDClients
	if tc.job == "spend" {
		endpoint = sim.EndpointMGIDSpend
	}
	calls0 := s.Requests(endpoint)
	f := tc.faults
	if f.Mode != sim.FaultTokenHang && f.Mode != sim.FaultTokenOnce {
		f.Endpoint = endpoint // the list, not the agency answer before it
	}
	s.SetFaults(f)
	start := time.Now()
	res := runner.Execute(ctx, job(faulty), opts)
	took := time.Since(start)
	if calls := s.Requests(endpoint) - calls0; tc.calls != 0 && calls != tc.calls {
		t.Errorf("%d requests to %s, want %d", calls, endpoint, tc.calls)
	}
	status, class, msg := fpRunRecord(t, db, res.RunID)
	if status != tc.want || res.Status != tc.want {
		t.Fatalf("run %s (recorded %s, class %q): %v; want %s", res.Status, status, class, res.Err, tc.want)
	}
	if tc.want == jobs.StatusFailed {
		if !contains(tc.class, class) {
			t.Errorf("error class %q (%s), want one of %v", class, msg, tc.class)
		}
		if tc.msg != "" && !strings.Contains(msg, tc.msg) {
			t.Errorf("recorded error %q does not say %q", msg, tc.msg)
		}
		if after := fpFingerprint(t, db, tables...); after != before {
			t.Error("a failed run changed the stored data")
		}
	} else {
		fpAssertSucceeded(t, db, tc.job, before, tables, beforeRows, int64(clients))
	}
	if took < tc.minTook {
		t.Errorf("run took %v, want at least %v (Retry-After honoured)", took, tc.minTook)
	}
	if took > 20*time.Second {
		t.Errorf("run took %v: a fault must not stall a run", took)
	}
	// The next run after the fault is cleared succeeds: nothing was left half-done.
	s.SetFaults(sim.Faults{})
	clk.Advance(15 * time.Minute)
	if tc.wrap == nil {
		if res := runner.Execute(ctx, job(good), opts); res.Status != jobs.StatusSucceeded {
			t.Errorf("run after the fault: %+v", res)
		}
	}
}

// fpAssertSucceeded: the faulted run wrote one whole snapshot (or the same
// spend days) with no duplicate, and the earlier data is still there.
func fpAssertSucceeded(t *testing.T, db *store.DB, job, before string, tables []string, beforeRows, clients int64) {
	t.Helper()
	switch job {
	case "balances":
		if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`); n != 2*clients {
			t.Errorf("%d client rows after two snapshots of %d clients", n, clients)
		}
		if n := testdb.Count(t, db, `SELECT count(*) FROM (SELECT DISTINCT agency_id, client_id, captured_at FROM bi.mgid_client_balance_history) d`); n != 2*clients {
			t.Errorf("%d distinct client snapshots, want %d: duplicates", n, 2*clients)
		}
		// The first snapshot is still whole: every row of it is in the table.
		first := strings.Split(strings.SplitN(before, "bi.mgid_client_balance_history\n", 2)[1], "\n")
		now := fpFingerprint(t, db, tables...)
		for _, row := range first {
			if row != "" && !strings.Contains(now, row) {
				t.Fatalf("row of the earlier snapshot lost: %s", row)
			}
		}
	case "spend":
		n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_client_spend_daily`)
		d := testdb.Count(t, db, `SELECT count(*) FROM (SELECT DISTINCT agency_id, client_id, spend_date FROM syncer.mgid_client_spend_daily) d`)
		if n != d || n == 0 {
			t.Errorf("%d spend rows, %d distinct: duplicates or nothing", n, d)
		}
		if n < beforeRows {
			t.Errorf("%d spend rows, %d before the fault: rows lost", n, beforeRows)
		}
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// The same faults from a TCP proxy between syncer and the provider: a
// connection reset in the middle of the clients list (the list is asked for
// again and the snapshot is whole), and a network that swallows packets
// (the run fails within the client's timeout; nothing is written).
func TestProviderFaultsThroughTCPProxy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	streaming := make(chan struct{}, 1)
	s, url := startSim(t, sim.Options{Clients: 300, Now: clk.Now}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/clients") {
				select {
				case streaming <- struct{}{}:
				default:
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	p := tcpproxy.Start(t, strings.TrimPrefix(url, "http://"))
	client := fpMGID("http://"+p.Addr(), time.Second, fpRetry)
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{client}, DB: db, Now: clk.Now}
	runner := newRunner(db, "a", clk.Now)
	opts := jobs.Options{Trigger: jobs.TriggerManual}
	if res := runner.Execute(ctx, job, opts); res.Status != jobs.StatusSucceeded {
		t.Fatalf("baseline: %+v", res)
	}
	testutil.Receive(t, streaming, 10*time.Second, "the baseline's clients request")

	// Reset mid-body: the first clients answer drips, and the proxy resets
	// the connection while it does.
	clk.Advance(15 * time.Minute)
	s.SetFaults(sim.Faults{Mode: sim.FaultDrip, Burst: 1, Endpoint: sim.EndpointMGIDClients, DripBytes: 64, DripEvery: 10 * time.Millisecond})
	go func() {
		// The run below asserts what happens when this reset comes; a run
		// that never asks for clients fails there, and this gives up.
		select {
		case <-streaming:
		case <-time.After(30 * time.Second):
			return
		}
		time.Sleep(100 * time.Millisecond)
		p.ResetAll()
	}()
	calls := s.Requests(sim.EndpointMGIDClients)
	res := runner.Execute(ctx, job, opts)
	if res.Status != jobs.StatusSucceeded {
		t.Fatalf("reset mid-body: %+v", res)
	}
	if n := s.Requests(sim.EndpointMGIDClients) - calls; n != 2 {
		t.Errorf("%d clients requests, want 2 (the cut one and its retry)", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM (SELECT DISTINCT client_id, captured_at FROM bi.mgid_client_balance_history) d`); n != 600 ||
		testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history`) != 600 {
		t.Errorf("%d distinct client rows after two snapshots of 300", n)
	}

	// Packets swallowed: the run fails within the client's timeout.
	before := fpFingerprint(t, db, "syncer.mgid_agency_balance", "bi.mgid_client_balance_history")
	clk.Advance(15 * time.Minute)
	s.SetFaults(sim.Faults{})
	p.Blackhole()
	start := time.Now()
	res = runner.Execute(ctx, job, opts)
	took := time.Since(start)
	_, class, msg := fpRunRecord(t, db, res.RunID)
	if res.Status != jobs.StatusFailed || class != "timeout" {
		t.Errorf("blackholed: %s class %q (%s), want failed timeout", res.Status, class, msg)
	}
	if took > 3*time.Second+time.Second {
		t.Errorf("blackholed run took %v with a 1 s timeout and 3 attempts", took)
	}
	if fpFingerprint(t, db, "syncer.mgid_agency_balance", "bi.mgid_client_balance_history") != before {
		t.Error("the blackholed run changed the stored data")
	}
	p.Restore()
	clk.Advance(15 * time.Minute)
	if res := runner.Execute(ctx, job, opts); res.Status != jobs.StatusSucceeded {
		t.Errorf("after restore: %+v", res)
	}
}

// TestAgencyAnswerFailsWhileClientsStream: the agency's balances are asked
// for while the clients list streams (one round trip less); when that answer
// fails, the list is abandoned, the run fails with the agency answer's error,
// and nothing of the snapshot is stored.
func TestAgencyAnswerFailsWhileClientsStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	s, url := startSim(t, sim.Options{Clients: 20_000, Now: clk.Now}, nil)
	s.SetFaults(sim.Faults{Mode: sim.Fault5xx, Endpoint: sim.EndpointMGIDAgency})
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{fpMGID(url, 2*time.Second, fpRetry)}, DB: db, Now: clk.Now}
	res := newRunner(db, "a", clk.Now).Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual})
	status, class, msg := fpRunRecord(t, db, res.RunID)
	if status != jobs.StatusFailed || class != "retryable" || !strings.Contains(msg, "agency") {
		t.Fatalf("run %s, class %q, message %q; want failed, retryable, naming the agency answer", status, class, msg)
	}
	if s.Requests(sim.EndpointMGIDClients) == 0 {
		t.Error("the clients list was not asked for alongside the agency answer")
	}
	for _, table := range []string{"syncer.mgid_agency_balance", "bi.mgid_client_balance_history"} {
		if n := testdb.Count(t, db, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s: %d rows after a failed snapshot", table, n)
		}
	}
}
