package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"syncer/internal/sim"
)

const clientsPath = "/v1/agencies/1001/clients"
const spendPath = "/v1/agencies/1001/clients-spent-reports?dateStart=2025-03-01&dateEnd=2025-03-01"

// Each fault mode does to the wire what its name says, and only while set.
func TestFaultModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 50})
	tok := e.demoToken()
	set := func(f sim.Faults) { e.sim.SetFaults(f) }

	set(sim.Faults{Mode: sim.Fault5xx, Burst: 2})
	for i, want := range []int{500, 500, 200} {
		if a := e.get(clientsPath, tok); a.status != want {
			t.Errorf("5xx burst of 2, request %d: HTTP %d, want %d", i, a.status, want)
		}
	}

	set(sim.Faults{Mode: sim.Fault5xx, Endpoint: sim.EndpointMGIDClients})
	if a, b := e.get("/v1/agencies/1001", tok), e.get(clientsPath, tok); a.status != 200 || b.status != 500 {
		t.Errorf("5xx aimed at the clients list: agency HTTP %d, clients HTTP %d", a.status, b.status)
	}

	set(sim.Faults{Mode: sim.Fault429, RetryAfter: 2 * time.Second})
	if a := e.get(clientsPath, tok); a.status != 429 || a.header.Get("Retry-After") != "2" {
		t.Errorf("429: HTTP %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	set(sim.Faults{Mode: sim.Fault429Date, RetryAfter: 2 * time.Second})
	a := e.get(clientsPath, tok)
	if at, err := http.ParseTime(a.header.Get("Retry-After")); a.status != 429 || err != nil || !at.Equal(start.Add(2*time.Second).Truncate(time.Second)) {
		t.Errorf("429-date: HTTP %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}

	set(sim.Faults{Mode: sim.FaultHTML200})
	if a := e.get(clientsPath, tok); a.status != 200 || !bytes.HasPrefix(a.body, []byte("<html>")) {
		t.Errorf("html-200: HTTP %d %s", a.status, truncate(a.body))
	}
	set(sim.Faults{Mode: sim.FaultTruncate, CutAfter: 100})
	if a := e.get(clientsPath, tok); a.status != 200 || len(a.body) != 100 || json.Valid(a.body) {
		t.Errorf("truncate: HTTP %d, %d bytes", a.status, len(a.body))
	}
	set(sim.Faults{Mode: sim.FaultReset, CutAfter: 100})
	if _, err := e.try(context.Background(), "GET", clientsPath, "", "Authorization", "Bearer "+tok); err == nil {
		t.Error("reset: the body was read to its end")
	}
	set(sim.Faults{Mode: sim.FaultStall, CutAfter: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if _, err := e.try(ctx, "GET", clientsPath, "", "Authorization", "Bearer "+tok); err == nil {
		t.Error("stall: the body was read to its end")
	}
	cancel()
	set(sim.Faults{Mode: sim.FaultDrip, DripBytes: 1000, DripEvery: 10 * time.Millisecond})
	t0 := time.Now()
	if a := e.get(spendPath, tok); a.status != 200 || !json.Valid(a.body) || time.Since(t0) < 10*time.Millisecond {
		t.Errorf("drip: HTTP %d valid %v in %v", a.status, json.Valid(a.body), time.Since(t0))
	}

	var list struct {
		Clients []struct {
			ID     json.Number     `json:"id"`
			Email  string          `json:"email"`
			Wallet json.RawMessage `json:"wallet"`
		} `json:"clients"`
	}
	set(sim.Faults{Mode: sim.FaultHugeField, HugeField: 1 << 20})
	a = e.get(clientsPath, tok)
	mustJSON(t, a.body, &list)
	if len(list.Clients) != 50 || len(list.Clients[0].Email) != 1<<20 || !strings.HasSuffix(list.Clients[0].Email, "example.com") || len(list.Clients[0].Wallet) < 10 {
		t.Errorf("huge-field: %d clients, first email %d bytes", len(list.Clients), len(list.Clients[0].Email))
	}
	set(sim.Faults{Mode: sim.FaultDupIDs})
	a = e.get(clientsPath, tok)
	mustJSON(t, a.body, &list)
	if n := len(list.Clients); n != 51 || list.Clients[0].ID != list.Clients[50].ID {
		t.Errorf("dup-ids: %d clients, first %s last %s", n, list.Clients[0].ID, list.Clients[n-1].ID)
	}
	if a := e.get(spendPath, tok); !json.Valid(a.body) || bytes.Count(a.body, []byte(`"id":`)) < 2 {
		t.Errorf("dup-ids spend: %s", truncate(a.body))
	}
	for mode, want := range map[string]string{sim.FaultNaN: `"NaN"`, sim.FaultOverflow: `"1000000000000000000000000000000.00"`} {
		set(sim.Faults{Mode: mode})
		for _, p := range []string{clientsPath, spendPath} {
			if a := e.get(p, tok); !json.Valid(a.body) || !bytes.Contains(a.body, []byte(want)) {
				t.Errorf("%s %s: %s", mode, p, truncate(a.body))
			}
		}
	}

	set(sim.Faults{Mode: sim.FaultTokenOnce})
	once := e.demoToken()
	if a := e.get("/v1/agencies/1001", once); a.status != 200 {
		t.Errorf("token-once, first use: HTTP %d", a.status)
	}
	if a := e.get("/v1/agencies/1001", once); a.status != 401 {
		t.Errorf("token-once, second use: HTTP %d, want 401", a.status)
	}
	set(sim.Faults{Mode: sim.FaultTokenError})
	if a := e.do("POST", sim.PathFirstlightToken, "client_id=sim-firstlight&client_secret=sim-firstlight-secret", "Content-Type", "application/x-www-form-urlencoded"); a.status != 500 {
		t.Errorf("token-error: HTTP %d", a.status)
	}
	if a := e.get("/v1/agencies/1001", tok); a.status != 200 {
		t.Errorf("token-error touches data endpoints: HTTP %d", a.status)
	}
	set(sim.Faults{Mode: sim.FaultTokenHang})
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := e.try(ctx, "POST", sim.PathGmediaToken, `{}`, "Content-Type", "application/json"); err == nil {
		t.Error("token-hang: the token endpoint answered")
	}

	set(sim.Faults{})
	if a := e.get(clientsPath, tok); a.status != 200 || !json.Valid(a.body) {
		t.Errorf("faults cleared: HTTP %d", a.status)
	}
}

func TestFaultModeFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"burst", []string{"-fault", "html-200", "-fault-burst", "3"}, true},
		{"unknown mode", []string{"-fault", "nope"}, false},
		{"endpoint", []string{"-fault", "truncate", "-fault-endpoint", "mgid-clients"}, true},
		{"unknown endpoint", []string{"-fault", "truncate", "-fault-endpoint", "clients"}, false},
		{"negative drip", []string{"-fault", "drip", "-fault-drip-every", "-1s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("sim", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o := sim.RegisterFlags(fs)
			err := fs.Parse(tc.args)
			if err == nil {
				err = o.Validate()
			}
			if (err == nil) != tc.ok {
				t.Errorf("%v: err = %v", tc.args, err)
			}
		})
	}
}
