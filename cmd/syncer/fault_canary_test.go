package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testdb"
)

// Every secret syncer holds gets a unique canary value; every job and the
// commands around them run through successes and failures (refused
// credentials, broken answers, a provider that echoes what it was sent);
// then no canary may appear in any output, log line, error, table or view.
func TestCanarySecretsNeverLeak(t *testing.T) {
	t.Parallel()
	canaries := map[string]string{
		"mgid password":            "canary-mgid-pw-5f1e",
		"gmedia client secret":     "canary-gm-secret-77ab",
		"firstlight client secret": "canary-fl-secret-19cd",
		"firstlight IAM token":     "canary-fl-iam-3b20",
		"firstlight user token":    "ut-canary-user-e8d4",
		"hash key":                 "canary-hash-key-0a6c",
		"database password":        "canary-db-pw-c4f2",
	}
	db, dbURL := testdb.NewWithURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	user := "postgres"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, canaries["database password"]) // trust auth: accepted, never needed
	dbURL = u.String()

	s := sim.New(sim.Options{Clients: 40,
		Agencies:           []sim.Agency{{Login: "agency-c", Password: canaries["mgid password"], ID: 1001}},
		GmediaClientSecret: canaries["gmedia client secret"], FirstlightClientSecret: canaries["firstlight client secret"],
		FirstlightIAMToken: canaries["firstlight IAM token"]})
	// echo, while on, answers every request with 500 quoting all it was
	// sent (headers and body): a provider that repeats credentials back.
	var echo atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !echo.Load() {
			s.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var hdr bytes.Buffer
		_ = r.Header.Write(&hdr)
		msg := strings.NewReplacer(`"`, `'`, "\r", " ", "\n", " ").Replace(hdr.String() + " " + string(body))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"errors":["echo %s"],"message":"echo %s","header":{"code":-1,"errors":[{"code":"40400190","description":"echo %s"}]}}`, msg, msg, msg)
	}))
	t.Cleanup(func() { s.Close(); srv.Close() })

	tokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tokenDir, "FILEREF"), []byte(canaries["firstlight user token"]+"-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(t.TempDir(), "syncer.yaml")
	if err := os.WriteFile(policy, []byte(`
jobs:
  mgid-topup: {enabled: true}
topup:
  account_type: personal
  max_per_transfer: 150.00
  max_per_client_day: 300.00
  max_per_agency_day: 2000.00
  default: {min: 40.00, target: 120.00}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"DATABASE_URL=" + dbURL, "SYNCER_LOG_LEVEL=debug", "SYNCER_HASH_KEY=" + canaries["hash key"],
		"MGID_BASE_URL=" + srv.URL, "MGID_LOGIN=agency-c", "MGID_PASSWORD=" + canaries["mgid password"],
		"MGID_REQUEST_TIMEOUT=2s", "MGID_LOOKBACK_DAYS=1",
		"JOB_MAWTHOQ_RECHECK_ENABLED=true", "JOB_FIRSTLIGHT_REDEEM_ENABLED=true",
		"GMEDIA_TOKEN_URL=" + srv.URL + sim.PathGmediaToken, "GMEDIA_CHECK_URL=" + srv.URL + sim.PathGmediaCheck,
		"GMEDIA_CLIENT_ID=sim-gmedia", "GMEDIA_CLIENT_SECRET=" + canaries["gmedia client secret"],
		"FIRSTLIGHT_URL=" + srv.URL + sim.PathFirstlightRedeem,
		"FIRSTLIGHT_USER_TOKEN_ENVREF=" + canaries["firstlight user token"], "FIRSTLIGHT_USER_TOKEN_DIR=" + tokenDir,
	}
	withCC := append(append([]string(nil), base...), "FIRSTLIGHT_TOKEN_URL="+srv.URL+sim.PathFirstlightToken,
		"FIRSTLIGHT_CLIENT_ID=sim-firstlight", "FIRSTLIGHT_CLIENT_SECRET="+canaries["firstlight client secret"])
	withIAM := append(append([]string(nil), base...), "FIRSTLIGHT_IAM_TOKEN="+canaries["firstlight IAM token"])
	replace := func(env []string, kv ...string) []string {
		out := append([]string(nil), env...)
		for _, v := range kv {
			k := v[:strings.Index(v, "=")+1]
			for i := range out {
				if strings.HasPrefix(out[i], k) {
					out[i] = v
				}
			}
		}
		return out
	}
	var everything strings.Builder
	var ran int
	// due makes every tracked target due, so the next round checks them.
	due := func() {
		t.Helper()
		testdb.Exec(t, db, `UPDATE syncer.tracked_targets SET last_checked_at = '-infinity'`)
	}
	step := func(env []string, wantOK bool, args ...string) {
		t.Helper()
		if len(args) > 1 && args[0] == "once" && (args[1] == "mawthoq-recheck" || args[1] == "firstlight-redeem") {
			due()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := syncer(ctx, env, args...)
		ran++
		everything.WriteString(r.stdout + r.stderr)
		if wantOK && r.code != 0 {
			t.Errorf("syncer %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if !wantOK && r.code == 0 {
			t.Errorf("syncer %v succeeded; the step meant to fail", args)
		}
	}
	ok, fails := true, false
	all := []string{"mgid-balances", "mgid-spend", "mawthoq-recheck", "firstlight-redeem"}

	step(withCC, ok, "config", "check")
	step(withCC, ok, "migrate", "status")
	step(withCC, ok, "mawthoq", "track", "add", "--platform", "tiktok", "--account", "1000000008")
	step(withCC, ok, "mawthoq", "track", "add", "--platform", "x", "--account", "2000000006")
	for i, ref := range []string{"ENVREF", "FILEREF", "ENVREF"} {
		step(withCC, ok, "firstlight", "track", "add", "--name", fmt.Sprintf("check-%d", i), "--device-id", "dev-1",
			"--content-id", fmt.Sprintf("content-%d", i), "--content-type", "vod", "--catalog-type", "movie",
			"--delivery", "streaming", "--user-token-ref", ref)
	}
	// Successes.
	step(withCC, ok, append([]string{"once"}, all...)...)
	step(withIAM, ok, "once", "firstlight-redeem")
	step(withCC, ok, "once", "mgid-topup", "--config", policy)
	step(withCC, ok, "backfill", "mgid-spend", "--from", "2026-01-01", "--to", "2026-01-02")
	first, _, _ := s.ClientRange(1001)
	step(withCC, ok, "mgid", "transfer", "--agency", "1001", "--client", fmt.Sprint(first), "--amount", "1.00", "--from", "personal", "--yes")
	step(withCC, ok, "mgid", "transfers", "list")
	step(withCC, ok, "jobs")
	step(withCC, ok, "views")
	step(withCC, ok, "mawthoq", "track", "list")
	step(withCC, ok, "firstlight", "track", "list")

	// Refused credentials, one at a time.
	step(replace(withCC, "MGID_PASSWORD=canary-mgid-pw-5f1e-wrong"), fails, "once", "mgid-balances")
	step(replace(withCC, "GMEDIA_CLIENT_SECRET=canary-gm-secret-77ab-wrong"), fails, "once", "mawthoq-recheck")
	step(replace(withCC, "FIRSTLIGHT_CLIENT_SECRET=canary-fl-secret-19cd-wrong"), fails, "once", "firstlight-redeem")
	step(replace(withIAM, "FIRSTLIGHT_IAM_TOKEN=canary-fl-iam-3b20-wrong"), fails, "once", "firstlight-redeem")
	// A database that refuses: its URL (with the password) must not be printed.
	bad := *u
	bad.Host = "127.0.0.1:1"
	step(replace(withCC, "DATABASE_URL="+bad.String()), fails, "once", "mgid-balances")
	// Broken answers.
	for _, mode := range []string{sim.FaultHTML200, sim.FaultTruncate, sim.Fault5xx, sim.FaultNaN, sim.FaultDupIDs} {
		s.SetFaults(sim.Faults{Mode: mode})
		step(withCC, fails, "once", "mgid-balances")
	}
	s.SetFaults(sim.Faults{})
	// Every request answered with an echo of what it carried. The tracked
	// rounds record a provider_error on each target (their runs succeed);
	// the echo must be stored redacted.
	echo.Store(true)
	step(withCC, fails, "once", "mgid-balances")
	step(withCC, fails, "once", "mgid-spend")
	step(withCC, fails, "once", "mawthoq-recheck") // the token endpoint echoes: a failed round
	step(withCC, fails, "once", "firstlight-redeem")
	step(withIAM, ok, "once", "firstlight-redeem") // checkredeem echoes the static IAM token and user tokens
	step(withCC, fails, "mgid", "transfer", "--agency", "1001", "--client", fmt.Sprint(first+1), "--amount", "1.00", "--from", "personal", "--yes")
	echo.Store(false)
	step(withCC, ok, "mgid", "transfers", "list")
	step(withCC, ok, "jobs")

	// Every table and view, as text.
	rows, err := testdb.Query(t, db, `SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var relations []string
	for rows.Next() {
		var rel string
		if err := rows.Scan(&rel); err != nil {
			t.Fatal(err)
		}
		relations = append(relations, rel)
	}
	rows.Close()
	dumped := 0
	for _, rel := range relations {
		var text string
		if err := testdb.QueryRow(t, db, `SELECT coalesce(string_agg(v::text, E'\n'), '') FROM `+rel+` v`).Scan(&text); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if text != "" {
			dumped++
		}
		everything.WriteString("\n" + rel + "\n" + text)
	}
	out := everything.String()
	for what, canary := range canaries {
		if i := strings.Index(out, canary); i >= 0 {
			t.Errorf("the %s appears: …%s…", what, out[max(0, i-200):min(len(out), i+len(canary)+50)])
		}
	}
	// The test looked where a leak would be: the runs failed and succeeded
	// as meant, the echoes were recorded (redacted), and the dump is not empty.
	if n := testdb.Count(t, db, "SELECT count(*) FROM syncer.runs WHERE status = 'failed'"); n < 10 {
		t.Errorf("%d failed runs recorded, want the failure paths", n)
	}
	for _, want := range []string{"X-Authorization: [redacted]", "Authorization: Bearer [redacted]"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q anywhere: the echo paths were not exercised", want)
		}
	}
	if dumped < 8 || len(relations) < 15 {
		t.Errorf("dumped %d non-empty of %d relations", dumped, len(relations))
	}
	t.Logf("%d commands, %d relations (%d non-empty), %d bytes searched", ran, len(relations), dumped, len(out))
}
