package jobs_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
)

// clock is a settable time source shared by the simulator and the jobs.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }
func (c *clock) Now() time.Time   { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newRunner(db *store.DB, replica string, now func() time.Time) *jobs.Runner {
	return &jobs.Runner{Store: db, Log: testLogger(io.Discard), Replica: replica, Now: now}
}

// startSim serves the simulator, optionally through wrap (to break responses).
func startSim(t *testing.T, o sim.Options, wrap func(http.Handler) http.Handler) (*sim.Server, string) {
	t.Helper()
	s := sim.New(o)
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return s, srv.URL
}

func mgidClient(url string) *mgid.Client {
	return mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		mgid.WithRetry(providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
}

// toggle is a switch a test flips while a handler reads it.
type toggle struct{ on atomic.Bool }
