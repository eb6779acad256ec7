package transfer_test

import (
	"context"
	"errors"
	"testing"

	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
)

func (e *xferEnv) desk(c *mgid.Client) *transfer.Desk {
	return &transfer.Desk{DB: e.db, MGID: c, AgencyID: sim.DemoAgencyID, Grace: xferGrace, Log: testLogger(e.logs), Now: e.clk.Now}
}

// The desk does nothing while another process holds the agency's transfer
// lock, refuses a second transfer to a client whose first is unknown, and
// reconciles only under the lock.
func TestDeskTakesTheLockAndRefusesAnOpenClient(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 20})
	ctx := context.Background()
	d := e.desk(e.client)

	l := e.lock()
	if tr, err := d.Send(ctx, manual(e.first+1, "10.00")); !errors.Is(err, transfer.ErrBusy) || tr.ID != 0 {
		t.Fatalf("send under another's lock: %v %+v", err, tr)
	}
	l.Release()
	if n := testdb.Count(t, e.db, `SELECT count(*) FROM syncer.mgid_transfers`); n != 0 || e.sim.TransferRequests() != 0 {
		t.Fatalf("a busy desk journaled %d rows and sent %d requests", n, e.sim.TransferRequests())
	}

	e.sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	first, err := d.Send(ctx, manual(e.first+1, "10.00"))
	if first.Status != store.TransferUnknown {
		t.Fatalf("first send: %v %q", err, first.Status)
	}
	e.sim.SetFaults(sim.Faults{})
	if tr, err := d.Send(ctx, manual(e.first+1, "10.00")); !errors.Is(err, store.ErrTransferOpen) || tr.ID != 0 {
		t.Fatalf("second send to a client with an unknown transfer: %v %+v", err, tr)
	}
	if n := e.sim.TransferRequests(); n != 1 {
		t.Errorf("%d transfer requests, want 1", n)
	}

	l = e.lock()
	if _, err := d.Reconcile(ctx); !errors.Is(err, transfer.ErrBusy) {
		t.Errorf("reconcile under another's lock: %v", err)
	}
	l.Release()
	e.clk.Advance(xferGrace + 1)
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
	d := e.desk(nil)
	if _, err := d.Quote(context.Background(), e.first); !errors.Is(err, transfer.ErrNoSnapshot) {
		t.Errorf("quote without a snapshot: %v", err)
	}
	if n := e.sim.Requests(sim.EndpointMGIDAgency); n != 0 {
		t.Errorf("quote called MGID %d times", n)
	}
}
