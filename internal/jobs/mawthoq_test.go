package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/tracked"
)

// trViewText is every row of a view as JSON text, to search for what must
// not be there.
func trViewText(t *testing.T, db *store.DB, relation string) string {
	t.Helper()
	var s string
	if err := testdb.QueryRow(t, db, `SELECT coalesce(string_agg(row_to_json(v)::text, E'\n'), '') FROM `+relation+` v`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Each answer Gmedia can give (bodies recorded from the spec) is stored as
// the outcome it means, with its status, code and licence.
func TestMawthoqOutcomesStoredFromRecordedBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		file    string // gmedia testdata, or
		body    string // a body; %s is the account
		outcome string
		lic     string // status/code/license as stored
		code    string
		message string
	}{
		{"active licence", 200, "check_found.json", "", "found", "active/M-123456", "", ""},
		{"expired licence", 200, "check_expired.json", "", "found", "expired/M-654321", "", ""},
		{"no data (404, statusCode 4000)", 404, "error_404.json", "", "not_found", "/", "4000", "No data found لا توجد بيانات"},
		{"invalid data (400)", 400, "error_400.json", "", "invalid", "/", "400", "Invalid data or not found"},
		{"gmedia failure (500)", 500, "error_500.json", "", "provider_error", "/", "500", "Please contact Gmedia"},
		{"not gmedia's 404", 404, "route_404.json", "", "provider_error", "/", "404", "GMEDIA_CHECK_URL"},
		{"message echoing the account", 400, "", `{"statusCode":400,"message":"account %s is not registered"}`, "invalid", "/", "400", "account ******"},
	}
	answers := map[string]int{} // account -> case
	for i := range cases {
		answers[trAccount(i)] = i
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"tok","expires_in":3600,"token_type":"Bearer"}`)
	})
	mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Platform, Account string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		c := cases[answers[req.Account]]
		body := []byte(fmt.Sprintf(c.body, req.Account))
		if c.file != "" {
			var err error
			if body, err = os.ReadFile(filepath.Join("..", "providers", "gmedia", "testdata", c.file)); err != nil {
				t.Error(err)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.status)
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	db := testdb.New(t)
	ids := trSeedMawthoq(t, db, "instagram", len(cases))
	job := &jobs.MawthoqRecheck{DB: db, Settings: trSettings(), Replica: "r",
		Gmedia: trGmediaAt(srv.URL+"/token", srv.URL+"/check", "secret")}
	run := trRun(1, nil)
	if err := job.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		var outcome, lic, code, msg string
		var httpStatus int
		err := testdb.QueryRow(t, db, `
			SELECT outcome, coalesce(status, '') || '/' || coalesce(license_number, ''), coalesce(error_code, ''),
			       coalesce(message, ''), http_status
			FROM bi.mawthoq_status_history WHERE target_id = $1`, ids[i]).Scan(&outcome, &lic, &code, &msg, &httpStatus)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if outcome != c.outcome || lic != c.lic || code != c.code || httpStatus != c.status || !strings.Contains(msg, c.message) {
			t.Errorf("%s: stored %s %q code %q http %d %q; want %s %q code %q http %d %q",
				c.name, outcome, lic, code, httpStatus, msg, c.outcome, c.lic, c.code, c.status, c.message)
		}
	}
	want := map[string]int64{"found": 2, "not_found": 1, "invalid": 2, "provider_error": 2}
	if got := run.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("run counts %v, want %v", got, want)
	}
	// The raw payload is kept internally; the bi views show no full number.
	var payload string
	if err := testdb.QueryRow(t, db, `SELECT detail::text FROM syncer.tracked_status_history WHERE target_id = $1`, ids[0]).Scan(&payload); err != nil || !strings.Contains(payload, `"licenseNumber": "M-123456"`) {
		t.Errorf("stored payload %q, %v", payload, err)
	}
	views := trViewText(t, db, "bi.mawthoq_status_current") + trViewText(t, db, "bi.mawthoq_status_history")
	for i := range cases {
		if strings.Contains(views, trAccount(i)) {
			t.Errorf("a bi view shows account %s in full", trAccount(i))
		}
	}
	if strings.Contains(views, "1000000008") || strings.Contains(views, "2000000006") {
		t.Error("a bi view shows the payload's account number")
	}
}

// Statuses that change produce one history row per period: a status that
// holds only moves last_checked_at; one that comes back is a new period.
func TestMawthoqHistoryPeriods(t *testing.T) {
	t.Parallel()
	clk := testutil.NewClock(trT0)
	s, url := startSim(t, sim.Options{Now: clk.Now, StatusPeriod: time.Hour}, nil)
	at := func(h int) time.Time { return trT0.Add(time.Duration(h) * time.Hour) }
	flip, steady := -1, -1
	for i := 0; (flip < 0 || steady < 0) && i < 10000; i++ {
		a := trAccount(i)
		s0, s1, s2 := s.MawthoqStatus("tiktok", a, at(0)), s.MawthoqStatus("tiktok", a, at(1)), s.MawthoqStatus("tiktok", a, at(2))
		switch {
		case s0 == "":
		case flip < 0 && s1 != s0 && s1 != "" && s2 == s0:
			flip = i
		case steady < 0 && s0 == s1 && s1 == s2:
			steady = i
		}
	}
	if flip < 0 || steady < 0 {
		t.Fatal("no flipping or steady account in the simulator's first 10,000")
	}
	db := testdb.New(t)
	in := []store.TargetInput{}
	for _, i := range []int{flip, steady} {
		tg, _ := tracked.MawthoqTarget{Platform: "tiktok", Account: trAccount(i), Label: fmt.Sprint(i)}.Normalize()
		in = append(in, tg.Input(trHashKey))
	}
	if _, err := db.UpsertTargets(context.Background(), store.TrackedMawthoq, in, false); err != nil {
		t.Fatal(err)
	}
	job := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, "sim-gmedia-secret"), DB: db, Settings: trSettings(), Replica: "r", Now: clk.Now}
	for round := range 3 {
		if round > 0 {
			clk.Advance(time.Hour)
		}
		if err := job.Run(context.Background(), trRun(int64(round+1), nil)); err != nil {
			t.Fatal(err)
		}
	}
	type period struct {
		status     string
		from, last time.Time
		to         *time.Time
		checks     int
	}
	history := func(i int) []period {
		rows, err := testdb.Query(t, db, `
			SELECT status, valid_from, valid_to, last_checked_at, checks FROM bi.mawthoq_status_history
			WHERE label = $1 ORDER BY valid_from`, fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []period
		for rows.Next() {
			var p period
			if err := rows.Scan(&p.status, &p.from, &p.to, &p.last, &p.checks); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	st := func(h int, i int) string { return s.MawthoqStatus("tiktok", trAccount(i), at(h)) }
	ptr := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		name string
		i    int
		want []period
	}{
		{"steady", steady, []period{{st(0, steady), at(0), at(2), nil, 3}}},
		{"flip and back", flip, []period{
			{st(0, flip), at(0), at(0), ptr(at(1)), 1},
			{st(1, flip), at(1), at(1), ptr(at(2)), 1},
			{st(2, flip), at(2), at(2), nil, 1},
		}},
	} {
		got := history(tc.i)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d periods %+v, want %+v", tc.name, len(got), got, tc.want)
		}
		for k, w := range tc.want {
			g := got[k]
			if g.status != w.status || !g.from.Equal(w.from) || !g.last.Equal(w.last) || g.checks != w.checks ||
				(g.to == nil) != (w.to == nil) || (g.to != nil && !g.to.Equal(*w.to)) {
				t.Errorf("%s period %d: %+v, want %+v", tc.name, k, g, w)
			}
		}
	}
	var last time.Time
	var hash, masked string
	if err := testdb.QueryRow(t, db, `SELECT last_check_at, account_hash, account_masked
		FROM bi.mawthoq_status_current WHERE label = $1`, fmt.Sprint(steady)).Scan(&last, &hash, &masked); err != nil {
		t.Fatal(err)
	}
	a := trAccount(steady)
	if !last.Equal(at(2)) || hash != tracked.AccountHash(trHashKey, a) || masked != "******"+a[6:] {
		t.Errorf("current: last %s hash %s masked %s", last, hash, masked)
	}
}

// The Gmedia client secret never reaches a log line, an error, the runs
// table or the tracked tables, whether the token is granted or refused.
func TestMawthoqSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const canary = "canary-gmedia-secret-5521"
	db := testdb.New(t)
	trSeedMawthoq(t, db, "tiktok", 30)
	_, url := startSim(t, sim.Options{GmediaClientSecret: canary}, nil)
	var logs testutil.LockedBuffer
	runner := &jobs.Runner{Store: db, Log: testLogger(&logs), Replica: "r"}
	good := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, canary), DB: db, Settings: trSettings(), Replica: "r"}
	if res := runner.Execute(context.Background(), good, jobs.Options{Trigger: jobs.TriggerManual}); res.Err != nil {
		t.Fatal(res.Err)
	}
	// A secret one character off is refused; the refusal must not quote it.
	bad := &jobs.MawthoqRecheck{Gmedia: trGmedia(url, canary+"x"), DB: db, Settings: trSettings(), Replica: "r"}
	testdb.Exec(t, db, `UPDATE syncer.tracked_targets SET last_checked_at = '-infinity'`)
	res := runner.Execute(context.Background(), bad, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	everything := logs.String() + res.Err.Error() + trViewText(t, db, "syncer.runs") +
		trViewText(t, db, "syncer.tracked_targets") + trViewText(t, db, "syncer.tracked_status_history")
	if strings.Contains(everything, canary) {
		t.Error("the Gmedia client secret appears in logs, errors or tables")
	}
	if !strings.Contains(logs.String(), "tracked round") {
		t.Error("the capture saw no round: the test would pass without looking")
	}
}
