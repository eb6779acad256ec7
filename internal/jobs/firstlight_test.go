package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers/firstlight"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/tracked"
)

// trTrackFirstlight tracks one check per content id, all with the same token reference.
func trTrackFirstlight(t *testing.T, db *store.DB, ref string, contents ...string) {
	t.Helper()
	var in []store.TargetInput
	for _, c := range contents {
		tg := tracked.FirstlightTarget{Name: "check-" + c, DeviceID: "device-1", ContentID: c, ContentType: "vod",
			CatalogType: "movie", Delivery: "streaming", UserTokenRef: ref}
		if err := tg.Validate(); err != nil {
			t.Fatal(err)
		}
		in = append(in, tg.Input())
	}
	if _, err := db.UpsertTargets(context.Background(), store.TrackedFirstlight, in, false); err != nil {
		t.Fatal(err)
	}
}

func trFirstlight(url, iam string) *firstlight.Client {
	return firstlight.New(url, firstlight.Credentials{IAMToken: iam},
		firstlight.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), firstlight.WithRetry(trTinyRetry))
}

func trEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Each answer checkredeem can give (bodies recorded from the spec) is stored
// as its outcome, with the code, description and our X-Tracking-Id.
func TestFirstlightOutcomesStoredFromRecordedBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		content string // the target; the server answers by content id
		status  int
		file    string
		outcome string
		code    string
		desc    string
	}{
		{"ok", 200, "ok.json", "entitled", "", "Success"},
		{"not-entitled", 403, "error_40400140.json", "not_entitled", "40400140", "Not entitled to redeem"},
		{"bad-user", 401, "error_40400101.json", "auth_failed", "40400101", "Invalid X-Authorization"},
		{"bad-catalog", 400, "error_40400106.json", "invalid_request", "40400106", "Missing or invalid catalog type"},
		{"bad-delivery", 400, "error_40400107.json", "invalid_request", "40400107", "Missing or invalid delivery type"},
		{"system-failure", 500, "error_40400190.json", "provider_error", "40400190", "System failure"},
		{"unknown-failure", 500, "error_40400191.json", "provider_error", "40400191", "Unknown failure"},
		// A 403 without 40400101 refuses our IAM token and fails the round:
		// see TestProviderFaultsFirstlight.
	}
	var mu sync.Mutex
	tracking := map[string][]string{} // content -> X-Tracking-Id sent
	userTokens := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req firstlight.Request
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		tracking[req.ContentID] = append(tracking[req.ContentID], r.Header.Get("X-Tracking-Id"))
		userTokens[r.Header.Get("X-Authorization")] = true
		mu.Unlock()
		for _, c := range cases {
			if c.content == req.ContentID {
				var body []byte
				if c.file != "" {
					body, _ = os.ReadFile(filepath.Join("..", "providers", "firstlight", "testdata", c.file))
				}
				w.WriteHeader(c.status)
				_, _ = w.Write(body)
				return
			}
		}
		t.Errorf("unexpected content %q", req.ContentID)
	}))
	t.Cleanup(srv.Close)

	db := testdb.New(t)
	var contents []string
	for _, c := range cases {
		contents = append(contents, c.content)
	}
	trTrackFirstlight(t, db, "VIEWER_1", contents...)
	trTrackFirstlight(t, db, "MISSING", "unresolved")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "VIEWER_1"), []byte("ut-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	job := &jobs.FirstlightRedeem{Firstlight: trFirstlight(srv.URL, "iam"), DB: db, Settings: trSettings(), Replica: "r",
		UserTokens: tracked.UserTokens{Getenv: trEnv(nil), Dir: dir}}
	run := trRun(1, nil)
	if err := job.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		content                   string
		status                    int
		file, outcome, code, desc string
	}{
		"unresolved", 0, "", "auth_failed", tracked.CodeTokenRefUnresolved, "FIRSTLIGHT_USER_TOKEN_MISSING"})
	for _, c := range cases {
		var outcome, code, desc, trackingID string
		var httpStatus *int
		err := testdb.QueryRow(t, db, `
			SELECT outcome, coalesce(error_code, ''), coalesce(description, ''), coalesce(tracking_id, ''), http_status
			FROM bi.firstlight_redeem_history WHERE content_id = $1`, c.content).Scan(&outcome, &code, &desc, &trackingID, &httpStatus)
		if err != nil {
			t.Fatalf("%s: %v", c.content, err)
		}
		gotHTTP := 0
		if httpStatus != nil {
			gotHTTP = *httpStatus
		}
		if outcome != c.outcome || code != c.code || !strings.Contains(desc, c.desc) || gotHTTP != c.status {
			t.Errorf("%s: stored %s %q %q http %d; want %s %q %q http %d", c.content, outcome, code, desc, gotHTTP, c.outcome, c.code, c.desc, c.status)
		}
		mu.Lock()
		sent := tracking[c.content]
		mu.Unlock()
		switch {
		case c.content == "unresolved" && (len(sent) != 0 || trackingID != ""):
			t.Errorf("an unresolved token reference sent %d requests", len(sent))
		case c.content != "unresolved" && (len(sent) == 0 || trackingID != sent[len(sent)-1]):
			t.Errorf("%s: stored tracking id %q, sent %q", c.content, trackingID, sent)
		}
	}
	if len(userTokens) != 1 || !userTokens["ut-from-file"] {
		t.Errorf("user tokens sent: %v, want only the file's", userTokens)
	}
	if got := run.Counts()["auth_failed"]; got != 2 {
		t.Errorf("counted %d auth_failed, want 2", got)
	}
}

func TestUserTokensResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{"FILE": "ut-file\n", "BOTH": "ut-file-loses", "EMPTY": "\n", "CTRL": "ut-a\x01b"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u := tracked.UserTokens{Getenv: trEnv(map[string]string{"FIRSTLIGHT_USER_TOKEN_ENV": "ut-env", "FIRSTLIGHT_USER_TOKEN_BOTH": "ut-env-wins"}), Dir: dir}
	for _, tc := range []struct{ ref, want, err string }{
		{"ENV", "ut-env", ""},
		{"FILE", "ut-file", ""},
		{"BOTH", "ut-env-wins", ""},
		{"EMPTY", "", "does not resolve"},
		{"NONE", "", "does not resolve: set FIRSTLIGHT_USER_TOKEN_NONE or the file " + filepath.Join(dir, "NONE")},
		{"CTRL", "", "control character"},
		{"../FILE", "", "want 1 to 64 of A-Z"},
		{"", "", "want 1 to 64 of A-Z"},
		{"a-b", "", "want 1 to 64 of A-Z"},
	} {
		got, err := u.Resolve(tc.ref)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tc.ref, got, err, tc.want, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "ut-") {
			t.Errorf("Resolve(%q) error shows a token: %v", tc.ref, err)
		}
	}
}

// A user token and the client secret never reach a log line, an error, a
// table or a view, even when Firstlight echoes them back.
func TestFirstlightSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const userCanary = "ut-canary-user-token-8812"
	const secretCanary = "canary-firstlight-secret-3307"
	db := testdb.New(t)
	_, url := startSim(t, sim.Options{FirstlightClientSecret: secretCanary}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if r.URL.Path == sim.PathFirstlightRedeem && bytes.Contains(body, []byte(`"echo"`)) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"header":{"code":-1,"errors":[{"code":"40400120","description":"token %s iam %s"}]}}`,
					r.Header.Get("X-Authorization"), r.Header.Get("Authorization"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		})
	})
	trTrackFirstlight(t, db, "CANARY", "c-1", "c-2", "c-3", "echo")
	var logs testutil.LockedBuffer
	runner := &jobs.Runner{Store: db, Log: testLogger(&logs), Replica: "r"}
	client := firstlight.New(url+sim.PathFirstlightRedeem,
		firstlight.Credentials{TokenURL: url + sim.PathFirstlightToken, ClientID: "sim-firstlight", ClientSecret: secretCanary},
		firstlight.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), firstlight.WithRetry(trTinyRetry))
	job := &jobs.FirstlightRedeem{Firstlight: client, DB: db, Settings: trSettings(), Replica: "r",
		UserTokens: tracked.UserTokens{Getenv: trEnv(map[string]string{"FIRSTLIGHT_USER_TOKEN_CANARY": userCanary})}}
	if res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual}); res.Err != nil {
		t.Fatal(res.Err)
	}
	// Refused credentials: the error must not quote the secret either.
	wrong := firstlight.New(url+sim.PathFirstlightRedeem,
		firstlight.Credentials{TokenURL: url + sim.PathFirstlightToken, ClientID: "sim-firstlight", ClientSecret: secretCanary + "x"},
		firstlight.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}), firstlight.WithRetry(trTinyRetry))
	testdb.Exec(t, db, `UPDATE syncer.tracked_targets SET last_checked_at = '-infinity'`)
	job.Firstlight = wrong
	res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual})
	if res.Err == nil {
		t.Fatal("a wrong client secret was accepted")
	}
	everything := logs.String() + res.Err.Error() + trViewText(t, db, "syncer.runs") +
		trViewText(t, db, "syncer.tracked_targets") + trViewText(t, db, "syncer.tracked_status_history") +
		trViewText(t, db, "bi.firstlight_redeem_history") + trViewText(t, db, "bi.firstlight_redeem_current")
	for _, canary := range []string{userCanary, secretCanary} {
		if strings.Contains(everything, canary) {
			t.Errorf("%s appears in logs, errors, tables or views", canary)
		}
	}
	// The echo was recorded, redacted: the test looked where a leak would be.
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.firstlight_redeem_history WHERE description LIKE 'token [redacted]%'`); n != 1 {
		t.Errorf("%d redacted echoes recorded, want 1", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.firstlight_redeem_history WHERE outcome = 'entitled' OR outcome = 'not_entitled'`); n != 3 {
		t.Errorf("%d answered checks, want 3", n)
	}
}
