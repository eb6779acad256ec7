// Package transfertest is the transfer tests' environment, shared by the
// transfer package's tests and the top-up job's: one agency's transfer
// machinery against the MGID simulator, as a process would wire it, on the
// test's own database. Only tests import it (its name says so).
package transfertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/transfer"
)

// T0 is where every Env's clock starts.
var T0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// Grace is the reconcile grace the tests' desks and reconcilers use.
const Grace = 2 * time.Minute

// Logger logs everything to w as text.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// StartSim serves the simulator, optionally through wrap (to break responses).
func StartSim(t *testing.T, o sim.Options, wrap func(http.Handler) http.Handler) (*sim.Server, string) {
	t.Helper()
	s := sim.New(o)
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { s.Close(); srv.Close() })
	return s, srv.URL
}

// Env is one agency's transfer machinery against a simulator, as a
// process would wire it.
type Env struct {
	T      *testing.T
	DB     *store.DB
	Sim    *sim.Server
	URL    string
	Clk    *testutil.Clock
	Logs   *testutil.LockedBuffer
	Client *mgid.Client
	First  int64 // the agency's first client id
}

// New starts a simulator on a clock at T0 and opens the test's own database.
func New(t *testing.T, o sim.Options) *Env {
	t.Helper()
	e := &Env{T: t, DB: testdb.New(t), Clk: testutil.NewClock(T0), Logs: &testutil.LockedBuffer{}}
	o.Now = e.Clk.Now
	e.Sim, e.URL = StartSim(t, o, nil)
	e.Client = e.MGID(10 * time.Second)
	e.First, _, _ = e.Sim.ClientRange(sim.DemoAgencyID)
	return e
}

// MGID makes a new client (a new process's) with its own HTTP timeout.
func (e *Env) MGID(timeout time.Duration) *mgid.Client {
	return mgid.New(e.URL, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: timeout}),
		mgid.WithLogger(Logger(e.Logs)),
		mgid.WithRetry(providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
}

// Sender sends the agency's transfers through c.
func (e *Env) Sender(c *mgid.Client) *transfer.Sender {
	return &transfer.Sender{DB: e.DB, MGID: c, AgencyID: sim.DemoAgencyID, Log: Logger(e.Logs), Now: e.Clk.Now}
}

// Reconciler settles the agency's transfers through c.
func (e *Env) Reconciler(c *mgid.Client) *transfer.Reconciler {
	return &transfer.Reconciler{DB: e.DB, MGID: c, AgencyID: sim.DemoAgencyID, Grace: Grace,
		Log: Logger(e.Logs), Now: e.Clk.Now}
}

// Desk is the agency's transfer desk, as the CLI wires it.
func (e *Env) Desk(c *mgid.Client) *transfer.Desk {
	return &transfer.Desk{DB: e.DB, MGID: c, AgencyID: sim.DemoAgencyID, Grace: Grace, Log: Logger(e.Logs), Now: e.Clk.Now}
}

// Lock takes the agency's transfer lock, as every sender and reconciler does.
func (e *Env) Lock() *store.JobLock {
	e.T.Helper()
	l, ok, err := e.DB.TryLockTransfers(context.Background(), sim.DemoAgencyID)
	if err != nil || !ok {
		e.T.Fatalf("transfer lock: %v %v", ok, err)
	}
	return l
}

// Reconcile runs one reconcile under the agency's lock.
func (e *Env) Reconcile(c *mgid.Client) transfer.ReconcileReport {
	e.T.Helper()
	l := e.Lock()
	defer l.Release()
	rep, err := e.Reconciler(c).Reconcile(context.Background())
	if err != nil {
		e.T.Fatalf("reconcile: %v", err)
	}
	return rep
}

// Row is the journal's row of transfer id.
func (e *Env) Row(id int64) store.Transfer {
	e.T.Helper()
	tr, err := e.DB.GetTransfer(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	return tr
}

// NoSecrets fails if the password shows in the logs, the journal or the runs.
func (e *Env) NoSecrets() {
	e.T.Helper()
	var journal string
	if err := testdb.QueryRow(e.T, e.DB, `SELECT coalesce(string_agg(row_to_json(t)::text, ' '), '')
		FROM syncer.mgid_transfers t`).Scan(&journal); err != nil {
		e.T.Fatal(err)
	}
	var runs string
	if err := testdb.QueryRow(e.T, e.DB, `SELECT coalesce(string_agg(row_to_json(r)::text, ' '), '')
		FROM syncer.runs r`).Scan(&runs); err != nil {
		e.T.Fatal(err)
	}
	for what, text := range map[string]string{"logs": e.Logs.String(), "journal": journal, "runs": runs} {
		if strings.Contains(text, sim.DemoPassword) {
			e.T.Errorf("the MGID password appears in the %s", what)
		}
	}
}

// Manual is an operator's request for amount to client.
func Manual(client int64, amount string) transfer.Request {
	return transfer.Request{ClientID: client, ClientEmail: "x@example.com", Amount: money.MustParse(amount),
		Account: mgid.Personal, Origin: store.OriginManual, RequestedBy: "tester"}
}
