package firstlight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

func TestIAMTokenRequestAndSharing(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	f.tokenDelay = 5 * time.Millisecond // most checks arrive while the fetch is in flight
	c := newClient(f.ccConfig())
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := c.CheckRedeem(context.Background(), validRequest, userToken)
			if err != nil || res.Outcome != Entitled {
				t.Errorf("CheckRedeem = %+v, %v", res, err)
			}
		})
	}
	wg.Wait()
	if got := f.tokenCalls.Load(); got != 1 {
		t.Errorf("%d IAM token requests for %d concurrent checks, want 1", got, n)
	}
	f.mu.Lock()
	form := f.tokenForm
	f.mu.Unlock()
	if form.Get("client_id") != "fl-client" || form.Get("client_secret") != "fl-secret" || form.Get("grant_type") != "client_credentials" {
		t.Errorf("token request form = %v", form)
	}
	for _, r := range f.requests() {
		if r.auth != "Bearer iam-1" {
			t.Fatalf("sent Authorization %q, want Bearer iam-1", r.auth)
		}
	}
}

func TestIAMTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	f.expiresIn = 600 // margin: a tenth, 60 s
	clk := testutil.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := f.ccConfig()
	cfg.Now = clk.Now
	c := newClient(cfg)
	for i, s := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "Bearer iam-1"},
		{539 * time.Second, "Bearer iam-1"},
		{2 * time.Second, "Bearer iam-2"},
	} {
		clk.Advance(s.advance)
		if _, err := c.CheckRedeem(context.Background(), validRequest, userToken); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if got := reqs[len(reqs)-1].auth; got != s.want {
			t.Errorf("step %d sent %q, want %q", i, got, s.want)
		}
	}
}

func TestUnauthorizedWithClientCredentials(t *testing.T) {
	t.Parallel()
	plain := func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) }
	coded := func(t *testing.T) func(w http.ResponseWriter) {
		body := readTestdata(t, "error_40400101.json")
		return func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized); _, _ = w.Write(body) }
	}
	tests := []struct {
		name       string
		tokenAge   time.Duration // how long the first IAM token has been held
		refuse     func(t *testing.T) func(http.ResponseWriter)
		refuseAll  bool    // refuse every IAM token, not only iam-1
		want       Outcome // "": an auth error, not a result
		wantTokens int32
		wantChecks int32
	}{
		{"plain 401, refreshed token accepted", 0, func(*testing.T) func(http.ResponseWriter) { return plain }, false, Entitled, 2, 2},
		{"plain 401 on every token is ours: an error", 0, func(*testing.T) func(http.ResponseWriter) { return plain }, true, "", 2, 2},
		{"40400101 on a fresh IAM token is the user's", 0, coded, true, AuthFailed, 1, 1},
		{"40400101 on an old IAM token, refreshed token accepted", 2 * time.Minute, coded, false, Entitled, 2, 2},
		{"40400101 on an old IAM token and on the new one", 2 * time.Minute, coded, true, AuthFailed, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok := readTestdata(t, "ok.json")
			refuse := tc.refuse(t)
			var warm atomic.Bool // the first request only obtains the token
			warm.Store(true)
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if !warm.Load() && (tc.refuseAll || r.Header.Get("Authorization") == "Bearer iam-1") {
					refuse(w)
					return
				}
				_, _ = w.Write(ok)
			})
			clk := testutil.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			cfg := f.ccConfig()
			cfg.Now = clk.Now
			c := newClient(cfg)
			if _, err := c.CheckRedeem(context.Background(), validRequest, userToken); err != nil {
				t.Fatal(err)
			}
			warm.Store(false)
			clk.Advance(tc.tokenAge)
			tokens0, checks0 := f.tokenCalls.Load(), f.checkCalls.Load()

			res, err := c.CheckRedeem(context.Background(), validRequest, userToken)
			if tc.want == "" {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.Auth {
					t.Fatalf("CheckRedeem = %+v, %v; want an auth error", res, err)
				}
			} else if err != nil || res.Outcome != tc.want {
				t.Fatalf("CheckRedeem = %+v, %v; want %s", res, err, tc.want)
			}
			if got := f.tokenCalls.Load() - tokens0 + 1; got != tc.wantTokens {
				t.Errorf("%d IAM tokens used, want %d", got, tc.wantTokens)
			}
			if got := f.checkCalls.Load() - checks0; got != tc.wantChecks {
				t.Errorf("%d checks, want %d", got, tc.wantChecks)
			}
		})
	}
}

func TestIAMTokenFailure(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	f.mux.HandleFunc("POST /bad/token", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	})
	cfg := f.ccConfig()
	cfg.TokenURL = f.url + "/bad/token"
	_, err := newClient(cfg).CheckRedeem(context.Background(), validRequest, userToken)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.Auth || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want an auth error saying invalid_client", err)
	}
	if n := f.checkCalls.Load(); n != 0 {
		t.Errorf("%d checks sent without an IAM token", n)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const canary = "canary-SECRET-123"
	// A provider that echoes the credentials it was sent into every message.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"header":{"code":-1,"message":"bad %s","errors":[{"code":"40400101","description":"Invalid X-Authorization %s (IAM %s)"}]}}`,
			r.Header.Get("X-Authorization"), r.Header.Get("X-Authorization"), r.Header.Get("Authorization"))
	})
	f.mux.HandleFunc("POST /echo/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"secret %s rejected"}`, r.PostForm.Get("client_secret"))
	})
	check := func(what string, v any) {
		t.Helper()
		if s := fmt.Sprintf("%v %+v %#v", v, v, v); strings.Contains(s, canary) {
			t.Errorf("%s leaks the canary: %s", what, s)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  clientConfig
	}{{"static IAM token", f.staticConfig()}, {"client credentials", f.ccConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newClient(tc.cfg).CheckRedeem(context.Background(), validRequest, canary)
			if err != nil || res.Outcome != AuthFailed {
				t.Fatalf("CheckRedeem = %+v, %v; want auth_failed", res, err)
			}
			check("result", res)
		})
	}
	static := f.staticConfig()
	static.IAMToken = canary
	res, err := newClient(static).CheckRedeem(context.Background(), validRequest, userToken)
	if err != nil {
		t.Fatal(err)
	}
	check("result with a canary IAM token", res)

	cc := f.ccConfig()
	cc.TokenURL, cc.ClientSecret = f.url+"/echo/token", canary
	_, err = newClient(cc).CheckRedeem(context.Background(), validRequest, canary)
	if err == nil {
		t.Fatal("want the token refusal as an error")
	}
	check("error", err)
	check("error text", err.Error())
}
