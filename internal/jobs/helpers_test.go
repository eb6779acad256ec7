package jobs_test

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/transfer/transfertest"
)

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newRunner(db *store.DB, replica string, now func() time.Time) *jobs.Runner {
	return &jobs.Runner{Store: db, Log: testLogger(io.Discard), Replica: replica, Now: now}
}

// startSim serves the simulator, optionally through wrap (to break responses).
func startSim(t *testing.T, o sim.Options, wrap func(http.Handler) http.Handler) (*sim.Server, string) {
	t.Helper()
	return transfertest.StartSim(t, o, wrap)
}

func mgidClient(url string) *mgid.Client {
	return mgid.New(url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		mgid.WithRetry(providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
}

// toggle is a switch a test flips while a handler reads it.
type toggle struct{ on atomic.Bool }
