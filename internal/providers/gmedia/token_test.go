package gmedia

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

func TestTokenRequestBody(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "client_id", "clienr_id"} {
		t.Run("key "+key, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handleCheck(reply(t, 200, "check_found.json"))
			cfg := f.config()
			cfg.ClientIDKey = key
			if _, err := newClient(cfg).Check(context.Background(), "tiktok", "1000000008"); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"client_secret": "contract-secret", "grant_type": "client_credentials"}
			if key == "" {
				key = "client_id"
			}
			want[key] = "contract-client"
			f.mu.Lock()
			got := f.tokenBody
			f.mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("token request body = %v, want %v", got, want)
			}
		})
	}
}

func TestTokenSharedByConcurrentChecks(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	// A slow token endpoint, so most checks arrive while the first fetch is in flight.
	f.tokenDelay = 5 * time.Millisecond
	f.handleCheck(reply(t, 200, "check_found.json"))
	c := f.client()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			res, err := c.Check(context.Background(), "tiktok", "1000000008")
			if err == nil && res.Outcome != Found {
				err = fmt.Errorf("outcome %s", res.Outcome)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.tokenCalls.Load(); got != 1 {
		t.Errorf("%d token requests for %d concurrent checks, want 1", got, n)
	}
	for _, s := range f.seen() {
		if s.auth != "Bearer tok-1" {
			t.Fatalf("check sent %q, want Bearer tok-1", s.auth)
		}
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.expiresIn = 3600
	f.handleCheck(reply(t, 200, "check_found.json"))
	clk := testutil.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := f.config()
	cfg.Now = clk.Now
	c := newClient(cfg)
	steps := []struct {
		advance    time.Duration
		wantTokens int32
		wantAuth   string
	}{
		{0, 1, "Bearer tok-1"},
		{59*time.Minute - time.Second, 1, "Bearer tok-1"}, // 61 s before expiry: still cached
		{2 * time.Second, 2, "Bearer tok-2"},              // inside the refresh margin
		{30 * time.Minute, 2, "Bearer tok-2"},
		{24 * time.Hour, 3, "Bearer tok-3"}, // long expired
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if _, err := c.Check(context.Background(), "tiktok", "1000000008"); err != nil {
			t.Fatal(err)
		}
		seen := f.seen()
		if got := f.tokenCalls.Load(); got != s.wantTokens || seen[len(seen)-1].auth != s.wantAuth {
			t.Errorf("step %d: %d token requests, sent %q; want %d, %q", i, got, seen[len(seen)-1].auth, s.wantTokens, s.wantAuth)
		}
	}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reject     func(auth string) bool
		wantErr    bool
		wantTokens int32
		wantChecks int32
	}{
		{"revoked token replaced", func(a string) bool { return a == "Bearer tok-1" }, false, 2, 2},
		{"every token refused", func(string) bool { return true }, true, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			found := readTestdata(t, "check_found.json")
			unauthorized := readTestdata(t, "error_401.json")
			f.handleCheck(func(w http.ResponseWriter, r *http.Request) {
				if tc.reject(r.Header.Get("Authorization")) {
					w.WriteHeader(http.StatusUnauthorized)
					_, _ = w.Write(unauthorized)
					return
				}
				_, _ = w.Write(found)
			})
			res, err := f.client().Check(context.Background(), "snapchat", "1000000008")
			if tc.wantErr {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.Auth || pe.Status != http.StatusUnauthorized {
					t.Fatalf("err = %v, want a providers.Error of kind auth with status 401", err)
				}
			} else if err != nil || res.Outcome != Found {
				t.Fatalf("Check = %+v, %v; want found", res, err)
			}
			if got := f.tokenCalls.Load(); got != tc.wantTokens {
				t.Errorf("%d token requests, want %d", got, tc.wantTokens)
			}
			if got := f.checkCalls.Load(); got != tc.wantChecks {
				t.Errorf("%d check requests, want %d", got, tc.wantChecks)
			}
		})
	}
}

func TestTokenFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		wantKind  providers.Kind
		wantCalls int32
		wantMsg   string
	}{
		{"invalid client", 401, `{"error":"invalid_client"}`, providers.Auth, 1, "invalid_client"},
		{"bad request", 400, `{"error":"unsupported_grant_type"}`, providers.Auth, 1, "unsupported_grant_type"},
		{"token server down", 503, ``, providers.Retryable, 3, ""},
		{"200 without token", 200, `{"token_type":"Bearer"}`, providers.Malformed, 1, "access_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeGmedia{t: t, mux: http.NewServeMux()}
			f.mux.HandleFunc("POST /gmedia/token", func(w http.ResponseWriter, r *http.Request) {
				f.tokenCalls.Add(1)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			f.handleCheck(reply(t, 200, "check_found.json"))
			f.url = testutil.Serve(t, f.mux)
			_, err := f.client().Check(context.Background(), "instagram", "1000000008")
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tc.wantKind || pe.Op != "token" || !strings.Contains(pe.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want a %s token error mentioning %q", err, tc.wantKind, tc.wantMsg)
			}
			if got := f.tokenCalls.Load(); got != tc.wantCalls {
				t.Errorf("%d token requests, want %d", got, tc.wantCalls)
			}
			if got := f.checkCalls.Load(); got != 0 {
				t.Errorf("%d checks sent without a token, want 0", got)
			}
		})
	}
}

func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const canary = "canary-SECRET-123"
	// A provider that echoes whatever it was sent, in every failure it can produce.
	f := &fakeGmedia{t: t, mux: http.NewServeMux()}
	var first sync.Once
	f.mux.HandleFunc("POST /gmedia/token", func(w http.ResponseWriter, r *http.Request) {
		refuse := false
		first.Do(func() { refuse = true })
		if refuse {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"secret %s is wrong"}`, canary)
			return
		}
		fmt.Fprint(w, `{"access_token":"tok","expires_in":60}`)
	})
	f.handleCheck(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"statusCode":400,"message":"we got client_secret=%s"}`, canary)
	})
	f.url = testutil.Serve(t, f.mux)
	cfg := f.config()
	cfg.ClientSecret = canary
	c := newClient(cfg)

	_, err := c.Check(context.Background(), "tiktok", "1000000008")
	if err == nil {
		t.Fatal("want the token refusal as an error")
	}
	if strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), canary) {
		t.Errorf("error leaks the client secret: %v", err)
	}
	res, err := c.Check(context.Background(), "tiktok", "1000000008")
	if err != nil || res.Outcome != Invalid {
		t.Fatalf("Check = %+v, %v; want invalid", res, err)
	}
	if s := fmt.Sprintf("%+v %s", res, res.Payload); strings.Contains(s, canary) {
		t.Errorf("result leaks the client secret: %s", s)
	}
}
