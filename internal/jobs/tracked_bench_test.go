package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/providers/gmedia"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// Run with: go test -run XXX -bench Tracked -benchtime 1x ./internal/jobs/
// The simulator runs in the benchmark's process, on httptest, and shares
// its CPUs with the job and with Postgres.

// benchGmedia is a client as buildMawthoqJob makes it: one idle connection
// per worker.
func benchGmedia(url string, concurrency int) *gmedia.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = concurrency + 2
	return gmedia.New(url+sim.PathGmediaCheck,
		gmedia.Credentials{TokenURL: url + sim.PathGmediaToken, ClientID: "sim-gmedia", ClientSecret: "sim-gmedia-secret"},
		gmedia.WithHTTPClient(&http.Client{Timeout: 30 * time.Second, Transport: t}), gmedia.WithRetry(trTinyRetry))
}

// benchRound runs one round per iteration over targets that are all due
// (the clock moves past RecheckAfter between iterations) and reports the
// checks per second.
func benchRound(b *testing.B, n int, faults sim.Faults, settings config.TrackedCheck) (checks int64, elapsed time.Duration) {
	b.Helper()
	db := testdb.New(b)
	trSeedMawthoq(b, db, "tiktok", n)
	clk := testutil.NewClock(trT0)
	s := sim.New(sim.Options{Now: clk.Now, Faults: faults})
	srv := newBenchServer(b, s)
	job := &jobs.MawthoqRecheck{Gmedia: benchGmedia(srv, settings.Concurrency), DB: db, Settings: settings, Replica: "bench", Now: clk.Now}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clk.Advance(settings.RecheckAfter + time.Second)
		run := trRun(int64(i+1), nil)
		start := time.Now()
		if err := job.Run(context.Background(), run); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		for _, c := range run.Counts() {
			checks += c
		}
	}
	b.StopTimer()
	if want := int64(n * b.N); checks != want || int64(s.Requests(sim.EndpointGmediaCheck)) != want {
		b.Fatalf("%d checks recorded, %d sent; want %d", checks, s.Requests(sim.EndpointGmediaCheck), want)
	}
	b.ReportMetric(float64(checks)/elapsed.Seconds(), "checks/s")
	return checks, elapsed
}

func newBenchServer(b *testing.B, s *sim.Server) string {
	b.Helper()
	srv := httptest.NewServer(s)
	b.Cleanup(func() { s.Close(); srv.Close() })
	return srv.URL
}

// BenchmarkTrackedMawthoq100k: 100,000 targets re-checked against the
// simulator with no latency and no rate limit.
func BenchmarkTrackedMawthoq100k(b *testing.B) {
	benchRound(b, 100_000, sim.Faults{}, config.TrackedCheck{
		RecheckAfter: time.Hour, Concurrency: 16, BatchSize: 500, Lease: 5 * time.Minute,
	})
}

// BenchmarkTrackedRateLimit: 50 ms per request and a limit of 200/s; the
// limit, not the code, should bound the rate (ratio >= 0.9).
func BenchmarkTrackedRateLimit(b *testing.B) {
	const limit = 200.0
	checks, elapsed := benchRound(b, 2000, sim.Faults{Latency: 50 * time.Millisecond}, config.TrackedCheck{
		RecheckAfter: time.Hour, Concurrency: 32, RateLimit: limit, BatchSize: 100, Lease: 5 * time.Minute,
	})
	rate := float64(checks) / elapsed.Seconds()
	b.ReportMetric(rate/limit, "ratio-to-limit")
}

// BenchmarkTrackedTwoReplicas: two replicas run the round at once over
// 10,000 targets; every target must be checked exactly once.
func BenchmarkTrackedTwoReplicas(b *testing.B) {
	const n = 10_000
	settings := config.TrackedCheck{RecheckAfter: time.Hour, Concurrency: 8, BatchSize: 100, Lease: 5 * time.Minute}
	db := testdb.New(b)
	ids := trSeedMawthoq(b, db, "youtube", n)
	clk := testutil.NewClock(trT0)
	s := sim.New(sim.Options{Now: clk.Now})
	url := newBenchServer(b, s)
	b.ResetTimer()
	var exactlyOnce int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		clk.Advance(settings.RecheckAfter + time.Second)
		before := s.Requests(sim.EndpointGmediaCheck)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := time.Now()
		for r := range 2 {
			job := &jobs.MawthoqRecheck{Gmedia: benchGmedia(url, settings.Concurrency), DB: db, Settings: settings,
				Replica: fmt.Sprintf("replica-%d", r), Now: clk.Now}
			wg.Go(func() { errs[r] = job.Run(context.Background(), trRun(int64(2*i+r+1), nil)) })
		}
		wg.Wait()
		elapsed += time.Since(start)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if sent := s.Requests(sim.EndpointGmediaCheck) - before; sent != n {
			b.Errorf("round %d sent %d checks for %d targets", i, sent, n)
		}
		// Exactly once: last_checked_at is this round's time and the
		// history counts one more check than before the round.
		exactlyOnce = testdb.Count(b, db, `SELECT count(*) FROM syncer.tracked_targets t
			WHERE id = ANY($1) AND last_checked_at = $2
			  AND (SELECT sum(checks) FROM syncer.tracked_status_history h WHERE h.target_id = t.id) = $3`,
			ids, clk.Now(), i+1)
		b.StartTimer()
	}
	b.StopTimer()
	if exactlyOnce != n {
		b.Errorf("%d of %d targets checked exactly once", exactlyOnce, n)
	}
	b.ReportMetric(float64(exactlyOnce), "exactly-once")
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "checks/s")
}
