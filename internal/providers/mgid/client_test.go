package mgid

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
	"syncer/internal/testutil"
)

func TestLoginAndTokenReuse(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	var gotAuth []string
	var mu sync.Mutex
	f.handle("GET /v1/agencies/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.PathValue("id") != "1001" {
			t.Errorf("agency path id = %q", r.PathValue("id"))
		}
		serveFile(t, "agency.json")(w, r)
	})
	c := f.client()
	ctx := context.Background()

	id, err := c.AccountID(ctx)
	if err != nil || id != testAccount {
		t.Fatalf("AccountID = %d, %v", id, err)
	}
	for range 2 {
		b, err := c.Agency(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := AgencyBalance{AgencyID: 1001, Personal: money.MustParse("1234.50"), Bonus: money.Amount{}, ClientsBalance: money.MustParse("99.10")}
		if b != want {
			t.Errorf("Agency = %+v, want %+v", b, want)
		}
	}
	if n := f.logins.Load(); n != 1 {
		t.Errorf("logins = %d, want 1 (token reused)", n)
	}
	if len(gotAuth) != 2 || gotAuth[0] != "Bearer tok-1" || gotAuth[1] != "Bearer tok-1" {
		t.Errorf("Authorization headers = %q", gotAuth)
	}
	f.noSecrets(c.String())
}

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	// Hold the first login open so the other callers arrive while it runs.
	f.mux.HandleFunc("POST /hold/v1/auth/agencies-token", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		<-release
		f.login(w, r)
	})
	c := New(f.url+"/hold", testLogin, testPassword, WithRetry(fastRetry))

	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			id, err := c.AccountID(context.Background())
			if err == nil && id != testAccount {
				err = errors.New("wrong account id")
			}
			errs <- err
		})
	}
	testutil.Receive(t, started, 10*time.Second, "the first login to arrive")
	time.Sleep(5 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.logins.Load(); n != 1 {
		t.Errorf("logins = %d, want 1 shared by %d callers", n, callers)
	}
}

func TestReloginOnRefusedToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		accept     func(string) bool
		handler    func(w http.ResponseWriter, r *http.Request)
		wantErr    bool
		wantLogins int32
		wantHits   int32
	}{
		{
			name:       "401 then the new token works",
			accept:     func(tok string) bool { return tok == "tok-2" },
			wantLogins: 2, wantHits: 2,
		},
		{
			name:   "invalid token in a 200 body",
			accept: func(string) bool { return true },
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "Bearer tok-1" {
					writeJSON(w, http.StatusOK, `{"errors":"invalid token"}`)
					return
				}
				serveFile(t, "agency.json")(w, r)
			},
			wantLogins: 2, wantHits: 2,
		},
		{
			name:       "401 twice is an auth error",
			accept:     func(string) bool { return false },
			wantErr:    true,
			wantLogins: 2, wantHits: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.accept)
			h := tt.handler
			if h == nil {
				h = serveFile(t, "agency.json")
			}
			hits := f.handle("GET /v1/agencies/{id}", h)
			c := f.client()
			b, err := c.Agency(context.Background())
			if tt.wantErr {
				pe := asProviderError(t, err)
				if pe.Kind != providers.Auth || pe.Status != http.StatusUnauthorized || pe.Message != "invalid token" {
					t.Errorf("error = %+v, want Auth 401 invalid token", pe)
				}
				f.noSecrets(err.Error())
			} else if err != nil || b.Personal != money.MustParse("1234.5") {
				t.Fatalf("Agency = %+v, %v", b, err)
			}
			if n := f.logins.Load(); n != tt.wantLogins {
				t.Errorf("logins = %d, want %d", n, tt.wantLogins)
			}
			if n := hits.Load(); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
		})
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, login, password string
		echo                  bool // the server quotes the request back
		wantMsg               string
	}{
		{name: "unknown login", login: "nobody", password: testPassword, wantMsg: "Login does not exist"},
		{name: "wrong password", login: testLogin, password: "wrong-" + testPassword, wantMsg: "Incorrect password."},
		{name: "server echoes the password", login: testLogin, password: testPassword + "x", echo: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, nil)
			base := f.url
			if tt.echo {
				f.mux.HandleFunc("POST /echo/v1/auth/agencies-token", func(w http.ResponseWriter, r *http.Request) {
					f.logins.Add(1)
					b, _ := io.ReadAll(r.Body)
					writeJSON(w, http.StatusBadRequest, `{"errors":["bad request: `+r.Header.Get("Content-Type")+` `+string(b)+`"]}`)
				})
				base += "/echo"
			}
			logs := &testutil.LockedBuffer{}
			c := New(base, tt.login, tt.password, WithRetry(fastRetry), WithLogger(newTextLogger(logs)))
			_, err := c.AccountID(context.Background())
			pe := asProviderError(t, err)
			if pe.Kind != providers.Auth || pe.Op != "login" {
				t.Errorf("error = %+v, want Auth on login", pe)
			}
			if tt.wantMsg != "" && pe.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", pe.Message, tt.wantMsg)
			}
			if n := f.logins.Load(); n != 1 {
				t.Errorf("logins = %d, want 1 (not retried)", n)
			}
			for _, s := range []string{err.Error(), logs.String()} {
				if strings.Contains(s, tt.password) {
					t.Errorf("password leaked: %s", s)
				}
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         string
		status     int
		header     http.Header
		body       string
		wantKind   providers.Kind
		wantMsg    string
		wantRetry  time.Duration
		wantReason error
		wantNilErr bool
	}{
		{name: "2xx is left to decode", status: 200, body: `{}`, wantNilErr: true},
		{name: "errors array", status: 400, body: `{"errors":["Invalid client id"]}`, wantKind: providers.Permanent, wantMsg: "Invalid client id", wantReason: ErrInvalidClient},
		{name: "errors string", status: 400, body: `{"errors":"Account (client, amount) is not specified "}`, wantKind: providers.Permanent, wantMsg: "Account (client, amount) is not specified"},
		{name: "errors joined", status: 400, body: `{"errors":["dateStart should be in the format of YYYY-MM-DD","clientsIds should be separated by commas"]}`, wantKind: providers.Permanent, wantMsg: "dateStart should be in the format of YYYY-MM-DD; clientsIds should be separated by commas"},
		{name: "401 invalid token", status: 401, body: `{"errors":["invalid token"]}`, wantKind: providers.Auth, wantMsg: "invalid token"},
		{name: "400 invalid token", status: 400, body: `{"errors":"Invalid token"}`, wantKind: providers.Auth, wantMsg: "Invalid token"},
		{name: "login 401", op: "login", status: 401, body: `{"errors":"Incorrect password."}`, wantKind: providers.Auth, wantMsg: "Incorrect password."},
		{name: "login 400", op: "login", status: 400, body: `{"errors":["Login does not exist"]}`, wantKind: providers.Auth, wantMsg: "Login does not exist"},
		{name: "429 Retry-After", status: 429, header: http.Header{"Retry-After": {"7"}}, body: `{"errors":"Too many requests"}`, wantKind: providers.RateLimited, wantMsg: "Too many requests", wantRetry: 7 * time.Second},
		{name: "500 html", status: 500, body: "<html>\n<body>Internal   error</body></html>", wantKind: providers.Retryable, wantMsg: "<html> <body>Internal error</body></html>"},
		{name: "502 empty", status: 502, wantKind: providers.Retryable},
		{name: "404 message", status: 404, body: `{"message":"Not found"}`, wantKind: providers.Permanent, wantMsg: "Not found"},
		{name: "errors object", status: 422, body: `{"errors":{"amount":"must be numeric"}}`, wantKind: providers.Permanent, wantMsg: `{"amount":"must be numeric"}`},
	}
	c := New("http://mgid.invalid", testLogin, testPassword)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := tt.op
			if op == "" {
				op = "agency 1001"
			}
			resp := &http.Response{StatusCode: tt.status, Header: tt.header, Body: io.NopCloser(strings.NewReader(tt.body))}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			err := c.checkResponse(op)(resp)
			if tt.wantNilErr {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			pe := asProviderError(t, err)
			want := providers.Error{Provider: "mgid", Op: op, Status: tt.status, Kind: tt.wantKind, Message: tt.wantMsg, RetryAfter: tt.wantRetry, Reason: tt.wantReason}
			if *pe != want {
				t.Errorf("error = %+v\nwant    %+v", *pe, want)
			}
		})
	}
}

func TestCancelledContextIsReturned(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.handle("GET /v1/agencies/{id}", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		writeJSON(w, http.StatusInternalServerError, `{"errors":"boom"}`)
	})
	_, err := f.client().Agency(ctx)
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled itself", err)
	}
}
