package mgid

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
)

const transferPattern = "POST /v1/agencies/1001/clients/5001/money-transfers"

func TestTransferSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		account AccountType
		file    string
		want    TransferResult
	}{
		{Personal, "transfer_personal.json", TransferResult{AgencyID: 1001, ClientID: 5001, Status: "success", AccountBalance: money.MustParse("1084.50"), ClientBalance: money.MustParse("160")}},
		{Bonus, "transfer_bonus.json", TransferResult{AgencyID: 1001, ClientID: 5001, Status: "success", AccountBalance: money.MustParse("20"), ClientBalance: money.MustParse("160")}},
	}
	for _, tt := range tests {
		t.Run(string(tt.account), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			file := serveFile(t, tt.file)
			hits := f.handle(transferPattern, func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if q.Get("account_type") != string(tt.account) || q.Get("transfer_amount") != "150.00" {
					t.Errorf("query = %q", r.URL.RawQuery)
				}
				file(w, r)
			})
			got, err := f.client().Transfer(context.Background(), 5001, tt.account, money.MustParse("150"))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Transfer = %+v, want %+v", got, tt.want)
			}
			if hits.Load() != 1 {
				t.Errorf("requests = %d, want 1", hits.Load())
			}
		})
	}
}

func TestTransferFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		handler       func(*testing.T) http.HandlerFunc
		wantKind      providers.Kind
		wantMsg       string
		wantReason    error // ErrInsufficientFunds or ErrInvalidClient
		wantMaybeSent bool
	}{
		// The refusals' wording is the spec's (provider-specs/mgid-agency-api.txt, money-transfers).
		{name: "insufficient funds", handler: body(400, `{"errors":"The amount of money in the account is less than what you are trying to transfer."}`),
			wantKind: providers.Permanent, wantMsg: "The amount of money in the account is less than what you are trying to transfer.", wantReason: ErrInsufficientFunds},
		{name: "insufficient funds in a 200", handler: body(200, `{"errors":["The amount of money in the account is less than what you are trying to transfer."]}`),
			wantKind: providers.Permanent, wantMsg: "The amount of money in the account is less than what you are trying to transfer.", wantReason: ErrInsufficientFunds},
		{name: "invalid client id", handler: body(400, `{"errors":["Invalid client id"]}`), wantKind: providers.Permanent, wantMsg: "Invalid client id", wantReason: ErrInvalidClient},
		{name: "refusal in a 200", handler: body(200, `{"errors":["Account (client, amount) is not specified"]}`), wantKind: providers.Permanent, wantMsg: "Account (client, amount) is not specified"},
		{name: "429 is not resent", handler: body(429, `{"errors":"slow down"}`), wantKind: providers.RateLimited, wantMsg: "slow down"},
		{name: "5xx may have been applied", handler: body(502, `{"errors":"upstream"}`), wantKind: providers.Retryable, wantMsg: "upstream", wantMaybeSent: true},
		{name: "unreadable 200", handler: body(200, `{"status":"succ`), wantKind: providers.Malformed, wantMaybeSent: true},
		{name: "unknown status", handler: body(200, `{"status":"pending"}`), wantKind: providers.Malformed, wantMaybeSent: true},
		{name: "connection dropped without an answer", handler: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { hijackClose(t, w, "") }
		}, wantMaybeSent: true},
		{name: "body cut after a 200", handler: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				hijackClose(t, w, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"status\":")
			}
		}, wantKind: providers.Retryable, wantMaybeSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle(transferPattern, tt.handler(t))
			_, err := f.client().Transfer(context.Background(), 5001, Personal, money.MustParse("150"))
			if err == nil {
				t.Fatal("Transfer succeeded")
			}
			for _, reason := range []error{ErrInsufficientFunds, ErrInvalidClient} {
				if got := errors.Is(err, reason); got != (reason == tt.wantReason) {
					t.Errorf("errors.Is(err, %v) = %v (err %v)", reason, got, err)
				}
			}
			if got := errors.Is(err, providers.ErrMaybeSent); got != tt.wantMaybeSent {
				t.Errorf("MaybeSent = %v, want %v (err %v)", got, tt.wantMaybeSent, err)
			}
			var pe *providers.Error
			if errors.As(err, &pe) {
				if pe.Kind != tt.wantKind || pe.Message != tt.wantMsg || pe.Op != "transfer to client 5001 of agency 1001" {
					t.Errorf("error = %+v, want kind %v message %q", pe, tt.wantKind, tt.wantMsg)
				}
			} else if tt.wantKind != 0 || tt.wantMsg != "" {
				t.Errorf("error %v is not a *providers.Error", err)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("requests = %d, want exactly 1", n)
			}
			f.noSecrets(err.Error())
		})
	}
}

func TestTransferReloginOnRefusedToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		accept   func(string) bool
		wantErr  bool
		wantHits int32
	}{
		{name: "401 then the new token works", accept: func(tok string) bool { return tok == "tok-2" }, wantHits: 2},
		{name: "401 twice", accept: func(string) bool { return false }, wantErr: true, wantHits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.accept)
			hits := f.handle(transferPattern, serveFile(t, "transfer_personal.json"))
			res, err := f.client().Transfer(context.Background(), 5001, Personal, money.MustParse("150"))
			if tt.wantErr {
				pe := asProviderError(t, err)
				if pe.Kind != providers.Auth || errors.Is(err, providers.ErrMaybeSent) {
					t.Errorf("error = %v, want Auth and not MaybeSent", err)
				}
			} else if err != nil || res.Status != "success" {
				t.Fatalf("Transfer = %+v, %v", res, err)
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
			if n := f.logins.Load(); n != 2 {
				t.Errorf("logins = %d, want 2", n)
			}
		})
	}
}

// TestTransferDialRefused: when no connection could be made nothing was
// sent, so the transfer may be tried again and is not MaybeSent.
func TestTransferDialRefused(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	hits := f.handle(transferPattern, serveFile(t, "transfer_personal.json"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	// The login reaches the fake; every later dial goes to the closed port.
	var dials atomic.Int32
	var d net.Dialer
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return d.DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, network, closed)
	}}
	defer tr.CloseIdleConnections()
	c := f.client(WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}))

	_, err = c.Transfer(context.Background(), 5001, Personal, money.MustParse("150"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if errors.Is(err, providers.ErrMaybeSent) {
		t.Errorf("err = %v is MaybeSent, but nothing was sent", err)
	}
	if n := dials.Load(); n != 1+int32(fastRetry.Attempts) {
		t.Errorf("dials = %d, want 1 login + %d transfer attempts", n, fastRetry.Attempts)
	}
	if hits.Load() != 0 {
		t.Errorf("the fake received %d transfers", hits.Load())
	}
}

func TestTransferRefusedLocally(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		clientID int64
		account  AccountType
		amount   money.Amount
	}{
		{"unknown account type", 5001, "credit", money.MustParse("1")},
		{"zero amount", 5001, Personal, money.Amount{}},
		{"negative amount", 5001, Bonus, money.MustParse("-5")},
		{"no client", 0, Personal, money.MustParse("1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			hits := f.handle(transferPattern, serveFile(t, "transfer_personal.json"))
			if _, err := f.client().Transfer(context.Background(), tt.clientID, tt.account, tt.amount); err == nil {
				t.Error("Transfer succeeded")
			}
			if hits.Load() != 0 || f.logins.Load() != 0 {
				t.Errorf("requests = %d, logins = %d; want none", hits.Load(), f.logins.Load())
			}
		})
	}
}
