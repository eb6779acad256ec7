package transfer_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"syncer/internal/sim"
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
