package gmedia

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
)

type canned struct {
	status int
	file   string // testdata file, or
	body   string // inline body
	ctype  string // default application/json
}

// sequence answers the i-th request with rs[i], repeating the last.
func sequence(t *testing.T, rs ...canned) http.HandlerFunc {
	t.Helper()
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = []byte(r.body)
		if r.file != "" {
			bodies[i] = readTestdata(t, r.file)
		}
	}
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(rs)-1)
		ct := rs[i].ctype
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(rs[i].status)
		_, _ = w.Write(bodies[i])
	}
}

func TestCheckOutcomes(t *testing.T) {
	t.Parallel()
	big := `{"status":"active","pad":"` + strings.Repeat("a", MaxPayload) + `"}`
	tests := []struct {
		name         string
		responses    []canned
		want         Outcome
		wantStatus   string
		wantHTTP     int
		wantCode     string
		wantMsg      string // substring
		kept         bool   // Payload is the last response's body
		wantAttempts int32
	}{
		{name: "found active", responses: []canned{{status: 200, file: "check_found.json"}}, want: Found, wantStatus: "active", wantHTTP: 200, kept: true, wantAttempts: 1},
		{name: "found expired", responses: []canned{{status: 200, file: "check_expired.json"}}, want: Found, wantStatus: "expired", wantHTTP: 200, kept: true, wantAttempts: 1},
		{name: "spec 404 statusCode 4000", responses: []canned{{status: 404, file: "error_404.json"}}, want: NotFound, wantHTTP: 404, wantCode: "4000", wantMsg: "لا توجد بيانات", wantAttempts: 1},
		{name: "404 without body", responses: []canned{{status: 404}}, want: NotFound, wantHTTP: 404, wantAttempts: 1},
		{name: "200 with statusCode 4000", responses: []canned{{status: 200, body: `{"statusCode":4000,"message":"No data found"}`}}, want: NotFound, wantHTTP: 200, wantCode: "4000", wantAttempts: 1},
		{name: "400 with code 4000 as a string", responses: []canned{{status: 400, body: `{"code":"4000","message":"No data found"}`}}, want: NotFound, wantHTTP: 400, wantCode: "4000", wantAttempts: 1},
		{name: "spec 400", responses: []canned{{status: 400, file: "error_400.json"}}, want: Invalid, wantHTTP: 400, wantCode: "400", wantMsg: "Invalid data or not found", wantAttempts: 1},
		{name: "200 with statusCode 400", responses: []canned{{status: 200, file: "error_400.json"}}, want: Invalid, wantHTTP: 200, wantCode: "400", wantAttempts: 1},
		{name: "spec 500 retried then recorded", responses: []canned{{status: 500, file: "error_500.json"}}, want: ProviderError, wantHTTP: 500, wantCode: "500", wantMsg: "Please contact Gmedia", wantAttempts: 3},
		{name: "502 without body", responses: []canned{{status: 502}}, want: ProviderError, wantHTTP: 502, wantAttempts: 3},
		{name: "200 with statusCode 500 retried", responses: []canned{{status: 200, file: "error_500.json"}}, want: ProviderError, wantHTTP: 200, wantCode: "500", wantAttempts: 3},
		{name: "429 retried then recorded", responses: []canned{{status: 429, body: `{"message":"slow down"}`}}, want: ProviderError, wantHTTP: 429, wantMsg: "slow down", wantAttempts: 3},
		{name: "500 then found", responses: []canned{{status: 500, file: "error_500.json"}, {status: 200, file: "check_found.json"}}, want: Found, wantStatus: "active", wantHTTP: 200, kept: true, wantAttempts: 2},
		{name: "503 then not found", responses: []canned{{status: 503, body: "<html>down</html>", ctype: "text/html"}, {status: 404, file: "error_404.json"}}, want: NotFound, wantHTTP: 404, wantCode: "4000", wantAttempts: 2},
		{name: "routing 404 from a framework", responses: []canned{{status: 404, file: "route_404.json"}}, want: ProviderError, wantHTTP: 404, wantCode: "404", wantMsg: "GMEDIA_CHECK_URL", wantAttempts: 1},
		{name: "routing 404 html", responses: []canned{{status: 404, body: "<html><body>Not Found</body></html>", ctype: "text/html"}}, want: ProviderError, wantHTTP: 404, wantMsg: "GMEDIA_CHECK_URL", wantAttempts: 1},
		{name: "200 not json is retried like a 5xx", responses: []canned{{status: 200, body: "OK", ctype: "text/plain"}}, want: ProviderError, wantHTTP: 200, wantMsg: "not a JSON object", wantAttempts: 3},
		{name: "200 json array", responses: []canned{{status: 200, body: `[1,2]`}}, want: ProviderError, wantHTTP: 200, wantAttempts: 1},
		{name: "unexpected 422 recorded once", responses: []canned{{status: 422, body: `{"message":["platform must be a string","account too short"]}`}}, want: ProviderError, wantHTTP: 422, wantMsg: "platform must be a string; account too short", wantAttempts: 1},
		{name: "found without status", responses: []canned{{status: 200, body: `{"licenseNumber":"M-1"}`}}, want: Found, wantHTTP: 200, kept: true, wantAttempts: 1},
		{name: "found too big to keep", responses: []canned{{status: 200, body: big}}, want: Found, wantStatus: "active", wantHTTP: 200, wantMsg: "not kept", wantAttempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handleCheck(sequence(t, tc.responses...))
			res, err := f.client().Check(context.Background(), "TikTok", "1000000008")
			if err != nil {
				t.Fatalf("Check error: %v", err)
			}
			if res.Outcome != tc.want || res.Status != tc.wantStatus || res.HTTPStatus != tc.wantHTTP || res.Code != tc.wantCode {
				t.Errorf("got outcome=%s status=%q http=%d code=%q; want %s %q %d %q",
					res.Outcome, res.Status, res.HTTPStatus, res.Code, tc.want, tc.wantStatus, tc.wantHTTP, tc.wantCode)
			}
			if !strings.Contains(res.Message, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", res.Message, tc.wantMsg)
			}
			var wantPayload []byte
			if last := tc.responses[len(tc.responses)-1]; tc.kept && last.file != "" {
				wantPayload = readTestdata(t, last.file)
			} else if tc.kept {
				wantPayload = []byte(last.body)
			}
			if !bytes.Equal(res.Payload, wantPayload) {
				t.Errorf("payload = %q, want %q", res.Payload, wantPayload)
			}
			if got := f.checkCalls.Load(); got != tc.wantAttempts {
				t.Errorf("%d check requests, want %d", got, tc.wantAttempts)
			}
			if got := f.tokenCalls.Load(); got != 1 {
				t.Errorf("%d token requests, want 1", got)
			}
		})
	}
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"", "POST", "get", "GET"} {
		t.Run("method "+method, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.handleCheck(reply(t, 200, "check_found.json"))
			cfg := f.config()
			cfg.CheckMethod = method
			if _, err := newClient(cfg).Check(context.Background(), " X ", "2000000006"); err != nil {
				t.Fatal(err)
			}
			seen := f.seen()
			if len(seen) != 1 {
				t.Fatalf("%d check requests, want 1", len(seen))
			}
			s := seen[0]
			wantMethod, wantCT := "POST", "application/json"
			if strings.EqualFold(method, "GET") {
				wantMethod, wantCT = "GET", ""
			}
			if s.method != wantMethod || s.contentType != wantCT || s.auth != "Bearer tok-1" || s.platform != "twitter" || s.account != "2000000006" {
				t.Errorf("request = %+v; want %s, content type %q, Bearer tok-1, twitter, 2000000006", s, wantMethod, wantCT)
			}
		})
	}
}

func TestCheckRefusesBadInputWithoutSending(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handleCheck(reply(t, 200, "check_found.json"))
	c := f.client()
	// Sequential subtests: the count below covers all of them.
	for _, in := range [][2]string{{"myspace", "1000000008"}, {"tiktok", "1000000000"}, {"tiktok", "١٠٠٠٠٠٠٠٠٨"}, {"", ""}} {
		t.Run(in[0]+" "+in[1], func(t *testing.T) {
			res, err := c.Check(context.Background(), in[0], in[1])
			if err != nil || res.Outcome != Invalid || res.Message == "" || res.HTTPStatus != 0 {
				t.Errorf("Check(%q, %q) = %+v, %v; want invalid with a message, nil error", in[0], in[1], res, err)
			}
		})
	}
	if n := f.tokenCalls.Load() + f.checkCalls.Load(); n != 0 {
		t.Errorf("%d requests sent for invalid input, want 0", n)
	}
}

func TestCheckNetworkFailureIsProviderError(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/gmedia/CheckMawathoq"
	ln.Close() // nothing listens: connection refused
	cfg := f.config()
	cfg.CheckURL, cfg.CheckMethod = dead, "GET"
	res, err := newClient(cfg).Check(context.Background(), "youtube", "1000000008")
	if err != nil {
		t.Fatalf("Check error: %v; a dead provider must not fail the round", err)
	}
	if res.Outcome != ProviderError || res.HTTPStatus != 0 || res.Message == "" {
		t.Errorf("got %+v, want provider_error with a message and no HTTP status", res)
	}
	if strings.Contains(res.Message, "1000000008") {
		t.Errorf("message %q carries the account number", res.Message)
	}
}

func TestCheckCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.handleCheck(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the run is stopped while Gmedia is failing
		w.WriteHeader(http.StatusInternalServerError)
	})
	cfg := f.config()
	cfg.Retry = providers.Retry{Attempts: 5, Base: time.Hour, Max: time.Hour}
	_, err := newClient(cfg).Check(ctx, "facebook", "1000000008")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := newClient(cfg).Check(ctx, "facebook", "1000000008"); !errors.Is(err, context.Canceled) {
		t.Fatalf("already-cancelled: err = %v, want context.Canceled", err)
	}
}
