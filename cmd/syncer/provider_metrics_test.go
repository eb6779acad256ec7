package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// The daemon's provider clients carry the metrics in their transports: a
// balances round against the simulator shows up as MGID requests on
// /metrics (before, a package global in providers did this).
func TestRunCountsProviderRequests(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	environ := mgidEnv(dbURL, startSim(t, sim.Options{}), "SYNCER_HTTP_ADDR=127.0.0.1:0", "SYNCER_LOG_LEVEL=info",
		"JOB_MGID_BALANCES_SCHEDULE=@every 1s", "JOB_MGID_SPEND_ENABLED=false")
	ctx, stop := context.WithCancel(context.Background())
	var stderr testutil.LockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"run"}, env{stdout: io.Discard, stderr: &stderr, environ: environ, stdin: strings.NewReader("")})
	}()
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("syncer run did not stop")
		}
	}()
	var base string
	waitFor(t, 30*time.Second, "http listening", func() bool {
		if m := listenLine.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		return false
	})
	const want = `syncer_provider_requests_total{endpoint="GET /v1/agencies/{id}/clients",provider="mgid",status_class="2xx"}`
	waitFor(t, 30*time.Second, want, func() bool {
		return strings.Contains(getBody(t, base+"/metrics"), want)
	})
}
