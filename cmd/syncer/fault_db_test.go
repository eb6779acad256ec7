package main

// Database faults an operator meets at the command line: a DATABASE_URL
// that does not parse, Postgres down at start, `migrate down` on data that
// cannot be fetched again, and the log format.

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

const dbCanary = "canary-db-password-5521"

func TestDatabaseURLThatDoesNotParseExitsTwo(t *testing.T) {
	t.Parallel()
	r := syncer(context.Background(), []string{"DATABASE_URL=postgres://u:" + dbCanary + "@host:notaport/db",
		"MGID_LOGIN=x", "MGID_PASSWORD=y"}, "jobs")
	if r.code != 2 || !strings.Contains(r.stderr, "DATABASE_URL") || strings.Contains(r.stdout+r.stderr, dbCanary) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Postgres down at start: the daemon exits 1 at once, naming the address it
// tried and not the password; nothing is retried silently forever.
func TestPostgresDownAtStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nobody listens on: the server is down
	start := time.Now()
	r := syncer(context.Background(), []string{"DATABASE_URL=postgres://syncer:" + dbCanary + "@" + addr + "/syncer?sslmode=disable",
		"MGID_LOGIN=x", "MGID_PASSWORD=y", "SYNCER_HTTP_ADDR=127.0.0.1:0"}, "run")
	took := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "database") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, dbCanary) {
		t.Error("the database password was printed")
	}
	if took > 15*time.Second {
		t.Errorf("took %s to give up", took)
	}
}

// migrate down refuses to drop the transfer journal or the tracked targets
// without --destroy-data, and refuses outright while a transfer is open.
func TestMigrateDownGuardsData(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	env := []string{"DATABASE_URL=" + url, "MGID_LOGIN=x", "MGID_PASSWORD=y"}
	ctx := context.Background()
	version := func() int64 {
		var v int64
		if err := testdb.QueryRow(t, db, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Migrations after the transfer journal's (00004) roll back freely;
	// the guard starts there.
	top := version()
	for version() > 4 {
		if r := syncer(ctx, env, "migrate", "down"); r.code != 0 {
			t.Fatalf("down from %d: exit %d %q", version(), r.code, r.stderr)
		}
	}
	v0 := version()
	r := syncer(ctx, env, "migrate", "down")
	if r.code != 2 || !strings.Contains(r.stderr, "--destroy-data") || !strings.Contains(r.stderr, "journal") {
		t.Fatalf("down without --destroy-data: exit %d %q", r.code, r.stderr)
	}
	now := time.Now()
	id, err := db.InsertTransfer(ctx, store.Transfer{AgencyID: 1, ClientID: 2, Amount: money.MustParse("1.00"),
		AccountType: "personal", Origin: store.OriginManual, RequestedBy: "t", Status: store.TransferInFlight, CreatedAt: now, SentAt: &now})
	if err != nil {
		t.Fatal(err)
	}
	r = syncer(ctx, env, "migrate", "down", "--destroy-data")
	if r.code != 2 || !strings.Contains(r.stderr, "in flight or unknown") {
		t.Fatalf("down with an open transfer: exit %d %q", r.code, r.stderr)
	}
	if v := version(); v != v0 {
		t.Fatalf("version %d after refusals, want %d", v, v0)
	}
	if err := db.SettleTransfer(ctx, id, store.TransferOutcome{Status: store.TransferSucceeded, At: now}); err != nil {
		t.Fatal(err)
	}
	if r := syncer(ctx, env, "migrate", "down", "--destroy-data"); r.code != 0 || version() != v0-1 {
		t.Fatalf("down --destroy-data: exit %d %q, version %d", r.code, r.stderr, version())
	}
	if r := syncer(ctx, env, "migrate", "down"); r.code != 2 || !strings.Contains(r.stderr, "tracked_targets") {
		t.Fatalf("down over the tracked targets: exit %d %q", r.code, r.stderr)
	}
	v1 := version()
	if r := syncer(ctx, env, "migrate", "up"); r.code != 0 || version() <= v1 {
		t.Fatalf("up again: exit %d %q", r.code, r.stderr)
	}
	if v := version(); v != top {
		t.Fatalf("up again reached version %d, want %d", v, top)
	}
}

// SYNCER_LOG_FORMAT=json: every log line is one JSON object; a bad value
// exits 2 naming the variable; config check shows it.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	_, url := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 50})
	env := mgidEnv(url, simURL, "SYNCER_LOG_FORMAT=json")
	r := syncer(context.Background(), env, "once", "mgid-balances")
	if r.code != 0 {
		t.Fatalf("once: exit %d %s", r.code, r.stderr)
	}
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil || obj["level"] == nil || obj["msg"] == nil {
			t.Errorf("not a JSON log object: %q (%v)", l, err)
		}
		lines++
	}
	if lines < 2 {
		t.Errorf("%d log lines", lines)
	}
	if r := syncer(context.Background(), mgidEnv(url, simURL, "SYNCER_LOG_FORMAT=json"), "config", "check"); r.code != 0 || !strings.Contains(r.stdout, "log_format: json") {
		t.Errorf("config check: exit %d\n%s", r.code, r.stdout)
	}
	if r := syncer(context.Background(), mgidEnv(url, simURL, "SYNCER_LOG_FORMAT=xml"), "config", "check"); r.code != 2 || !strings.Contains(r.stderr, "SYNCER_LOG_FORMAT") {
		t.Errorf("bad format: exit %d %s", r.code, r.stderr)
	}
}
