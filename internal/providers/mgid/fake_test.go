package mgid

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

const (
	testLogin    = "agency@example.com"
	testPassword = "pa55-w0rd-Sup3r-secret"
	testAccount  = 1001
)

var fastRetry = providers.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}

// fakeMGID is an MGID agency API: the login issues tok-1, tok-2, ... and the
// handlers registered with handle see only requests whose token accept allows.
type fakeMGID struct {
	t      *testing.T
	mux    *http.ServeMux
	url    string // the server's base URL
	logins atomic.Int32
	accept func(token string) bool
	logs   *testutil.LockedBuffer
}

// newFake starts the server; accept nil accepts every token the login issued.
func newFake(t *testing.T, accept func(token string) bool) *fakeMGID {
	t.Helper()
	if accept == nil {
		accept = func(tok string) bool { return strings.HasPrefix(tok, "tok-") }
	}
	f := &fakeMGID{t: t, accept: accept, logs: &testutil.LockedBuffer{}}
	f.mux, f.url = testutil.Setup(t)
	f.mux.HandleFunc("POST /v1/auth/agencies-token", f.login)
	return f
}

func (f *fakeMGID) login(w http.ResponseWriter, r *http.Request) {
	n := f.logins.Add(1)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("login Content-Type = %q", ct)
	}
	switch {
	case r.PostFormValue("login") != testLogin:
		writeJSON(w, http.StatusUnauthorized, `{"errors":["Login does not exist"]}`)
	case r.PostFormValue("password") != testPassword:
		writeJSON(w, http.StatusUnauthorized, `{"errors":"Incorrect password."}`)
	default:
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"token":"tok-%d","refreshToken":"refresh-%d","accountId":"%d"}`, n, n, testAccount))
	}
}

// handle registers h behind the token check; it returns the count of
// requests that reached the pattern, refused or not.
func (f *fakeMGID) handle(pattern string, h http.HandlerFunc) *atomic.Int32 {
	var hits atomic.Int32
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !f.accept(tok) {
			writeJSON(w, http.StatusUnauthorized, `{"errors":["invalid token"]}`)
			return
		}
		h(w, r)
	})
	return &hits
}

// client is a Client of the fake with a fast retry policy and a captured log.
func (f *fakeMGID) client(opts ...Option) *Client {
	base := []Option{WithRetry(fastRetry), WithLogger(slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}
	return New(f.url, testLogin, testPassword, append(base, opts...)...)
}

// noSecrets fails if the password or a token shows up in text or the log.
func (f *fakeMGID) noSecrets(text string) {
	f.t.Helper()
	for _, where := range []struct{ name, s string }{{"error", text}, {"log", f.logs.String()}} {
		for _, secret := range []string{testPassword, "tok-1", "tok-2"} {
			if strings.Contains(where.s, secret) {
				f.t.Errorf("%s contains secret %q: %s", where.name, secret, where.s)
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func serveFile(t *testing.T, name string) http.HandlerFunc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, string(b)) }
}

// hijackClose drops the connection without answering.
func hijackClose(t *testing.T, w http.ResponseWriter, prefix string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if prefix != "" {
		_, _ = buf.WriteString(prefix)
		_ = buf.Flush()
	}
	_ = conn.Close()
}

// asProviderError returns err's *providers.Error or fails the test.
func asProviderError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
