package main

import (
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
	"syncer/internal/testdb"
)

// The daemon's provider clients carry the metrics in their transports: a
// balances round against the simulator shows up as MGID requests on
// /metrics (before, a package global in providers did this).
func TestRunCountsProviderRequests(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	environ := mgidEnv(dbURL, startSim(t, sim.Options{}), "SYNCER_HTTP_ADDR=127.0.0.1:0", "SYNCER_LOG_LEVEL=info",
		"JOB_MGID_BALANCES_SCHEDULE=@every 1s", "JOB_MGID_SPEND_ENABLED=false")
	base := startDaemon(t, environ)
	const want = `syncer_provider_requests_total{endpoint="GET /v1/agencies/{id}/clients",provider="mgid",status_class="2xx"}`
	waitFor(t, 30*time.Second, want, func() bool {
		return strings.Contains(getBody(t, base+"/metrics"), want)
	})
}
