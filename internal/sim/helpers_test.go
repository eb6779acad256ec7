package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testutil"
)

// start is the injected clock's starting time: midday, so "today" has spend.
var start = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	sim   *sim.Server
	srv   *httptest.Server
	clock *testutil.Clock
}

// newEnv serves a simulator with an injected clock at start.
func newEnv(t *testing.T, o sim.Options) *env {
	t.Helper()
	c := testutil.NewClock(start)
	if o.Now == nil {
		o.Now = c.Now
	}
	s := sim.New(o)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // runs first: releases handlers hanging in a fault
	return &env{t: t, sim: s, srv: srv, clock: c}
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

// do sends a request; header pairs are name, value.
func (e *env) do(method, path, body string, header ...string) answer {
	e.t.Helper()
	a, err := e.try(context.Background(), method, path, body, header...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func (e *env) try(ctx context.Context, method, path, body string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: b, header: resp.Header}, nil
}

func (e *env) mgidLogin(login, password string) string {
	e.t.Helper()
	form := url.Values{"login": {login}, "password": {password}}.Encode()
	a := e.do("POST", "/v1/auth/agencies-token", form, "Content-Type", "application/x-www-form-urlencoded")
	if a.status != 200 {
		e.t.Fatalf("login: HTTP %d %s", a.status, a.body)
	}
	var tok struct{ Token string }
	mustJSON(e.t, a.body, &tok)
	return tok.Token
}

func (e *env) demoToken() string { return e.mgidLogin(sim.DemoLogin, sim.DemoPassword) }

// get is an MGID GET with a bearer token.
func (e *env) get(path, token string) answer {
	e.t.Helper()
	return e.do("GET", path, "", "Authorization", "Bearer "+token)
}

func (e *env) gmediaToken() string {
	e.t.Helper()
	a := e.do("POST", sim.PathGmediaToken, `{"client_id":"sim-gmedia","client_secret":"sim-gmedia-secret","grant_type":"client_credentials"}`, "Content-Type", "application/json")
	if a.status != 200 {
		e.t.Fatalf("gmedia token: HTTP %d %s", a.status, a.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(e.t, a.body, &tok)
	return tok.AccessToken
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %q: %v", truncate(b), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// wantBody compares a JSON answer with the expected JSON, ignoring layout.
func wantBody(t *testing.T, a answer, status int, body string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("HTTP %d %s, want %d", a.status, truncate(a.body), status)
	}
	var got, want any
	mustJSON(t, a.body, &got)
	mustJSON(t, []byte(body), &want)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("body %s, want %s", g, w)
	}
}
