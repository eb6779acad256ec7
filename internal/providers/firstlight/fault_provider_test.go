package firstlight

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/providers"
)

// The spec's only refusal code, 40400101 "Invalid X-Authorization", names
// the user token. A 401 or 403 without it refuses the Authorization header:
// our IAM token, which would fail every target alike, so it is an error that
// ends the round rather than an auth_failed result recorded on the target.
func TestIAMTokenRefusedIsAnError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer canned
	}{
		{"plain 401", canned{status: 401}},
		{"401 with a gateway body", canned{status: 401, body: `{"error":"invalid_token"}`}},
		{"plain 403", canned{status: 403, body: `{"message":"Forbidden"}`}},
		{"401 with a code that is not the user's", canned{status: 401, body: `{"header":{"code":-1,"errors":[{"code":"40100001","description":"Invalid Authorization"}]}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, sequence(t, tc.answer))
			res, err := newClient(f.staticConfig()).CheckRedeem(context.Background(), validRequest, userToken)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != providers.Auth || providers.Class(err) != "auth" || !strings.Contains(err.Error(), "IAM token refused") {
				t.Fatalf("CheckRedeem = %+v, %v; want an auth error naming the IAM token", res, err)
			}
			if strings.Contains(err.Error(), "static-iam") || strings.Contains(err.Error(), userToken) {
				t.Errorf("error quotes a token: %v", err)
			}
			if n := f.checkCalls.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (a refusal is not retried)", n)
			}
		})
	}
	// The user's refusal stays a result.
	f := newFake(t, sequence(t, canned{status: 401, file: "error_40400101.json"}))
	res, err := newClient(f.staticConfig()).CheckRedeem(context.Background(), validRequest, userToken)
	if err != nil || res.Outcome != AuthFailed || res.Code != "40400101" {
		t.Fatalf("40400101: CheckRedeem = %+v, %v; want an auth_failed result", res, err)
	}
}

// A token endpoint that never answers ends with the request's deadline,
// not a hang, and no check is sent without a token.
func TestTokenEndpointHanging(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.mux.HandleFunc("POST /hang/token", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cfg := f.ccConfig()
	cfg.TokenURL = f.url + "/hang/token"
	cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := newClient(cfg).CheckRedeem(context.Background(), validRequest, userToken)
	if err == nil || providers.Class(err) == "internal" {
		t.Fatalf("err = %v (class %s), want a timeout or retryable error", err, providers.Class(err))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with a 100ms client timeout and 3 attempts", took)
	}
	if n := f.checkCalls.Load(); n != 0 {
		t.Errorf("%d checks sent without an IAM token", n)
	}
}
