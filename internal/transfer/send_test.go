package transfer_test

import (
	"context"
	"errors"
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

const xferGrace = 2 * time.Minute

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

func (e *xferEnv) sender(c *mgid.Client) *transfer.Sender {
	return &transfer.Sender{DB: e.db, MGID: c, AgencyID: sim.DemoAgencyID, Log: testLogger(e.logs), Now: e.clk.Now}
}

func (e *xferEnv) reconciler(c *mgid.Client) *transfer.Reconciler {
	return &transfer.Reconciler{DB: e.db, MGID: c, AgencyID: sim.DemoAgencyID, Grace: xferGrace,
		Log: testLogger(e.logs), Now: e.clk.Now}
}

// lock takes the agency's transfer lock, as every sender and reconciler does.
func (e *xferEnv) lock() *store.JobLock {
	e.t.Helper()
	l, ok, err := e.db.TryLockTransfers(context.Background(), sim.DemoAgencyID)
	if err != nil || !ok {
		e.t.Fatalf("transfer lock: %v %v", ok, err)
	}
	return l
}

func (e *xferEnv) reconcile(c *mgid.Client) transfer.ReconcileReport {
	e.t.Helper()
	l := e.lock()
	defer l.Release()
	rep, err := e.reconciler(c).Reconcile(context.Background())
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	return rep
}

func (e *xferEnv) row(id int64) store.Transfer {
	e.t.Helper()
	tr, err := e.db.GetTransfer(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tr
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

// The answer is lost after MGID applied the transfer (connection dropped, or
// the client timed out): the journal says unknown, nothing is resent, and
// reconcile proves it succeeded.
func TestTransferAppliedButAnswerLost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		fault   string
		timeout time.Duration
	}{
		{sim.TransferApplyThenDrop, 10 * time.Second},
		{sim.TransferApplyThenTimeout, 150 * time.Millisecond},
	} {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			e := newXferEnv(t, sim.Options{Clients: 20})
			ctx := context.Background()
			e.sim.SetFaults(sim.Faults{TransferFault: c.fault})
			l := e.lock()
			tr, err := e.sender(e.mgid(c.timeout)).Send(ctx, manual(e.first, "150.00"))
			l.Release()
			if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
				t.Fatalf("send: %v, status %q; want unknown and ErrMaybeSent", err, tr.Status)
			}
			if row := e.row(tr.ID); row.Status != store.TransferUnknown || row.Error == "" || row.Before == nil ||
				row.Before.Source != store.BeforeFromProvider || row.SettledAt != nil {
				t.Fatalf("journal after a lost answer: %+v", row)
			}
			if n := e.sim.TransferRequests(); n != 1 {
				t.Fatalf("%d transfer requests, want exactly 1", n)
			}
			e.sim.SetFaults(sim.Faults{})
			rep := e.reconcile(e.mgid(10 * time.Second)) // a fresh client, as after a restart
			if len(rep.Settled) != 1 || rep.Settled[0].Status != store.TransferSucceeded || len(rep.Undecided) != 0 {
				t.Fatalf("reconcile: %+v", rep)
			}
			row := e.row(tr.ID)
			if row.Status != store.TransferSucceeded || !strings.HasPrefix(row.ReconcileNote, "applied") || row.SettledAt == nil {
				t.Errorf("after reconcile: %+v", row)
			}
			if got := e.sim.Transfers(); len(got) != 1 || got[0].Amount != money.MustParse("150") || got[0].ClientID != e.first {
				t.Errorf("simulator applied %+v, want one transfer of 150 to %d", got, e.first)
			}
			if n := e.sim.TransferRequests(); n != 1 {
				t.Errorf("%d transfer requests after reconcile, want 1", n)
			}
			e.noSecrets()
		})
	}
}

// The connection drops before MGID applies the transfer: unknown, then
// not_applied once the grace has passed, and nothing was paid.
func TestTransferDroppedBeforeApply(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	e.sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	l := e.lock()
	tr, err := e.sender(e.client).Send(ctx, manual(e.first+1, "75.50"))
	l.Release()
	if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
		t.Fatalf("send: %v %q", err, tr.Status)
	}
	e.sim.SetFaults(sim.Faults{})

	// Within the grace MGID might still apply it: not called either way yet.
	rep := e.reconcile(e.client)
	if len(rep.Undecided) != 1 || len(rep.Settled) != 0 || !strings.Contains(rep.Undecided[0].Note, "less than") {
		t.Fatalf("reconcile within the grace: %+v", rep)
	}
	e.clk.Advance(xferGrace + time.Second)
	rep = e.reconcile(e.client)
	if len(rep.Settled) != 1 || rep.Settled[0].Status != store.TransferNotApplied {
		t.Fatalf("reconcile after the grace: %+v", rep)
	}
	if row := e.row(tr.ID); row.Status != store.TransferNotApplied || row.SettledAt == nil {
		t.Errorf("journal: %+v", row)
	}
	if got := e.sim.Transfers(); len(got) != 0 {
		t.Errorf("simulator applied %+v", got)
	}
	if n := e.sim.TransferRequests(); n != 1 {
		t.Errorf("%d transfer requests, want 1", n)
	}
	// Settled, the client may get a new transfer.
	l = e.lock()
	defer l.Release()
	if tr, err := e.sender(e.client).Send(ctx, manual(e.first+1, "75.50")); err != nil || tr.Status != store.TransferSucceeded {
		t.Fatalf("new transfer after reconcile: %v %q", err, tr.Status)
	}
}

// The process dies between MGID's answer and the journal update: the row
// stays in flight. The next start (a new client, a new reconciler) finds it
// and settles it from the figures: applied, or never sent.
func TestTransferLeftInFlightByCrash(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	dead := e.sender(e.client)

	journal := func(client int64, amount string) int64 {
		t.Helper()
		req := manual(client, amount)
		before, err := dead.ReadBefore(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		now := e.clk.Now()
		id, err := e.db.InsertTransfer(ctx, store.Transfer{AgencyID: sim.DemoAgencyID, ClientID: client,
			Amount: req.Amount, AccountType: "personal", Origin: store.OriginManual, RequestedBy: "tester",
			Status: store.TransferInFlight, Before: &before, CreatedAt: now, SentAt: &now})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	applied := journal(e.first+2, "40.00")
	if _, err := e.client.Transfer(ctx, e.first+2, mgid.Personal, money.MustParse("40.00")); err != nil {
		t.Fatal(err) // MGID applied it; the process "died" before recording it
	}
	neverSent := journal(e.first+3, "25.00") // died before the request left

	rep := e.reconcile(e.mgid(10 * time.Second))
	if row := e.row(applied); row.Status != store.TransferSucceeded {
		t.Errorf("applied transfer left in flight became %q (%s); report %+v", row.Status, row.ReconcileNote, rep)
	}
	if row := e.row(neverSent); row.Status != store.TransferUnknown {
		t.Errorf("unsent transfer within the grace became %q, want unknown", row.Status)
	}
	e.clk.Advance(xferGrace + time.Second)
	e.reconcile(e.mgid(10 * time.Second))
	if row := e.row(neverSent); row.Status != store.TransferNotApplied {
		t.Errorf("unsent transfer after the grace became %q (%s)", row.Status, row.ReconcileNote)
	}
	if got := e.sim.Transfers(); len(got) != 1 || e.sim.TransferRequests() != 1 {
		t.Errorf("simulator: %d requests, applied %+v; want the one", e.sim.TransferRequests(), got)
	}
}

// MGID's refusals are journaled with its message; a client MGID does not
// know is refused before anything is journaled; a 5xx is unknown and is not
// resent.
func TestTransferRefusals(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	l := e.lock()
	defer l.Release()
	s := e.sender(e.client)

	tr, err := s.Send(ctx, manual(e.first, "99999999.00"))
	if err == nil || tr.Status != store.TransferRejected || !transfer.IsInsufficientFunds(tr) {
		t.Fatalf("insufficient funds: %v %+v", err, tr)
	}
	if row := e.row(tr.ID); !strings.Contains(row.ProviderMessage, "less than what you are trying to transfer") {
		t.Errorf("provider message %q", row.ProviderMessage)
	}

	before := testdb.Count(t, e.db, `SELECT count(*) FROM syncer.mgid_transfers`)
	if _, err := s.Send(ctx, manual(99, "1.00")); !errors.Is(err, transfer.ErrClientNotInAgency) {
		t.Errorf("unknown client: %v", err)
	}
	if n := testdb.Count(t, e.db, `SELECT count(*) FROM syncer.mgid_transfers`); n != before {
		t.Errorf("an unknown client was journaled")
	}

	e.sim.SetFaults(sim.Faults{ErrorRate: 1})
	reqs := e.sim.TransferRequests()
	req := manual(e.first+4, "10.00")
	req.Snapshot = &store.TransferBefore{At: t0, ClientBalance: money.MustParse("1"), ClientIncome: money.MustParse("2"),
		AgencyAccount: money.MustParse("3")}
	tr, err = s.Send(ctx, req)
	if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
		t.Errorf("5xx: %v %q", err, tr.Status)
	}
	if n := e.sim.TransferRequests() - reqs; n != 1 {
		t.Errorf("a 5xx answer was followed by %d requests, want 1", n)
	}
	// The read before it failed too (500): the snapshot's figures were recorded.
	if row := e.row(tr.ID); row.Before == nil || row.Before.Source != store.BeforeFromSnapshot {
		t.Errorf("before figures: %+v", row.Before)
	}
	// While it is open the client gets no other transfer.
	e.sim.SetFaults(sim.Faults{})
	if _, err := s.Send(ctx, manual(e.first+4, "10.00")); !errors.Is(err, store.ErrTransferOpen) {
		t.Errorf("second transfer to a client with an unknown one: %v", err)
	}
	e.noSecrets()
}
