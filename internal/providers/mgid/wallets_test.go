package mgid

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"syncer/internal/money"
	"syncer/internal/providers"
)

func amountPtr(s string) *money.Amount { a := money.MustParse(s); return &a }

// 5003's credit is null: it stays nil, not 0.
var wantClients = []ClientWallet{
	{ID: 5001, Email: "c5001@example.com", Balance: money.MustParse("10"), Credit: amountPtr("0"), Income: money.MustParse("150.25")},
	{ID: 5002, Email: "c5002@example.com", Balance: money.MustParse("12.5"), Credit: amountPtr("100"), Income: money.MustParse("100")},
	{ID: 5003, Email: "c5003@example.com", Balance: money.MustParse("-3.25"), Credit: nil, Income: money.Amount{}},
}

func TestClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		want    []ClientWallet
	}{
		{name: "array", handler: func(t *testing.T) http.HandlerFunc { return serveFile(t, "clients_array.json") }, want: wantClients},
		{name: "map keyed by id", handler: func(t *testing.T) http.HandlerFunc { return serveFile(t, "clients_map.json") }, want: wantClients},
		{name: "empty array", handler: body(200, `{"clients":[]}`)},
		{name: "credit not sent", handler: body(200, `{"clients":[{"id":7,"email":"c7@example.com","wallet":{"balance":"1.5","income":"2"}}]}`),
			want: []ClientWallet{{ID: 7, Email: "c7@example.com", Balance: money.MustParse("1.5"), Income: money.MustParse("2")}}},
		{name: "null", handler: body(200, `{"clients":null,"errors":[]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle("GET /v1/agencies/1001/clients", tt.handler(t))
			var got []ClientWallet
			err := f.client().Clients(context.Background(), nil, func(w ClientWallet) error {
				got = append(got, w)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clients =\n%+v\nwant\n%+v", got, tt.want)
			}
			if hits.Load() != 1 {
				t.Errorf("requests = %d", hits.Load())
			}
		})
	}
}

func body(status int, s string) func(*testing.T) http.HandlerFunc {
	return func(*testing.T) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, s) }
	}
}

// sequence answers each request with the next handler, repeating the last.
func sequence(hs ...func(*testing.T) http.HandlerFunc) func(*testing.T) http.HandlerFunc {
	return func(t *testing.T) http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, r *http.Request) {
			i := int(n.Add(1)) - 1
			hs[min(i, len(hs)-1)](t)(w, r)
		}
	}
}

func TestClientsFailures(t *testing.T) {
	t.Parallel()
	const oneClient = `{"id":5001,"email":"c5001@example.com","wallet":{"balance":"10.00","credit":0,"income":"150.25"}}`
	cut := func(t *testing.T) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hijackClose(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"+
				`{"clients":[`+oneClient+`,{"id":50`)
		}
	}
	tests := []struct {
		name          string
		handler       func(*testing.T) http.HandlerFunc
		ok            bool
		wantKind      providers.Kind
		wantMsg       string
		wantDelivered int
		wantHits      int32
	}{
		{name: "5xx before delivery is retried", handler: sequence(body(503, `{"errors":"busy"}`), body(500, ""), body(200, `{"clients":[`+oneClient+`]}`)), ok: true, wantDelivered: 1, wantHits: 3},
		{name: "5xx every time", handler: body(502, "bad gateway"), wantKind: providers.Retryable, wantMsg: "bad gateway", wantHits: 3},
		{name: "429 then success", handler: sequence(body(429, `{"errors":"slow down"}`), body(200, `{"clients":[]}`)), ok: true, wantHits: 2},
		{name: "cut after the first client is not resent", handler: cut, wantKind: providers.Retryable, wantDelivered: 1, wantHits: 1},
		{name: "truncated JSON", handler: body(200, `{"clients":[`+oneClient), wantKind: providers.Malformed, wantDelivered: 1, wantHits: 1},
		{name: "no clients field", handler: body(200, `{"total":0}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "clients is a string", handler: body(200, `{"clients":"none"}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "not an object", handler: body(200, `[]`), wantKind: providers.Malformed, wantHits: 1},
		{name: "bad amount", handler: body(200, `{"clients":[{"id":1,"wallet":{"balance":"ten"}}]}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "entry without id", handler: body(200, `{"clients":[{"email":"x@example.com"}]}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "map key not an id", handler: body(200, `{"clients":{"abc":{"email":"x@example.com"}}}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "errors in a 200", handler: body(200, `{"errors":["Something failed"],"clients":[]}`), wantKind: providers.Permanent, wantMsg: "Something failed", wantHits: 1},
		// The refusal arrives after a client was delivered: logging in again
		// and resending would deliver it twice.
		{name: "invalid token after delivery is not resent", handler: body(200, `{"clients":[`+oneClient+`],"errors":"invalid token"}`), wantKind: providers.Auth, wantMsg: "invalid token", wantDelivered: 1, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle("GET /v1/agencies/1001/clients", tt.handler(t))
			delivered := 0
			err := f.client().Clients(context.Background(), nil, func(ClientWallet) error {
				delivered++
				return nil
			})
			if tt.ok {
				if err != nil {
					t.Errorf("err = %v", err)
				}
			} else {
				pe := asProviderError(t, err)
				if pe.Kind != tt.wantKind || (tt.wantMsg != "" && pe.Message != tt.wantMsg) {
					t.Errorf("error = %v (kind %v), want kind %v message %q", err, pe.Kind, tt.wantKind, tt.wantMsg)
				}
				if pe.Op != "clients of agency 1001" {
					t.Errorf("Op = %q", pe.Op)
				}
			}
			if delivered != tt.wantDelivered {
				t.Errorf("delivered = %d, want %d", delivered, tt.wantDelivered)
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
			if n := f.logins.Load(); n != 1 {
				t.Errorf("logins = %d, want 1", n)
			}
		})
	}
}

func TestClientsCallbackErrorStops(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	hits := f.handle("GET /v1/agencies/1001/clients", serveFile(t, "clients_array.json"))
	stop := errors.New("stop here")
	calls := 0
	err := f.client().Clients(context.Background(), nil, func(ClientWallet) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("err = %v, want the callback's error itself", err)
	}
	if calls != 2 || hits.Load() != 1 {
		t.Errorf("calls = %d, requests = %d; want 2, 1", calls, hits.Load())
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  func(*testing.T) http.HandlerFunc
		want     ClientWallet
		wantKind providers.Kind
		wantMsg  string
		wantHits int32
	}{
		{name: "recorded", handler: func(t *testing.T) http.HandlerFunc { return serveFile(t, "client.json") },
			want: ClientWallet{ID: 5001, Balance: money.MustParse("10"), Credit: amountPtr("0"), Income: money.MustParse("150.25")}, wantHits: 1},
		{name: "string id and numbers", handler: body(200, `{"id":"5001","email":"c@example.com","wallet":{"balance":1.5,"credit":"2","income":3}}`),
			want: ClientWallet{ID: 5001, Email: "c@example.com", Balance: money.MustParse("1.5"), Credit: amountPtr("2"), Income: money.MustParse("3")}, wantHits: 1},
		{name: "invalid client id", handler: body(400, `{"errors":["Invalid client id"]}`), wantKind: providers.Permanent, wantMsg: "Invalid client id", wantHits: 1},
		{name: "invalid client id as string", handler: body(400, `{"errors":"Invalid client id"}`), wantKind: providers.Permanent, wantMsg: "Invalid client id", wantHits: 1},
		// Unreadable 2xx answers are asked for again, like a 5xx, within the budget.
		{name: "malformed body", handler: body(200, `{"id":5001,"wallet":`), wantKind: providers.Malformed, wantHits: 3},
		{name: "html body", handler: body(200, `<html>maintenance</html>`), wantKind: providers.Malformed, wantHits: 3},
		{name: "another client's answer", handler: body(200, `{"id":5002,"wallet":{}}`), wantKind: providers.Malformed, wantHits: 1},
		{name: "5xx then success", handler: sequence(body(500, ""), func(t *testing.T) http.HandlerFunc { return serveFile(t, "client.json") }),
			want: ClientWallet{ID: 5001, Balance: money.MustParse("10"), Credit: amountPtr("0"), Income: money.MustParse("150.25")}, wantHits: 2},
		{name: "429 Retry-After 0 then success", handler: sequence(func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				writeJSON(w, 429, `{"errors":"rate limit"}`)
			}
		}, func(t *testing.T) http.HandlerFunc { return serveFile(t, "client.json") }),
			want: ClientWallet{ID: 5001, Balance: money.MustParse("10"), Credit: amountPtr("0"), Income: money.MustParse("150.25")}, wantHits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle("GET /v1/agencies/1001/clients/5001", tt.handler(t))
			got, err := f.client().Client(context.Background(), 5001)
			if tt.wantKind == 0 && tt.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Client = %+v, want %+v", got, tt.want)
				}
			} else {
				pe := asProviderError(t, err)
				if pe.Kind != tt.wantKind || pe.Message != tt.wantMsg || pe.Op != "client 5001 of agency 1001" {
					t.Errorf("error = %+v, want kind %v message %q", pe, tt.wantKind, tt.wantMsg)
				}
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
		})
	}
}

func TestRetryAfterIsCarried(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	hits := f.handle("GET /v1/agencies/1001", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		writeJSON(w, http.StatusTooManyRequests, `{"errors":"too many requests"}`)
	})
	_, err := f.client(WithRetry(providers.NoRetry)).Agency(context.Background())
	pe := asProviderError(t, err)
	if pe.Kind != providers.RateLimited || pe.RetryAfter.Seconds() != 7 || pe.Status != 429 {
		t.Errorf("error = %+v, want RateLimited with RetryAfter 7s", pe)
	}
	if hits.Load() != 1 {
		t.Errorf("requests = %d, want 1", hits.Load())
	}
}
