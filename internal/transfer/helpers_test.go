package transfer_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/store"
)

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
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

func count(t *testing.T, db *store.DB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
