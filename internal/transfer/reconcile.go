package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// Reconciler settles one agency's open transfers (unknown, and
// in_flight ones left by a stopped process) from MGID's figures, by the rule
// described with Decide.
type Reconciler struct {
	DB       ReconcileJournal
	MGID     WalletReader
	AgencyID int64
	// Grace: a transfer sent more recently than this is never called
	// not_applied (MGID might still apply a request that timed out). It
	// should exceed the HTTP request timeout.
	Grace time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// ReconcileJournal is what reconcile needs of the database.
type ReconcileJournal interface {
	OpenTransfers(ctx context.Context, agencyID int64) ([]store.Transfer, error)
	TransfersNotSettledBefore(ctx context.Context, agencyID int64, t time.Time) ([]store.Transfer, error)
	ReconcileTransfer(ctx context.Context, id int64, status store.TransferStatus, note string, at time.Time) (ok bool, err error)
}

// ReconcileOutcome is reconcile's verdict on one transfer.
type ReconcileOutcome struct {
	Transfer store.Transfer       // as it was before reconcile
	Status   store.TransferStatus // succeeded, not_applied or unknown
	Note     string
}

// ReconcileReport lists what reconcile settled and what stays unknown.
type ReconcileReport struct {
	Settled   []ReconcileOutcome
	Undecided []ReconcileOutcome
}

// Reconcile examines every open transfer of the agency, oldest first. The
// caller must hold the agency's transfer lock: then no request is in flight,
// and every in_flight row was left by a process that stopped. A provider or
// database failure ends it early with what was decided so far.
func (r *Reconciler) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	open, err := r.DB.OpenTransfers(ctx, r.AgencyID)
	if err != nil {
		return rep, err
	}
	for _, x := range open {
		v, err := r.decide(ctx, x)
		if err != nil {
			return rep, fmt.Errorf("reconcile transfer %d: %w", x.ID, err)
		}
		ok, err := r.DB.ReconcileTransfer(ctx, x.ID, v.Status, v.Note, journalTime(r.Now))
		if err != nil {
			return rep, err
		}
		if !ok {
			continue // settled meanwhile by someone without the lock: nothing to do
		}
		out := ReconcileOutcome{Transfer: x, Status: v.Status, Note: v.Note}
		log := r.log().With("transfer_id", x.ID, "agency_id", x.AgencyID, "client_id", x.ClientID,
			"amount", x.Amount.String(), "was", x.Status, "now", v.Status, "note", v.Note)
		if v.Status == store.TransferUnknown {
			log.Warn("transfer outcome still unknown")
			rep.Undecided = append(rep.Undecided, out)
		} else {
			log.Info("transfer reconciled")
			rep.Settled = append(rep.Settled, out)
		}
	}
	return rep, nil
}

func (r *Reconciler) decide(ctx context.Context, x store.Transfer) (Verdict, error) {
	if x.Before == nil {
		return Decide(Evidence{Transfer: x}), nil
	}
	readStart := journalTime(r.Now)
	w, err := r.MGID.Client(ctx, x.ClientID)
	if errors.Is(err, mgid.ErrInvalidClient) {
		return Verdict{store.TransferUnknown,
			"MGID no longer lists the client as the agency's (Invalid client id); settle it by hand"}, nil
	}
	if err != nil {
		return Verdict{}, err
	}
	ag, err := r.MGID.Agency(ctx)
	if err != nil {
		return Verdict{}, err
	}
	readEnd := journalTime(r.Now)
	others, err := r.DB.TransfersNotSettledBefore(ctx, r.AgencyID, x.Before.At)
	if err != nil {
		return Verdict{}, err
	}
	return Decide(Evidence{
		Transfer: x, Others: others,
		ClientIncome: w.Income, AgencyAccount: ag.Account(mgid.AccountType(x.AccountType)),
		ReadStart: readStart, ReadEnd: readEnd, Now: readEnd, Grace: r.Grace,
	}), nil
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// GraceFor is how long after a transfer was sent reconcile waits before it
// may call the transfer not_applied: twice the MGID request timeout, by
// when any request of ours has timed out.
func GraceFor(requestTimeout time.Duration) time.Duration { return 2 * requestTimeout }
