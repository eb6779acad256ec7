package gmedia

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

// tinyRetry keeps retry tests fast.
var tinyRetry = providers.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}

// fakeGmedia is an httptest server with the token and check endpoints. Each
// token it issues is "tok-N"; check requests are recorded.
type fakeGmedia struct {
	t   *testing.T
	url string // the server's base URL
	mux *http.ServeMux

	tokenCalls atomic.Int32
	checkCalls atomic.Int32

	mu         sync.Mutex
	tokenBody  map[string]string // last token request
	checks     []seenCheck
	expiresIn  int
	tokenDelay time.Duration
}

type seenCheck struct {
	method, auth, contentType string
	platform, account         string
}

func newFake(t *testing.T) *fakeGmedia {
	t.Helper()
	f := &fakeGmedia{t: t, expiresIn: 86400}
	f.mux, f.url = testutil.Setup(t)
	f.mux.HandleFunc("POST /gmedia/token", func(w http.ResponseWriter, r *http.Request) {
		n := f.tokenCalls.Add(1)
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.tokenBody = body
		delay, exp := f.tokenDelay, f.expiresIn
		f.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":%d,"token_type":"Bearer"}`, n, exp)
	})
	return f
}

// handleCheck serves the check endpoint (POST and GET) with h after recording the request.
func (f *fakeGmedia) handleCheck(h http.HandlerFunc) {
	f.mux.HandleFunc("/gmedia/CheckMawathoq", func(w http.ResponseWriter, r *http.Request) {
		f.checkCalls.Add(1)
		s := seenCheck{method: r.Method, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		if r.Method == http.MethodGet {
			s.platform, s.account = r.URL.Query().Get("platform"), r.URL.Query().Get("account")
		} else {
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			s.platform, s.account = body["platform"], body["account"]
		}
		f.mu.Lock()
		f.checks = append(f.checks, s)
		f.mu.Unlock()
		h(w, r)
	})
}

func (f *fakeGmedia) seen() []seenCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenCheck(nil), f.checks...)
}

func (f *fakeGmedia) config() clientConfig {
	return clientConfig{
		TokenURL:     f.url + "/gmedia/token",
		CheckURL:     f.url + "/gmedia/CheckMawathoq",
		ClientID:     "contract-client",
		ClientSecret: "contract-secret",
		HTTPClient:   &http.Client{Timeout: 5 * time.Second},
		Retry:        tinyRetry,
	}
}

func (f *fakeGmedia) client() *Client { return newClient(f.config()) }

// reply answers status with a body from testdata (when file is non-empty).
func reply(t *testing.T, status int, file string) http.HandlerFunc {
	t.Helper()
	var body []byte
	if file != "" {
		body = readTestdata(t, file)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clientConfig is what a test varies about a client; newClient builds it
// through New and its options, as main does.
type clientConfig struct {
	TokenURL, CheckURL, CheckMethod, ClientIDKey, ClientID, ClientSecret string
	HTTPClient                                                           *http.Client
	Retry                                                                providers.Retry
	Now                                                                  func() time.Time
}

func newClient(c clientConfig) *Client {
	return New(c.CheckURL, Credentials{TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret},
		WithHTTPClient(c.HTTPClient), WithRetry(c.Retry), WithClock(c.Now),
		WithCheckMethod(c.CheckMethod), WithClientIDKey(c.ClientIDKey))
}
