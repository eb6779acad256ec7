package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

var listenLine = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

// startDaemon runs `syncer run` in the test's process with environ until the
// test ends, and returns its HTTP base URL once it listens and says it runs.
func startDaemon(t *testing.T, environ []string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stderr testutil.LockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"run"}, env{stdout: io.Discard, stderr: &stderr, environ: environ, stdin: strings.NewReader("")})
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("syncer run did not stop")
		}
	})
	var base string
	waitFor(t, 30*time.Second, "http listening", func() bool {
		if m := listenLine.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
			return strings.Contains(stderr.String(), "syncer running")
		}
		return false
	})
	return base
}

// A storm of page views and scrapes reads the database through the
// observer's own small pool and cache: the jobs' pool never waits for a
// connection. (Before, every view and scrape read on the jobs' pool.)
func TestPageAndMetricsStormLeavesTheJobsPoolAlone(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	environ := []string{"DATABASE_URL=" + dbURL, "SYNCER_HTTP_ADDR=127.0.0.1:0", "SYNCER_LOG_LEVEL=info",
		"JOB_MGID_BALANCES_ENABLED=false", "JOB_MGID_SPEND_ENABLED=false"}
	base := startDaemon(t, environ)
	before := metricValue(t, getBody(t, base+"/metrics"), "syncer_db_pool_acquire_waits_total")
	// A fixed number of requests, not a time: on a loaded machine a
	// timed storm may send too few to mean anything.
	const clients, each = 16, 10
	var requests, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := []string{"/", "/metrics"}[i%2]
			for range each {
				resp, err := http.Get(base + path)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				requests.Add(1)
			}
		}()
	}
	wg.Wait()
	b := getBody(t, base+"/metrics")
	waits := metricValue(t, b, "syncer_db_pool_acquire_waits_total") - before
	t.Logf("%d page and metrics requests from %d clients in %s (%d failed); jobs' pool acquire waits: %v",
		requests.Load(), clients, time.Since(start).Round(time.Millisecond), failed.Load(), waits)
	if requests.Load() != clients*each || failed.Load() > 0 {
		t.Errorf("%d requests, %d failed", requests.Load(), failed.Load())
	}
	if waits != 0 {
		t.Errorf("the jobs' pool waited %v times during the storm, want 0", waits)
	}
	if !strings.Contains(b, "syncer_db_up 1") {
		t.Error("syncer_db_up is not 1 after the storm")
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}
