package transfer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
	"syncer/internal/transfer/transfertest"
)

// xferEnv is transfertest's environment, with this package's helpers on it.
type xferEnv struct{ *transfertest.Env }

func newXferEnv(t *testing.T, o sim.Options) *xferEnv { return &xferEnv{transfertest.New(t, o)} }

const xferGrace = transfertest.Grace

var manual = transfertest.Manual

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
			e.Sim.SetFaults(sim.Faults{TransferFault: c.fault})
			l := e.Lock()
			tr, err := e.Sender(e.MGID(c.timeout)).Send(ctx, manual(e.First, "150.00"))
			l.Release()
			if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
				t.Fatalf("send: %v, status %q; want unknown and ErrMaybeSent", err, tr.Status)
			}
			if row := e.Row(tr.ID); row.Status != store.TransferUnknown || row.Error == "" || row.Before == nil ||
				row.Before.Source != store.BeforeFromProvider || row.SettledAt != nil {
				t.Fatalf("journal after a lost answer: %+v", row)
			}
			if n := e.Sim.TransferRequests(); n != 1 {
				t.Fatalf("%d transfer requests, want exactly 1", n)
			}
			e.Sim.SetFaults(sim.Faults{})
			rep := e.Reconcile(e.MGID(10 * time.Second)) // a fresh client, as after a restart
			if len(rep.Settled) != 1 || rep.Settled[0].Status != store.TransferSucceeded || len(rep.Undecided) != 0 {
				t.Fatalf("reconcile: %+v", rep)
			}
			row := e.Row(tr.ID)
			if row.Status != store.TransferSucceeded || !strings.HasPrefix(row.ReconcileNote, "applied") || row.SettledAt == nil {
				t.Errorf("after reconcile: %+v", row)
			}
			if got := e.Sim.Transfers(); len(got) != 1 || got[0].Amount != money.MustParse("150") || got[0].ClientID != e.First {
				t.Errorf("simulator applied %+v, want one transfer of 150 to %d", got, e.First)
			}
			if n := e.Sim.TransferRequests(); n != 1 {
				t.Errorf("%d transfer requests after reconcile, want 1", n)
			}
			e.NoSecrets()
		})
	}
}

// The connection drops before MGID applies the transfer: unknown, then
// not_applied once the grace has passed, and nothing was paid.
func TestTransferDroppedBeforeApply(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	e.Sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	l := e.Lock()
	tr, err := e.Sender(e.Client).Send(ctx, manual(e.First+1, "75.50"))
	l.Release()
	if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
		t.Fatalf("send: %v %q", err, tr.Status)
	}
	e.Sim.SetFaults(sim.Faults{})

	// Within the grace MGID might still apply it: not called either way yet.
	rep := e.Reconcile(e.Client)
	if len(rep.Undecided) != 1 || len(rep.Settled) != 0 || !strings.Contains(rep.Undecided[0].Note, "less than") {
		t.Fatalf("reconcile within the grace: %+v", rep)
	}
	e.Clk.Advance(xferGrace + time.Second)
	rep = e.Reconcile(e.Client)
	if len(rep.Settled) != 1 || rep.Settled[0].Status != store.TransferNotApplied {
		t.Fatalf("reconcile after the grace: %+v", rep)
	}
	if row := e.Row(tr.ID); row.Status != store.TransferNotApplied || row.SettledAt == nil {
		t.Errorf("journal: %+v", row)
	}
	if got := e.Sim.Transfers(); len(got) != 0 {
		t.Errorf("simulator applied %+v", got)
	}
	if n := e.Sim.TransferRequests(); n != 1 {
		t.Errorf("%d transfer requests, want 1", n)
	}
	// Settled, the client may get a new transfer.
	l = e.Lock()
	defer l.Release()
	if tr, err := e.Sender(e.Client).Send(ctx, manual(e.First+1, "75.50")); err != nil || tr.Status != store.TransferSucceeded {
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
	dead := e.Sender(e.Client)

	journal := func(client int64, amount string) int64 {
		t.Helper()
		req := manual(client, amount)
		before, err := dead.ReadBefore(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		now := e.Clk.Now()
		id, err := e.DB.InsertTransfer(ctx, store.Transfer{AgencyID: sim.DemoAgencyID, ClientID: client,
			Amount: req.Amount, AccountType: "personal", Origin: store.OriginManual, RequestedBy: "tester",
			Status: store.TransferInFlight, Before: &before, CreatedAt: now, SentAt: &now})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	applied := journal(e.First+2, "40.00")
	if _, err := e.Client.Transfer(ctx, e.First+2, mgid.Personal, money.MustParse("40.00")); err != nil {
		t.Fatal(err) // MGID applied it; the process "died" before recording it
	}
	neverSent := journal(e.First+3, "25.00") // died before the request left

	rep := e.Reconcile(e.MGID(10 * time.Second))
	if row := e.Row(applied); row.Status != store.TransferSucceeded {
		t.Errorf("applied transfer left in flight became %q (%s); report %+v", row.Status, row.ReconcileNote, rep)
	}
	if row := e.Row(neverSent); row.Status != store.TransferUnknown {
		t.Errorf("unsent transfer within the grace became %q, want unknown", row.Status)
	}
	e.Clk.Advance(xferGrace + time.Second)
	e.Reconcile(e.MGID(10 * time.Second))
	if row := e.Row(neverSent); row.Status != store.TransferNotApplied {
		t.Errorf("unsent transfer after the grace became %q (%s)", row.Status, row.ReconcileNote)
	}
	if got := e.Sim.Transfers(); len(got) != 1 || e.Sim.TransferRequests() != 1 {
		t.Errorf("simulator: %d requests, applied %+v; want the one", e.Sim.TransferRequests(), got)
	}
}

// MGID's refusals are journaled with its message; a client MGID does not
// know is refused before anything is journaled; a 5xx is unknown and is not
// resent.
func TestTransferRefusals(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	l := e.Lock()
	defer l.Release()
	s := e.Sender(e.Client)

	tr, err := s.Send(ctx, manual(e.First, "99999999.00"))
	if err == nil || tr.Status != store.TransferRejected || !transfer.IsInsufficientFunds(tr) {
		t.Fatalf("insufficient funds: %v %+v", err, tr)
	}
	if row := e.Row(tr.ID); !strings.Contains(row.ProviderMessage, "less than what you are trying to transfer") {
		t.Errorf("provider message %q", row.ProviderMessage)
	}

	before := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers`)
	if _, err := s.Send(ctx, manual(99, "1.00")); !errors.Is(err, transfer.ErrClientNotInAgency) {
		t.Errorf("unknown client: %v", err)
	}
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers`); n != before {
		t.Errorf("an unknown client was journaled")
	}

	e.Sim.SetFaults(sim.Faults{ErrorRate: 1})
	reqs := e.Sim.TransferRequests()
	req := manual(e.First+4, "10.00")
	req.Snapshot = &store.TransferBefore{At: t0, ClientBalance: money.MustParse("1"), ClientIncome: money.MustParse("2"),
		AgencyAccount: money.MustParse("3")}
	tr, err = s.Send(ctx, req)
	if !errors.Is(err, providers.ErrMaybeSent) || tr.Status != store.TransferUnknown {
		t.Errorf("5xx: %v %q", err, tr.Status)
	}
	if n := e.Sim.TransferRequests() - reqs; n != 1 {
		t.Errorf("a 5xx answer was followed by %d requests, want 1", n)
	}
	// The read before it failed too (500): the snapshot's figures were recorded.
	if row := e.Row(tr.ID); row.Before == nil || row.Before.Source != store.BeforeFromSnapshot {
		t.Errorf("before figures: %+v", row.Before)
	}
	// While it is open the client gets no other transfer.
	e.Sim.SetFaults(sim.Faults{})
	if _, err := s.Send(ctx, manual(e.First+4, "10.00")); !errors.Is(err, store.ErrTransferOpen) {
		t.Errorf("second transfer to a client with an unknown one: %v", err)
	}
	e.NoSecrets()
}
