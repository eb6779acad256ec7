package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// SchemaReader reads the schema version the database is at.
type SchemaReader interface {
	SchemaVersion(ctx context.Context) (int64, error)
}

// HeartbeatEvery is how often the scheduler loop should Beat; /healthz fails
// after six missed beats (Health.MaxBeatAge's default).
const HeartbeatEvery = 5 * time.Second

// Health answers /healthz (is the scheduler loop alive?) and /readyz (can
// this replica do its work: Postgres answers within ReadyTimeout and the
// schema is at the version this binary was built for).
type Health struct {
	DB           SchemaReader
	WantVersion  int64         // the binary's migration version
	MaxBeatAge   time.Duration // /healthz fails when the last beat is older; default 6 x HeartbeatEvery
	ReadyTimeout time.Duration // default 1s
	Now          func() time.Time

	beat atomic.Int64 // Unix nanoseconds of the last heartbeat; 0 before the first
}

// Beat records that the scheduler loop is alive at t. The scheduler calls
// it from its own loop, so a stuck loop stops beating.
func (h *Health) Beat(t time.Time) { h.beat.Store(t.UnixNano()) }

// Alive reports whether the scheduler beat recently, and how long ago.
func (h *Health) Alive() (bool, time.Duration) {
	b := h.beat.Load()
	if b == 0 {
		return false, 0
	}
	age := h.now().Sub(time.Unix(0, b))
	max := h.MaxBeatAge
	if max <= 0 {
		max = 6 * HeartbeatEvery
	}
	return age <= max, age
}

// Ready returns why this replica is not ready, or nil.
func (h *Health) Ready(ctx context.Context) (schema int64, err error) {
	timeout := h.ReadyTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := h.DB.SchemaVersion(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("postgres did not answer within %s", timeout)
		}
		return 0, fmt.Errorf("postgres: %v", err)
	}
	if v != h.WantVersion {
		return v, fmt.Errorf("schema is at migration %d, this binary needs %d (run syncer migrate up)", v, h.WantVersion)
	}
	return v, nil
}

func (h *Health) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Health) serveHealthz(w http.ResponseWriter, r *http.Request) {
	ok, age := h.Alive()
	body := map[string]any{"alive": ok}
	if age > 0 {
		body["last_beat_seconds_ago"] = age.Seconds()
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
		body["reason"] = "the scheduler loop has not beaten recently"
	}
	writeJSON(w, code, body)
}

func (h *Health) serveReadyz(w http.ResponseWriter, r *http.Request) {
	v, err := h.Ready(r.Context())
	body := map[string]any{"ready": err == nil, "schema_version": v, "binary_version": h.WantVersion}
	code := http.StatusOK
	if err != nil {
		code = http.StatusServiceUnavailable
		body["reason"] = err.Error()
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
