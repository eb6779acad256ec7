package firstlight

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"syncer/internal/providers"
)

const userToken = "user-token-abc"

func TestCheckRedeemOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		responses    []canned
		want         Outcome
		wantHTTP     int
		wantCode     string
		wantDesc     string
		wantAttempts int32
	}{
		{name: "200 success", responses: []canned{{status: 200, file: "ok.json"}}, want: Entitled, wantHTTP: 200, wantDesc: "Success", wantAttempts: 1},
		{name: "200 empty body (the spec's example)", responses: []canned{{status: 200}}, want: Entitled, wantHTTP: 200, wantAttempts: 1},
		{name: "200 redeemable false", responses: []canned{{status: 200, body: `{"header":{"code":0},"data":{"redeemable":false}}`}}, want: NotEntitled, wantHTTP: 200, wantAttempts: 1},
		{name: "200 failure header without a code", responses: []canned{{status: 200, body: `{"header":{"code":-1,"message":"Failure"}}`}}, want: ProviderError, wantHTTP: 200, wantDesc: "Failure", wantAttempts: 1},
		{name: "spec sample 40400101", responses: []canned{{status: 401, file: "error_40400101.json"}}, want: AuthFailed, wantHTTP: 401, wantCode: "40400101", wantDesc: "Invalid X-Authorization", wantAttempts: 1},
		{name: "spec sample 40400140", responses: []canned{{status: 403, file: "error_40400140.json"}}, want: NotEntitled, wantHTTP: 403, wantCode: "40400140", wantDesc: "Not entitled to redeem", wantAttempts: 1},
		{name: "spec sample 40400106", responses: []canned{{status: 400, file: "error_40400106.json"}}, want: InvalidRequest, wantHTTP: 400, wantCode: "40400106", wantDesc: "Missing or invalid catalog type", wantAttempts: 1},
		{name: "spec sample 40400107", responses: []canned{{status: 400, file: "error_40400107.json"}}, want: InvalidRequest, wantHTTP: 400, wantCode: "40400107", wantDesc: "Missing or invalid delivery type", wantAttempts: 1},
		{name: "40400102 numeric code", responses: []canned{{status: 400, body: `{"header":{"errors":[{"code":40400102,"description":"Invalid X-Device-Id"}]}}`}}, want: InvalidRequest, wantHTTP: 400, wantCode: "40400102", wantDesc: "Invalid X-Device-Id", wantAttempts: 1},
		{name: "40400121", responses: []canned{{status: 400, body: `{"header":{"errors":[{"code":"40400121","description":"Missing or invalid client identifier"}]}}`}}, want: InvalidRequest, wantHTTP: 400, wantCode: "40400121", wantAttempts: 1},
		{name: "known code wins over an unknown first", responses: []canned{{status: 400, body: `{"header":{"errors":[{"code":"99","description":"?"},{"code":"40400140","description":"Not entitled to redeem"}]}}`}}, want: NotEntitled, wantHTTP: 400, wantCode: "40400140", wantAttempts: 1},
		{name: "400 unknown code", responses: []canned{{status: 400, body: `{"header":{"errors":[{"code":"40400130","description":"New thing"}]}}`}}, want: InvalidRequest, wantHTTP: 400, wantCode: "40400130", wantDesc: "New thing", wantAttempts: 1},
		// A 401/403 without 40400101 is our IAM token: see TestIAMTokenRefusedIsAnError.
		{name: "200 HTML page retried then recorded", responses: []canned{{status: 200, body: "<html><body>502 Bad Gateway</body></html>"}}, want: ProviderError, wantHTTP: 200, wantDesc: "not JSON", wantAttempts: 3},
		{name: "200 HTML page then entitled", responses: []canned{{status: 200, body: "<html>maintenance</html>"}, {status: 200, file: "ok.json"}}, want: Entitled, wantHTTP: 200, wantDesc: "Success", wantAttempts: 2},
		{name: "200 truncated JSON retried", responses: []canned{{status: 200, body: `{"header":{"code":0,"mess`}, {status: 200, file: "ok.json"}}, want: Entitled, wantHTTP: 200, wantAttempts: 2},
		{name: "40400190 retried then recorded", responses: []canned{{status: 500, file: "error_40400190.json"}}, want: ProviderError, wantHTTP: 500, wantCode: "40400190", wantDesc: "System failure", wantAttempts: 3},
		{name: "40400191 retried then recorded", responses: []canned{{status: 500, file: "error_40400191.json"}}, want: ProviderError, wantHTTP: 500, wantCode: "40400191", wantDesc: "Unknown failure", wantAttempts: 3},
		{name: "502 without body", responses: []canned{{status: 502}}, want: ProviderError, wantHTTP: 502, wantAttempts: 3},
		{name: "429", responses: []canned{{status: 429}}, want: ProviderError, wantHTTP: 429, wantAttempts: 3},
		{name: "500 then entitled", responses: []canned{{status: 500, file: "error_40400190.json"}, {status: 200, file: "ok.json"}}, want: Entitled, wantHTTP: 200, wantDesc: "Success", wantAttempts: 2},
		{name: "503 then not entitled", responses: []canned{{status: 503}, {status: 403, file: "error_40400140.json"}}, want: NotEntitled, wantHTTP: 403, wantCode: "40400140", wantAttempts: 2},
		{name: "unexpected 404", responses: []canned{{status: 404, body: "not here"}}, want: ProviderError, wantHTTP: 404, wantAttempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, sequence(t, tc.responses...))
			res, err := newClient(f.staticConfig()).CheckRedeem(context.Background(), validRequest, userToken)
			if err != nil {
				t.Fatalf("CheckRedeem error: %v", err)
			}
			if res.Outcome != tc.want || res.HTTPStatus != tc.wantHTTP || res.Code != tc.wantCode || !strings.Contains(res.Description, tc.wantDesc) {
				t.Errorf("got %+v; want outcome %s, HTTP %d, code %q, description containing %q", res, tc.want, tc.wantHTTP, tc.wantCode, tc.wantDesc)
			}
			if got := f.checkCalls.Load(); got != tc.wantAttempts {
				t.Errorf("%d requests, want %d", got, tc.wantAttempts)
			}
			reqs := f.requests()
			if last := reqs[len(reqs)-1]; res.TrackingID != last.trackingID {
				t.Errorf("result tracking id %q, want the last one sent %q", res.TrackingID, last.trackingID)
			}
		})
	}
}

func TestCheckRedeemRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 500}, canned{status: 500}, canned{status: 200, file: "ok.json"}))
	c := newClient(f.staticConfig())
	res, err := c.CheckRedeem(context.Background(), validRequest, userToken)
	if err != nil || res.Outcome != Entitled {
		t.Fatalf("CheckRedeem = %+v, %v", res, err)
	}
	if _, err := c.CheckRedeem(context.Background(), validRequest, userToken); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	ids := map[string]bool{}
	for i, r := range reqs {
		if r.auth != "Bearer static-iam" || r.xauth != userToken || r.contentType != "application/json" {
			t.Errorf("request %d headers: Authorization %q, X-Authorization %q, Content-Type %q", i, r.auth, r.xauth, r.contentType)
		}
		want := map[string]string{"deviceId": validRequest.DeviceID, "contentId": validRequest.ContentID, "contentTypeId": "vod", "catalogType": "movie", "delivery": "streaming"}
		if len(r.body) != len(want) {
			t.Errorf("request %d body %v, want %v", i, r.body, want)
		}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("request %d body %s = %q, want %q", i, k, r.body[k], v)
			}
		}
		u, err := uuid.Parse(r.trackingID)
		if err != nil || u.Version() != 4 {
			t.Errorf("request %d X-Tracking-Id %q is not a v4 UUID", i, r.trackingID)
		}
		if ids[r.trackingID] {
			t.Errorf("request %d reuses tracking id %s", i, r.trackingID)
		}
		ids[r.trackingID] = true
	}
	if res.TrackingID != reqs[2].trackingID {
		t.Errorf("result tracking id %s, want the third attempt's %s", res.TrackingID, reqs[2].trackingID)
	}
}

func TestCheckRedeemInjectedTrackingID(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	cfg := f.staticConfig()
	cfg.NewTrackingID = func() string { return "trace-1" }
	res, err := newClient(cfg).CheckRedeem(context.Background(), validRequest, userToken)
	if err != nil || res.TrackingID != "trace-1" || f.requests()[0].trackingID != "trace-1" {
		t.Fatalf("got %+v, %v; sent %q; want trace-1", res, err, f.requests()[0].trackingID)
	}
}

func TestCheckRedeemRefusesWithoutSending(t *testing.T) {
	t.Parallel()
	f := newFake(t, sequence(t, canned{status: 200, file: "ok.json"}))
	c := newClient(f.ccConfig())
	bad := validRequest
	bad.CatalogType = "film"
	for _, tc := range []struct {
		name  string
		req   Request
		token string
		want  Outcome
	}{
		{"catalog type not allowed", bad, userToken, InvalidRequest},
		{"empty request", Request{}, userToken, InvalidRequest},
		{"no user token", validRequest, "", AuthFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.CheckRedeem(context.Background(), tc.req, tc.token)
			if err != nil || res.Outcome != tc.want || res.Description == "" || res.HTTPStatus != 0 {
				t.Errorf("CheckRedeem(%+v) = %+v, %v; want %s with a description", tc.req, res, err, tc.want)
			}
		})
	}
	if n := f.checkCalls.Load() + f.tokenCalls.Load(); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

func TestCheckRedeemErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newClient(f.staticConfig()).CheckRedeem(ctx, validRequest, userToken); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}

	cfg := f.staticConfig()
	cfg.Retry = providers.Retry{Attempts: 5, Base: time.Hour, Max: time.Hour}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := newClient(cfg).CheckRedeem(ctx, validRequest, userToken); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline during backoff: err = %v, want context.DeadlineExceeded", err)
	}

	cfg = f.staticConfig()
	cfg.IAMToken = ""
	var pe *providers.Error
	if _, err := newClient(cfg).CheckRedeem(context.Background(), validRequest, userToken); !errors.As(err, &pe) || pe.Kind != providers.Auth {
		t.Errorf("no IAM token: err = %v, want an auth error", err)
	}
}
