package firstlight

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/providers"
	"syncer/internal/testutil"
)

var tinyRetry = providers.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond}

// fakeFirstlight serves the IAM token endpoint (tokens "iam-N") and checkredeem.
type fakeFirstlight struct {
	url        string // the server's base URL
	mux        *http.ServeMux
	tokenCalls atomic.Int32
	checkCalls atomic.Int32
	tokenDelay time.Duration
	expiresIn  int

	mu        sync.Mutex
	tokenForm url.Values
	seen      []seenRedeem
}

type seenRedeem struct {
	auth, xauth, trackingID, contentType string
	body                                 map[string]string
}

func newFake(t *testing.T, check http.HandlerFunc) *fakeFirstlight {
	t.Helper()
	f := &fakeFirstlight{expiresIn: 3600}
	f.mux, f.url = testutil.Setup(t)
	f.mux.HandleFunc("POST /firstlight/token", func(w http.ResponseWriter, r *http.Request) {
		n := f.tokenCalls.Add(1)
		_ = r.ParseForm()
		f.mu.Lock()
		f.tokenForm = r.PostForm
		f.mu.Unlock()
		if f.tokenDelay > 0 {
			time.Sleep(f.tokenDelay)
		}
		fmt.Fprintf(w, `{"access_token":"iam-%d","expires_in":%d,"token_type":"Bearer"}`, n, f.expiresIn)
	})
	f.mux.HandleFunc("POST /media/content/checkredeem", func(w http.ResponseWriter, r *http.Request) {
		f.checkCalls.Add(1)
		b, _ := io.ReadAll(r.Body)
		s := seenRedeem{
			auth: r.Header.Get("Authorization"), xauth: r.Header.Get("X-Authorization"),
			trackingID: r.Header.Get("X-Tracking-Id"), contentType: r.Header.Get("Content-Type"),
		}
		_ = json.Unmarshal(b, &s.body)
		f.mu.Lock()
		f.seen = append(f.seen, s)
		f.mu.Unlock()
		check(w, r)
	})
	return f
}

func (f *fakeFirstlight) requests() []seenRedeem {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRedeem(nil), f.seen...)
}

// staticConfig uses a static IAM token.
func (f *fakeFirstlight) staticConfig() clientConfig {
	return clientConfig{
		URL:        f.url + "/media/content/checkredeem",
		IAMToken:   "static-iam",
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Retry:      tinyRetry,
	}
}

// ccConfig gets the IAM token with client credentials.
func (f *fakeFirstlight) ccConfig() clientConfig {
	c := f.staticConfig()
	c.IAMToken = ""
	c.TokenURL = f.url + "/firstlight/token"
	c.ClientID, c.ClientSecret = "fl-client", "fl-secret"
	return c
}

type canned struct {
	status int
	file   string
	body   string
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
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(rs[i].status)
		_, _ = w.Write(bodies[i])
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
	URL, IAMToken, TokenURL, ClientID, ClientSecret string
	HTTPClient                                      *http.Client
	Retry                                           providers.Retry
	Now                                             func() time.Time
	NewTrackingID                                   func() string
}

func newClient(c clientConfig) *Client {
	return New(c.URL, Credentials{IAMToken: c.IAMToken, TokenURL: c.TokenURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret},
		WithHTTPClient(c.HTTPClient), WithRetry(c.Retry), WithClock(c.Now), WithTrackingIDs(c.NewTrackingID))
}
