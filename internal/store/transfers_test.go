package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

var xferT0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func inFlight(client int64, amount string, at time.Time) store.Transfer {
	return store.Transfer{
		AgencyID: 1001, ClientID: client, ClientEmail: "c@example.com", Amount: money.MustParse(amount),
		AccountType: "personal", Origin: store.OriginManual, RequestedBy: "alice", Status: store.TransferInFlight,
		Before: &store.TransferBefore{Source: store.BeforeFromProvider, At: at,
			ClientBalance: money.MustParse("1.50"), ClientIncome: money.MustParse("100"), AgencyAccount: money.MustParse("5000")},
		CreatedAt: at, SentAt: &at,
	}
}

func TestTransferJournalLifecycle(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()

	id, err := db.InsertTransfer(ctx, inFlight(5001, "150.00", xferT0))
	if err != nil {
		t.Fatal(err)
	}
	// A second open transfer to the same client is refused by the database,
	// whoever tries it.
	if _, err := db.InsertTransfer(ctx, inFlight(5001, "1.00", xferT0)); !errors.Is(err, store.ErrTransferOpen) {
		t.Fatalf("second open transfer: %v, want ErrTransferOpen", err)
	}
	if _, err := db.InsertTransfer(ctx, inFlight(5002, "2.00", xferT0)); err != nil {
		t.Fatalf("another client: %v", err)
	}
	open, err := db.OpenTransferOf(ctx, 1001, 5001)
	if err != nil || open.ID != id || open.Before == nil || open.Before.ClientIncome != money.MustParse("100") {
		t.Fatalf("open transfer: %+v %v", open, err)
	}

	after := money.MustParse("151.50")
	acct := money.MustParse("4850")
	if err := db.SettleTransfer(ctx, id, store.TransferOutcome{
		Status: store.TransferSucceeded, ClientBalanceAfter: &after, AgencyAccountAfter: &acct, At: xferT0.Add(time.Second),
	}); err != nil {
		t.Fatal(err)
	}
	// An outcome is written once.
	if err := db.SettleTransfer(ctx, id, store.TransferOutcome{Status: store.TransferUnknown, At: xferT0}); err == nil {
		t.Fatal("settled a transfer twice")
	}
	got, err := db.GetTransfer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.TransferSucceeded || got.ClientBalanceAfter == nil || *got.ClientBalanceAfter != after ||
		got.AgencyAccountAfter == nil || *got.AgencyAccountAfter != acct || got.SettledAt == nil {
		t.Errorf("settled row: %+v", got)
	}
	// Now settled, the client may get a new transfer.
	if _, err := db.InsertTransfer(ctx, inFlight(5001, "1.00", xferT0.Add(time.Minute))); err != nil {
		t.Fatalf("transfer after settling: %v", err)
	}

	// Reconcile only moves open rows.
	if ok, err := db.ReconcileTransfer(ctx, id, store.TransferNotApplied, "x", xferT0); err != nil || ok {
		t.Errorf("reconciled a settled row: %v %v", ok, err)
	}
	var view int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bi.mgid_transfers WHERE status = 'succeeded' AND amount = 150`).Scan(&view); err != nil || view != 1 {
		t.Errorf("bi.mgid_transfers: %d %v", view, err)
	}
}

func TestTransferJournalConstraints(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(*store.Transfer)
	}{
		{"zero amount", func(x *store.Transfer) { x.Amount = money.Amount{} }},
		{"negative amount", func(x *store.Transfer) { x.Amount = money.MustParse("-1") }},
		{"bad account", func(x *store.Transfer) { x.AccountType = "gold" }},
		{"planned but not dry run", func(x *store.Transfer) { x.Status = store.TransferPlanned }},
		{"dry run in flight", func(x *store.Transfer) { x.DryRun = true }},
		{"in flight without sent_at", func(x *store.Transfer) { x.SentAt = nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			x := inFlight(6000, "10", xferT0)
			c.edit(&x)
			if _, err := db.InsertTransfer(ctx, x); err == nil {
				t.Errorf("accepted")
			}
		})
	}
}

func TestTransferDaySums(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	add := func(client int64, amount string, at time.Time, status store.TransferStatus) {
		t.Helper()
		x := inFlight(client, amount, at)
		if status == store.TransferPlanned {
			x.Status, x.DryRun, x.SentAt = status, true, nil
		}
		id, err := db.InsertTransfer(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if status != store.TransferInFlight && status != store.TransferPlanned {
			if err := db.SettleTransfer(ctx, id, store.TransferOutcome{Status: status, At: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	day := xferT0.Truncate(24 * time.Hour)
	add(1, "10", day.Add(time.Hour), store.TransferSucceeded)
	add(4, "5", day.Add(2*time.Hour), store.TransferUnknown)
	add(1, "7", day.Add(3*time.Hour), store.TransferRejected)
	add(2, "3", day.Add(3*time.Hour), store.TransferNotApplied)
	add(2, "4", day.Add(4*time.Hour), store.TransferPlanned)
	add(3, "100", day.Add(-time.Minute), store.TransferSucceeded) // yesterday
	add(3, "1", day.Add(5*time.Hour), store.TransferInFlight)

	live, err := db.TransferDaySums(ctx, 1001, day, day.Add(24*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if live.Total != money.MustParse("16") || live.PerClient[1] != money.MustParse("10") || live.PerClient[4] != money.MustParse("5") || live.PerClient[3] != money.MustParse("1") {
		t.Errorf("live sums: %+v", live)
	}
	if _, ok := live.PerClient[2]; ok {
		t.Errorf("client 2 has only failed and planned transfers, got %s", live.PerClient[2])
	}
	dry, err := db.TransferDaySums(ctx, 1001, day, day.Add(24*time.Hour), true)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Total != money.MustParse("20") || dry.PerClient[2] != money.MustParse("4") {
		t.Errorf("dry-run sums: %+v", dry)
	}
}

// "Not found" is one error whichever read says it: a missing transfer, a
// client with no open transfer, an agency or client never snapshotted, a
// target not tracked. None of them is pgx's.
func TestNotFoundIsOneError(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	if _, err := db.GetTransfer(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetTransfer of no transfer: %v, want ErrNotFound", err)
	}
	if _, err := db.OpenTransferOf(ctx, 1001, 5001); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenTransferOf with none open: %v, want ErrNotFound", err)
	}
	if _, err := db.LatestAgencyBalance(ctx, 1001); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestAgencyBalance never snapshotted: %v, want ErrNotFound", err)
	}
	if _, _, err := db.LatestClientBalance(ctx, 1001, 5001); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestClientBalance of a client in no snapshot: %v, want ErrNotFound", err)
	}
	err := db.RemoveTarget(ctx, "tiktok", "nobody")
	if !errors.Is(err, store.ErrNotTracked) || !errors.Is(err, store.ErrNotFound) || err.Error() != "not tracked" {
		t.Errorf("RemoveTarget of no target: %v, want ErrNotTracked, an ErrNotFound", err)
	}
}
