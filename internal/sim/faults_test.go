package sim_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"syncer/internal/sim"
)

func TestFaultErrorBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Faults: sim.Faults{ErrorRate: 1}})
	// Token endpoints are never faulted.
	mg, gm := e.demoToken(), e.gmediaToken()

	wantBody(t, e.get("/v1/agencies/1001", mg), 500, `{"errors":["Internal server error"]}`)
	wantBody(t, e.check(gm, `{"platform":"x","account":"1000000001"}`), 500, `{"statusCode":500,"message":"Please contact Gmedia"}`)
	a, fa := e.redeem("sim-iam-token", "ut-u", "t-9", redeemBody)
	if a.status != 500 || fa.Header.TrackingID != "t-9" || len(fa.Header.Errors) != 1 || fa.Header.Errors[0].Code != "40400190" {
		t.Fatalf("firstlight: HTTP %d %s", a.status, a.body)
	}
	// A 500 fault is decided before the handler: nothing is applied.
	if a := e.do("POST", transferPath("5001", "personal", "1"), "", "Authorization", "Bearer "+mg); a.status != 500 || len(e.sim.Transfers()) != 0 {
		t.Fatalf("transfer: HTTP %d, %d applied", a.status, len(e.sim.Transfers()))
	}
}

func TestFaultDropAndMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Faults: sim.Faults{DropRate: 1}})
	tok := e.demoToken()
	if _, err := e.try(context.Background(), "GET", "/v1/agencies/1001", "", "Authorization", "Bearer "+tok); err == nil {
		t.Fatal("dropped request answered")
	}

	e.sim.SetFaults(sim.Faults{MalformedRate: 1})
	for _, path := range []string{"/v1/agencies/1001", "/v1/agencies/1001/clients", "/v1/agencies/1001/clients/5001",
		"/v1/agencies/1001/clients-spent-reports?dateStart=2025-03-01&dateEnd=2025-03-05"} {
		for range 4 { // both truncated and garbled bodies
			a := e.get(path, tok)
			if a.status != 200 || json.Valid(a.body) {
				t.Fatalf("%s: HTTP %d valid JSON %v: %s", path, a.status, json.Valid(a.body), truncate(a.body))
			}
		}
	}
	// Error answers stay readable.
	wantBody(t, e.get("/v1/agencies/1001", "nope"), 401, `{"errors":["invalid token"]}`)

	e.sim.SetFaults(sim.Faults{})
	if a := e.get("/v1/agencies/1001", tok); a.status != 200 || !json.Valid(a.body) {
		t.Fatalf("faults cleared: HTTP %d %s", a.status, a.body)
	}
}

func TestFaultsDeterministic(t *testing.T) {
	t.Parallel()
	statuses := func(seed uint64) []int {
		e := newEnv(t, sim.Options{Seed: seed, Faults: sim.Faults{ErrorRate: 0.5}})
		tok := e.demoToken()
		var out []int
		for range 40 {
			out = append(out, e.get("/v1/agencies/1001", tok).status)
		}
		return out
	}
	a, b, c := statuses(3), statuses(3), statuses(4)
	count := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different faults: %v vs %v", a, b)
		}
		count[a[i]]++
	}
	if count[200] == 0 || count[500] == 0 || len(count) != 2 {
		t.Fatalf("statuses %v", count)
	}
	if equalInts(a, c) {
		t.Fatal("different seeds, same faults")
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Faults: sim.Faults{Latency: 5 * time.Millisecond}})
	tok := e.demoToken()
	began := time.Now()
	if a := e.get("/v1/agencies/1001", tok); a.status != 200 {
		t.Fatalf("HTTP %d", a.status)
	}
	if d := time.Since(began); d < 5*time.Millisecond {
		t.Fatalf("answered in %v, before the injected latency", d)
	}
}

// SetFaults while requests are in flight: the race detector is the assertion.
func TestSetFaultsWhileServing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 20})
	tok := e.demoToken()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				_, _ = e.try(context.Background(), "GET", "/v1/agencies/1001/clients", "", "Authorization", "Bearer "+tok)
				_, _ = e.try(context.Background(), "POST", transferPath("5001", "personal", "1"), "", "Authorization", "Bearer "+tok)
			}
		})
	}
	for i := range 50 {
		e.sim.SetFaults(sim.Faults{ErrorRate: float64(i%2) * 0.5})
	}
	wg.Wait()
	if n := e.sim.TransferRequests(); n != 100 {
		t.Fatalf("%d transfer requests, want 100", n)
	}
	if n := len(e.sim.Transfers()); n == 0 || n > 100 {
		t.Fatalf("%d transfers applied", n)
	}
}
