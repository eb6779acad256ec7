package transfer_test

import (
	"context"
	"errors"
	"testing"

	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
)

// The desk does nothing while another process holds the agency's transfer
// lock, refuses a second transfer to a client whose first is unknown, and
// reconciles only under the lock.
func TestDeskTakesTheLockAndRefusesAnOpenClient(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	d := e.Desk(e.Client)

	l := e.Lock()
	if tr, err := d.Send(ctx, manual(e.First+1, "10.00")); !errors.Is(err, transfer.ErrBusy) || tr.ID != 0 {
		t.Fatalf("send under another's lock: %v %+v", err, tr)
	}
	l.Release()
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers`); n != 0 || e.Sim.TransferRequests() != 0 {
		t.Fatalf("a busy desk journaled %d rows and sent %d requests", n, e.Sim.TransferRequests())
	}

	e.Sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	first, err := d.Send(ctx, manual(e.First+1, "10.00"))
	if first.Status != store.TransferUnknown {
		t.Fatalf("first send: %v %q", err, first.Status)
	}
	e.Sim.SetFaults(sim.Faults{})
	if tr, err := d.Send(ctx, manual(e.First+1, "10.00")); !errors.Is(err, store.ErrTransferOpen) || tr.ID != 0 {
		t.Fatalf("second send to a client with an unknown transfer: %v %+v", err, tr)
	}
	if n := e.Sim.TransferRequests(); n != 1 {
		t.Errorf("%d transfer requests, want 1", n)
	}

	l = e.Lock()
	if _, err := d.Reconcile(ctx); !errors.Is(err, transfer.ErrBusy) {
		t.Errorf("reconcile under another's lock: %v", err)
	}
	l.Release()
	e.Clk.Advance(xferGrace + 1)
	rep, err := d.Reconcile(ctx)
	if err != nil || len(rep.Settled) != 1 || rep.Settled[0].Status != store.TransferNotApplied {
		t.Fatalf("reconcile: %v %+v", err, rep)
	}
	if rep, err := d.Reconcile(ctx); err != nil || len(rep.Settled)+len(rep.Undecided) != 0 {
		t.Errorf("reconcile with nothing open: %v %+v", err, rep)
	}
}

// Quote reads only the database: with no balances snapshot it says so.
func TestDeskQuoteNeedsASnapshot(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 5})
	d := e.Desk(nil)
	if _, err := d.Quote(context.Background(), e.First); !errors.Is(err, transfer.ErrNoSnapshot) {
		t.Errorf("quote without a snapshot: %v", err)
	}
	if n := e.Sim.Requests(sim.EndpointMGIDAgency); n != 0 {
		t.Errorf("quote called MGID %d times", n)
	}
}
