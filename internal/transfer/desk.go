// Package transfer moves money from an MGID agency to its clients: the
// journal of each send (Sender), reconcile of outcomes nobody saw (Reconciler
// and its pure rule, Decide), the top-up plan (PlanTopUps), and the Desk, one
// per agency, through which both `syncer mgid transfer` and the mgid-topup
// job send. Every send and reconcile happens under the agency's transfer lock.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// ErrBusy: another process holds the agency's transfer lock (it is sending
// or reconciling); nothing was done.
var ErrBusy = errors.New("another process is sending or reconciling the agency's transfers")

// ErrNoSnapshot: the agency has no balances snapshot yet.
var ErrNoSnapshot = errors.New("the agency has no balances snapshot")

// ErrNotInSnapshot: the client is not among the agency's clients in the
// latest balances snapshot.
var ErrNotInSnapshot = errors.New("the client is not in the agency's latest balances snapshot")

// Desk is one MGID agency's transfer desk: everything that moves that
// agency's money goes through it, under the agency's transfer lock
// (store.DB.TryLockTransfers), so that reconcile, which takes the same lock,
// never mistakes a request in flight for one a crash left behind.
type Desk struct {
	DB       *store.DB
	MGID     AgencyClient // not needed by Quote
	AgencyID int64
	// Grace: reconcile never calls a transfer not_applied until this long
	// after it was sent (see Reconciler.Grace).
	Grace time.Duration
	// Replicas: standbys that must hold a transfer's journal row before it
	// is sent (see ReplicaGuard); zero value: none.
	Replicas ReplicaGuard
	Log      *slog.Logger
	Now      func() time.Time
}

// Quote is what the journal and the latest snapshot say about a transfer
// to one client, before anything is sent: what a person confirms.
type Quote struct {
	Wallet   store.ClientBalance
	WalletAt time.Time
	Agency   store.AgencyBalance
	// Open is the client's transfer whose outcome is not settled yet, if
	// any: no new transfer to the client until reconcile settles it.
	Open    store.Transfer
	HasOpen bool
}

// Quote reads the client's and the agency's latest balances snapshot and
// the client's open transfer, without the lock and without calling MGID.
// ErrNoSnapshot or ErrNotInSnapshot when there is nothing to quote from.
func (d *Desk) Quote(ctx context.Context, clientID int64) (Quote, error) {
	var q Quote
	var walletErr, err error
	q.Wallet, q.WalletAt, walletErr = d.DB.LatestClientBalance(ctx, d.AgencyID, clientID)
	if walletErr != nil && !errors.Is(walletErr, store.ErrNotFound) {
		return q, walletErr
	}
	q.Agency, err = d.DB.LatestAgencyBalance(ctx, d.AgencyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return q, fmt.Errorf("agency %d: %w", d.AgencyID, ErrNoSnapshot)
	case err != nil:
		return q, err
	case walletErr != nil: // not in the snapshot
		return q, fmt.Errorf("client %d of agency %d: %w", clientID, d.AgencyID, ErrNotInSnapshot)
	}
	q.Open, err = d.DB.OpenTransferOf(ctx, d.AgencyID, clientID)
	q.HasOpen = err == nil
	if errors.Is(err, store.ErrNotFound) {
		return q, nil
	}
	return q, err
}

// SnapshotAccount is the wallet of a stored agency snapshot that a transfer
// from account draws on. Which wallet an account type names is MGID's rule,
// so it is asked of mgid.AgencyBalance.Account, not spelt again here or in
// the store.
func SnapshotAccount(b store.AgencyBalance, account mgid.AccountType) money.Amount {
	return mgid.AgencyBalance{Personal: b.Personal, Bonus: b.Bonus}.Account(account)
}

// Send takes the agency's transfer lock (ErrBusy if another process holds
// it) and sends one transfer through the journal: see Sender.Send. A client
// with an open transfer gets nothing (store.ErrTransferOpen, not sent).
func (d *Desk) Send(ctx context.Context, req Request) (store.Transfer, error) {
	lock, ok, err := d.DB.TryLockTransfers(ctx, d.AgencyID)
	if err != nil {
		return store.Transfer{}, err
	}
	if !ok {
		return store.Transfer{}, fmt.Errorf("agency %d: %w", d.AgencyID, ErrBusy)
	}
	defer lock.Release()
	return d.sender().Send(ctx, req)
}

// Preview reads, without the lock, the live figures Send would journal for
// req (MGID's wallets, else req.Snapshot's): what a person confirms.
// Passing them back as req.Confirmed makes Send refuse if they moved.
func (d *Desk) Preview(ctx context.Context, req Request) (store.TransferBefore, error) {
	return d.sender().ReadBefore(ctx, req)
}

// Reconcile settles the agency's open transfers under its transfer lock
// (ErrBusy if another process holds it). With no open transfer it takes no
// lock and calls nobody.
func (d *Desk) Reconcile(ctx context.Context) (ReconcileReport, error) {
	open, err := d.DB.OpenTransfers(ctx, d.AgencyID)
	if err != nil || len(open) == 0 {
		return ReconcileReport{}, err
	}
	lock, ok, err := d.DB.TryLockTransfers(ctx, d.AgencyID)
	if err != nil {
		return ReconcileReport{}, err
	}
	if !ok {
		return ReconcileReport{}, ErrBusy
	}
	defer lock.Release()
	return d.reconciler().Reconcile(ctx)
}

func (d *Desk) sender() *Sender {
	return &Sender{DB: d.DB, MGID: d.MGID, AgencyID: d.AgencyID, Log: d.Log, Now: d.Now, Replicas: d.Replicas}
}

func (d *Desk) reconciler() *Reconciler {
	return &Reconciler{DB: d.DB, MGID: d.MGID, AgencyID: d.AgencyID, Grace: d.Grace, Log: d.Log, Now: d.Now}
}

func (d *Desk) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

func nowFunc(f func() time.Time) func() time.Time {
	if f != nil {
		return f
	}
	return time.Now
}
