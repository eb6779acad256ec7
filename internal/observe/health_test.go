package observe_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"syncer/internal/observe"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// /readyz needs Postgres within a second: refused connections and a path
// that swallows packets both turn it 503 with the reason, and it comes
// back when the path does. The database sits behind a TCP proxy in this
// process that really cuts the connections.
func TestReadyzFollowsPostgres(t *testing.T) {
	t.Parallel()
	_, dbURL := testdb.NewWithURL(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	host, port, _ := net.SplitHostPort(proxy.Addr())
	cfg.ConnConfig.Host = host
	p, _ := strconv.Atoi(port)
	cfg.ConnConfig.Port = uint16(p)
	db, err := store.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := start(t, db, nil)

	ready := func() (int, map[string]any, time.Duration) {
		t.Helper()
		begin := time.Now()
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("/readyz body is not JSON: %v", err)
		}
		return resp.StatusCode, body, time.Since(begin)
	}
	if code, body, _ := ready(); code != 200 || body["ready"] != true {
		t.Fatalf("/readyz with Postgres up = %d %v, want 200", code, body)
	}

	proxy.Cut()
	code, body, _ := ready()
	if code != 503 || body["ready"] != false || !strings.Contains(body["reason"].(string), "postgres") {
		t.Fatalf("/readyz with connections refused = %d %v, want 503 naming postgres", code, body)
	}

	// The page still answers, and says why it is unhealthy.
	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<h1>Unhealthy</h1>") || !strings.Contains(string(page), "Could not read the database") {
		t.Errorf("status page with Postgres unreachable = %d, want 200 saying Unhealthy: could not read the database\n%s", resp.StatusCode, page)
	}
	// /metrics too: the process metrics stay, syncer_db_up says what is wrong.
	if f := scrape(t, s.url); value(f, "syncer_db_up", nil) != 0 || value(f, "syncer_build_info", nil) != 1 {
		t.Errorf("/metrics with Postgres unreachable: syncer_db_up = %v, syncer_build_info = %v; want 0 and 1",
			value(f, "syncer_db_up", nil), value(f, "syncer_build_info", nil))
	}

	proxy.Hang()
	code, body, took := ready()
	if code != 503 || !strings.Contains(body["reason"].(string), "within 1s") {
		t.Fatalf("/readyz with a silent path = %d %v, want 503: did not answer within 1s", code, body)
	}
	if took > 3*time.Second {
		t.Errorf("/readyz took %s with a silent Postgres, want about 1s", took)
	}

	proxy.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, _ = ready()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the path came back = %d %v, want 200", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A schema behind the binary is not ready either.
	s.health.WantVersion++
	if code, body, _ := ready(); code != 503 || !strings.Contains(body["reason"].(string), "migrate up") {
		t.Fatalf("/readyz with the schema behind = %d %v, want 503 telling to migrate", code, body)
	}
}

func TestHealthzFollowsHeartbeat(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	now := time.Now()
	h := &observe.Health{DB: db, MaxBeatAge: 30 * time.Second, Now: func() time.Time { return now }}
	srv := httptest.NewServer(observe.Handler(observe.NewMetrics(observe.MetricsOptions{}), h, &observe.Page{Store: db, Health: h}))
	defer srv.Close()
	get := func() int {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(); c != 503 {
		t.Errorf("/healthz before the first beat = %d, want 503", c)
	}
	h.Beat(now)
	if c := get(); c != 200 {
		t.Errorf("/healthz right after a beat = %d, want 200", c)
	}
	now = now.Add(31 * time.Second)
	if c := get(); c != 503 {
		t.Errorf("/healthz 31s after the last beat = %d, want 503", c)
	}
}
