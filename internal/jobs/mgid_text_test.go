package jobs_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"syncer/internal/jobs"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// badEmails rewrites the simulator's clients list so that the emails of the
// first two clients carry a NUL (JSON \u0000: Postgres text cannot hold it)
// and the third an invalid UTF-8 byte.
func badEmails(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/clients") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body = bytes.Replace(body, []byte(`"email":"`), []byte(`"email":"nul\u0000one`), 1)
		body = bytes.Replace(body, []byte(`"email":"c`), []byte(`"email":"nul\u0000two`), 1)
		body = bytes.Replace(body, []byte(`"email":"c`), []byte("\"email\":\"bad\xffbyte"), 1)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// A provider string Postgres cannot store costs its bad characters, not
// the snapshot: they are stored as U+FFFD, the run succeeds with them
// counted in its detail and one WARN line, never `internal`.
func TestBalancesStoreUnstorableEmailCharactersAsReplacement(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	_, url := startSim(t, sim.Options{Clients: 50, Now: clk.Now}, badEmails)
	var log bytes.Buffer
	runner := newRunner(db, "a", clk.Now)
	runner.Log = testLogger(&log)
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{mgidClient(url)}, DB: db, Now: clk.Now}
	res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Status != jobs.StatusSucceeded || res.Rows != 51 {
		t.Fatalf("run: %+v", res)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_clients WHERE email LIKE 'nul' || chr(65533) || '%'`); n != 2 {
		t.Errorf("%d clients with NUL stored as U+FFFD, want 2", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_history WHERE email LIKE 'bad' || chr(65533) || 'byte%'`); n != 1 {
		t.Errorf("%d clients with the invalid byte stored as U+FFFD, want 1", n)
	}
	if n := testdb.Count(t, db, `SELECT (detail->>'replaced_characters')::int FROM bi.sync_runs WHERE run_id = $1`, res.RunID); n != 3 {
		t.Errorf("replaced_characters in the run's detail = %d, want 3 (two NULs, one invalid byte)", n)
	}
	if n := strings.Count(log.String(), "level=WARN msg=\"client emails held characters"); n != 1 {
		t.Errorf("%d WARN lines about replaced characters, want 1:\n%s", n, log.String())
	}
}
