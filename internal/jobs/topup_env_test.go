package jobs_test

import (
	"net/http"
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

// The top-up job's tests run one agency's transfers against a simulator;
// the transfer package's own tests have the same environment.

const xferGrace = 2 * time.Minute

var amt = money.MustParse

// xferEnv is one agency's transfer machinery against a simulator, as a
// process would wire it.
type xferEnv struct {
	t      *testing.T
	db     *store.DB
	sim    *sim.Server
	url    string
	clk    *testutil.Clock
	logs   *testutil.LockedBuffer
	client *mgid.Client
	first  int64 // the agency's first client id
}

func newXferEnv(t *testing.T, o sim.Options) *xferEnv {
	t.Helper()
	e := &xferEnv{t: t, db: testdb.New(t), clk: testutil.NewClock(t0), logs: &testutil.LockedBuffer{}}
	o.Now = e.clk.Now
	e.sim, e.url = startSim(t, o, nil)
	e.client = e.mgid(10 * time.Second)
	e.first, _, _ = e.sim.ClientRange(sim.DemoAgencyID)
	return e
}

// mgid makes a new client (a new process's) with its own HTTP timeout.
func (e *xferEnv) mgid(timeout time.Duration) *mgid.Client {
	return mgid.New(e.url, sim.DemoLogin, sim.DemoPassword,
		mgid.WithHTTPClient(&http.Client{Timeout: timeout}),
		mgid.WithLogger(testLogger(e.logs)),
		mgid.WithRetry(providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
}

// desk is the agency's transfer desk, as the CLI wires it.
func (e *xferEnv) desk(c *mgid.Client) *transfer.Desk {
	return &transfer.Desk{DB: e.db, MGID: c, AgencyID: sim.DemoAgencyID, Grace: xferGrace, Log: testLogger(e.logs), Now: e.clk.Now}
}

// noSecrets fails if the password shows in the logs, the journal or the runs.
func (e *xferEnv) noSecrets() {
	e.t.Helper()
	var journal string
	if err := testdb.QueryRow(e.t, e.db, `SELECT coalesce(string_agg(row_to_json(t)::text, ' '), '')
		FROM syncer.mgid_transfers t`).Scan(&journal); err != nil {
		e.t.Fatal(err)
	}
	var runs string
	if err := testdb.QueryRow(e.t, e.db, `SELECT coalesce(string_agg(row_to_json(r)::text, ' '), '')
		FROM syncer.runs r`).Scan(&runs); err != nil {
		e.t.Fatal(err)
	}
	for what, text := range map[string]string{"logs": e.logs.String(), "journal": journal, "runs": runs} {
		if strings.Contains(text, sim.DemoPassword) {
			e.t.Errorf("the MGID password appears in the %s", what)
		}
	}
}

func manual(client int64, amount string) transfer.Request {
	return transfer.Request{ClientID: client, ClientEmail: "x@example.com", Amount: money.MustParse(amount),
		Account: mgid.Personal, Origin: store.OriginManual, RequestedBy: "tester"}
}
