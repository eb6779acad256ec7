package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"syncer/internal/sim"
	"syncer/internal/testdb"
)

// A listen address that is taken stops `syncer run` before it migrates or
// runs anything: exit 2, naming SYNCER_HTTP_ADDR.
func TestRunRefusesATakenHTTPAddr(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	simURL := startSim(t, sim.Options{Clients: 5})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := syncer(context.Background(), mgidEnv(dbURL, simURL, "SYNCER_HTTP_ADDR="+ln.Addr().String()), "run")
	if r.code != exitBadArgs || !strings.Contains(r.stderr, "SYNCER_HTTP_ADDR "+ln.Addr().String()) {
		t.Fatalf("run with a taken port: exit %d, stderr:\n%s\nwant exit 2 naming SYNCER_HTTP_ADDR", r.code, r.stderr)
	}
	if n := testdb.Count(t, db, "SELECT count(*) FROM syncer.runs"); n != 0 {
		t.Errorf("%d runs recorded by a daemon that could not listen, want 0", n)
	}
}
