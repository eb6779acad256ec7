package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"syncer/internal/observe"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// TestOnceWithAFailingAgency: three agencies from the YAML file, the second
// with a password MGID refuses. `syncer once` exits 1 and names the agency
// (never its password); the other two land; `syncer jobs` and the status
// page name the failing agency among the fresh ones.
func TestOnceWithAFailingAgency(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	agencies := []sim.Agency{sim.GeneratedAgency(0), sim.GeneratedAgency(1), sim.GeneratedAgency(2)}
	s := sim.New(sim.Options{Clients: 30, Agencies: agencies, AgencyFaults: map[string]string{agencies[1].Login: sim.AgencyWrongPassword}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	cfg := filepath.Join(t.TempDir(), "syncer.yaml")
	yaml := "mgid:\n  agency_concurrency: 2\n  agencies:\n" +
		"    - {name: main, login: agency-0001, password: pw-agency-0001}\n" +
		"    - {name: broken, login: agency-0002, password: pw-agency-0002}\n" +
		"    - {name: third, login: agency-0003, password: pw-agency-0003}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"DATABASE_URL=" + dbURL, "MGID_BASE_URL=" + srv.URL, "SYNCER_CONFIG=" + cfg}
	syncer := func(env []string, args ...string) result {
		var out, errb testutil.LockedBuffer
		code := run(context.Background(), args, envOf(env, &out, &errb))
		r := result{code, out.String(), errb.String()}
		if strings.Contains(r.stdout+r.stderr, "pw-agency-0002") {
			t.Errorf("syncer %v printed the agency's password", args)
		}
		return r
	}

	bad := syncer(append(environ, "MGID_AGENCY_CONCURRENCY=0"), "once", "mgid-balances")
	if bad.code != 2 || !strings.Contains(bad.stderr, "MGID_AGENCY_CONCURRENCY") {
		t.Fatalf("MGID_AGENCY_CONCURRENCY=0: exit %d, %q; want 2 naming the setting", bad.code, bad.stderr)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs`); n != 0 {
		t.Fatalf("a bad setting wrote %d runs", n)
	}

	r := syncer(environ, "once", "mgid-balances", "mgid-spend")
	if r.code != 1 {
		t.Fatalf("once: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `msg="agency failed"`) || !strings.Contains(r.stderr, "agency=broken login=agency-0002") {
		t.Errorf("no log line names the failing agency:\n%s", r.stderr)
	}
	if n := testdb.Count(t, db, `SELECT count(DISTINCT agency_id) FROM bi.mgid_client_balance_latest`); n != 2 {
		t.Errorf("%d agencies in the latest balances, want the 2 healthy ones", n)
	}
	if n := testdb.Count(t, db, `SELECT count(DISTINCT agency_id) FROM syncer.mgid_spend_fetches`); n != 2 {
		t.Errorf("%d agencies with spend, want the 2 healthy ones", n)
	}

	jobs := syncer(environ, "jobs")
	if jobs.code != 0 {
		t.Fatalf("jobs: exit %d\n%s", jobs.code, jobs.stderr)
	}
	for _, want := range []string{"mgid-balances: 2 of 3 agencies fresh and succeeding", "mgid-spend: 2 of 3 agencies fresh and succeeding"} {
		if !strings.Contains(jobs.stdout, want) {
			t.Errorf("jobs does not say %q:\n%s", want, jobs.stdout)
		}
	}
	var failing int
	for _, line := range strings.Split(jobs.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == "broken" && f[2] == "agency-0002" && f[3] == "failed" && strings.Contains(line, "auth: mgid login: HTTP 401") {
			failing++
		}
	}
	if failing != 2 {
		t.Errorf("jobs lists the failing agency in %d jobs, want 2:\n%s", failing, jobs.stdout)
	}

	page := httptest.NewServer(&observe.Page{Store: db, Agencies: db})
	t.Cleanup(page.Close)
	resp, err := http.Get(page.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(body)
	for _, want := range []string{"mgid-balances: 1 MGID agency failing: broken.", `data-agency="broken"`, "2 of 3 agencies fresh and succeeding"} {
		if !strings.Contains(html, want) {
			t.Errorf("the status page does not show %q", want)
		}
	}
	if strings.Contains(html, "pw-agency-0002") {
		t.Error("the status page shows the agency's password")
	}

	// The metrics read at scrape time name the failing agency too.
	reg := prometheus.NewRegistry()
	reg.MustRegister(&observe.AgencyCollector{Store: db})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"syncer_agency_last_failed agency=broken error_class=auth job_name=mgid-balances": 1,
		"syncer_agency_stale agency=broken job_name=mgid-spend":                           1,
		"syncer_agency_stale agency=main job_name=mgid-balances":                          0,
		"syncer_agency_last_failed agency=third error_class= job_name=mgid-spend":         0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}

func envOf(environ []string, stdout, stderr io.Writer) env {
	return env{stdout: stdout, stderr: stderr, environ: environ, stdin: strings.NewReader("")}
}
