package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// WalletReader reads the wallets a transfer's before figures and
// reconcile's verdicts come from.
type WalletReader interface {
	Client(ctx context.Context, clientID int64) (mgid.ClientWallet, error)
	Agency(ctx context.Context) (mgid.AgencyBalance, error)
}

// AgencyClient is what a journaled transfer needs of an MGID agency:
// the wallet reads plus the one request that moves money.
type AgencyClient interface {
	WalletReader
	Transfer(ctx context.Context, clientID int64, account mgid.AccountType, amount money.Amount) (mgid.TransferResult, error)
}

// ErrClientNotInAgency: MGID answered "Invalid client id" to the read before
// the transfer, so the transfer is not sent.
var ErrClientNotInAgency = errors.New("MGID does not know the client as one of this agency's")

// settleTimeout bounds recording an outcome after the run's own context ended.
const settleTimeout = 10 * time.Second

// SendJournal is what a send needs of the database: the transaction its
// in_flight row commits in (under the run's fence), and the outcome's record.
type SendJournal interface {
	WithTx(ctx context.Context, fn func(tx *store.Tx) error) error
	SettleTransfer(ctx context.Context, id int64, o store.TransferOutcome) error
	ReplicaJournal
}

// Request is one transfer to journal and send.
type Request struct {
	ClientID    int64
	ClientEmail string
	Amount      money.Amount
	Account     mgid.AccountType
	Origin      store.Origin // store.OriginManual or store.OriginTopUp
	RequestedBy string
	RunID       int64 // 0 outside a job run
	// Snapshot holds the before figures of the latest balances snapshot,
	// used when MGID cannot be read just before sending; nil: none.
	Snapshot *store.TransferBefore
	// Confirmed holds the live figures a person confirmed (Desk.Preview);
	// when MGID's figures read just before sending differ, nothing is sent
	// (ErrFiguresChanged). nil: no person confirmed figures (top-up, --yes).
	Confirmed *store.TransferBefore
}

// ErrFiguresChanged: MGID's balances moved between what a person confirmed
// and the read just before sending; nothing was sent.
var ErrFiguresChanged = errors.New("the balances changed since they were confirmed")

// Sender sends one agency's transfers through the journal. The
// caller holds the agency's transfer lock (store.DB.TryLockTransfers) for
// as long as it sends, so that reconcile, which takes the same lock, never
// mistakes a request in flight for one left by a crash.
type Sender struct {
	DB       SendJournal
	MGID     AgencyClient
	AgencyID int64
	Log      *slog.Logger
	Now      func() time.Time
	// Replicas: how many standbys must hold the journal row before the
	// request leaves (SYNCER_TRANSFER_MIN_REPLICAS); zero value: none.
	Replicas ReplicaGuard
}

// Send reads the before figures and then executes the transfer: see
// ReadBefore and Execute.
func (s *Sender) Send(ctx context.Context, req Request) (store.Transfer, error) {
	before, err := s.ReadBefore(ctx, req)
	if err != nil {
		return store.Transfer{}, err
	}
	if c := req.Confirmed; c != nil && c.Source == store.BeforeFromProvider && before.Source == store.BeforeFromProvider &&
		(c.ClientBalance.Cmp(before.ClientBalance) != 0 || c.AgencyAccount.Cmp(before.AgencyAccount) != 0) {
		return store.Transfer{}, fmt.Errorf("%w: client balance %s -> %s, agency %s account %s -> %s", ErrFiguresChanged,
			c.ClientBalance, before.ClientBalance, req.Account, c.AgencyAccount, before.AgencyAccount)
	}
	return s.Execute(ctx, req, before)
}

// ReadBefore reads the client's wallet and the agency's account from MGID
// just before sending: the figures reconcile compares against. When the read
// fails it falls back to req.Snapshot (recorded as such), except when MGID
// says it does not know the client (ErrClientNotInAgency): then nothing is
// to be sent.
func (s *Sender) ReadBefore(ctx context.Context, req Request) (store.TransferBefore, error) {
	at := s.now()
	w, err := s.MGID.Client(ctx, req.ClientID)
	var ag mgid.AgencyBalance
	if err == nil {
		ag, err = s.MGID.Agency(ctx)
	}
	if err == nil && ag.AgencyID != s.AgencyID {
		return store.TransferBefore{}, fmt.Errorf("mgid client is for agency %d, not %d", ag.AgencyID, s.AgencyID)
	}
	if err == nil {
		return store.TransferBefore{Source: store.BeforeFromProvider, At: at, ClientBalance: w.Balance,
			ClientIncome: w.Income, AgencyAccount: ag.Account(req.Account)}, nil
	}
	switch {
	case errors.Is(err, mgid.ErrInvalidClient):
		return store.TransferBefore{}, fmt.Errorf("client %d of agency %d: %w", req.ClientID, s.AgencyID, ErrClientNotInAgency)
	case ctx.Err() != nil:
		return store.TransferBefore{}, err
	case req.Snapshot == nil:
		return store.TransferBefore{}, fmt.Errorf("read balances before the transfer: %w", err)
	}
	s.log().Warn("could not read balances before the transfer; recording the latest snapshot's instead",
		"agency_id", s.AgencyID, "client_id", req.ClientID, "snapshot_at", req.Snapshot.At, "err", err)
	b := *req.Snapshot
	b.Source = store.BeforeFromSnapshot
	return b, nil
}

// Execute journals the transfer as in_flight and commits, then sends exactly
// one request, then records what came of it:
//   - succeeded: MGID's answer, with its balances;
//   - rejected: MGID refused it (the error is the *providers.Error);
//   - unknown: the request may have reached MGID (errors.Is(err,
//     providers.ErrMaybeSent)); it is never resent, reconcile decides;
//   - not_applied: it failed before any connection was made (providers.DoOnce
//     already retried that, and only that).
//
// The returned Transfer is the journal row as it now stands; err is nil only
// on success. A journaling failure (store.ErrTransferOpen included) means
// nothing was sent and the Transfer is zero.
func (s *Sender) Execute(ctx context.Context, req Request, before store.TransferBefore) (store.Transfer, error) {
	now := s.now()
	t := store.Transfer{
		AgencyID: s.AgencyID, ClientID: req.ClientID, ClientEmail: req.ClientEmail, Amount: req.Amount,
		AccountType: store.AccountType(req.Account), Origin: req.Origin, RequestedBy: req.RequestedBy,
		Status: store.TransferInFlight, Before: &before, CreatedAt: now, SentAt: &now, RunID: req.RunID,
	}
	// In a transaction of its own so that, in a job run, the journal row
	// commits only while the run still holds its job (store.WithFence): a
	// top-up round that lost its lock sends nothing more once another
	// round has started, so two rounds never plan from the same caps.
	var id int64
	err := s.DB.WithTx(ctx, func(tx *store.Tx) (err error) {
		id, err = tx.InsertTransfer(ctx, t)
		return err
	})
	if err != nil {
		return store.Transfer{}, err
	}
	t.ID = id
	log := s.log().With("transfer_id", id, "agency_id", s.AgencyID, "client_id", req.ClientID,
		"amount", req.Amount.String(), "account_type", string(req.Account))
	if err := s.Replicas.confirm(ctx, s.DB, id); err != nil {
		return s.notReplicated(ctx, log, t, err)
	}
	log.Info("transfer journaled in flight; sending it once")

	res, sendErr := s.MGID.Transfer(ctx, req.ClientID, req.Account, req.Amount)
	o := transferOutcome(res, sendErr)
	o.At = s.now()
	// Record the outcome even if the run was cancelled meanwhile: an
	// unrecorded outcome would leave reconcile work that is avoidable.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := s.DB.SettleTransfer(sctx, id, o); err != nil {
		log.Error("could not record the transfer's outcome; it stays in flight until reconciled",
			"outcome", o.Status, "err", err)
		return t, fmt.Errorf("transfer %d: outcome %s not recorded (reconcile will settle it): %w", id, o.Status, err)
	}
	t.Status, t.ClientBalanceAfter, t.AgencyAccountAfter = o.Status, o.ClientBalanceAfter, o.AgencyAccountAfter
	t.ProviderMessage, t.Error = o.ProviderMessage, o.Error
	if o.Status != store.TransferUnknown {
		t.SettledAt = &o.At
	}
	log.Info("transfer outcome recorded", "status", o.Status, "provider_message", o.ProviderMessage, "err", sendErr)
	if sendErr != nil {
		return t, fmt.Errorf("transfer %d %s: %w", id, o.Status, sendErr)
	}
	return t, nil
}

// notReplicated settles a transfer the replica guard held back: it was
// never sent, so it is not_applied, with the reason. The error is a
// *store.DatabaseError (class database): replication is for an operator to
// fix, and the ERROR log, the journal row, the status page and
// syncer_transfers_not_replicated_total all show it.
func (s *Sender) notReplicated(ctx context.Context, log *slog.Logger, t store.Transfer, why error) (store.Transfer, error) {
	reason := "not sent: " + why.Error()
	if errors.Is(why, ErrNotReplicated) {
		reason = store.NotReplicatedError + strings.TrimPrefix(why.Error(), ErrNotReplicated.Error())
	}
	o := store.TransferOutcome{Status: store.TransferNotApplied, Error: reason, At: s.now()}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	msg := "transfer not sent: too few standbys hold its journal row"
	if !errors.Is(why, ErrNotReplicated) {
		msg = "transfer not sent: cancelled while waiting for standbys to hold its journal row"
	}
	if err := s.DB.SettleTransfer(sctx, t.ID, o); err != nil {
		log.Error(msg+"; recording that failed too, reconcile will settle it",
			"min_replicas", s.Replicas.Min, "err", why, "settle_err", err)
	} else {
		t.Status, t.Error, t.SettledAt = o.Status, o.Error, &o.At
		log.Error(msg+"; settled not_applied", "min_replicas", s.Replicas.Min, "err", why)
	}
	if ctx.Err() != nil && !errors.Is(why, ErrNotReplicated) {
		return t, fmt.Errorf("transfer %d not sent: %w", t.ID, why)
	}
	return t, fmt.Errorf("transfer %d not sent: %w", t.ID,
		&store.DatabaseError{Op: fmt.Sprintf("replicate the transfer journal to %d standbys", s.Replicas.Min), Err: why})
}

// transferOutcome classifies Transfer's result. It relies on DoOnce's
// contract: an error without ErrMaybeSent either carries MGID's own refusal
// (a status) or happened before any connection was obtained.
func transferOutcome(res mgid.TransferResult, err error) store.TransferOutcome {
	var pe *providers.Error
	switch {
	case err == nil:
		client, account := res.ClientBalance, res.AccountBalance
		return store.TransferOutcome{Status: store.TransferSucceeded, ClientBalanceAfter: &client, AgencyAccountAfter: &account}
	case errors.Is(err, providers.ErrMaybeSent):
		return store.TransferOutcome{Status: store.TransferUnknown, Error: err.Error()}
	case errors.As(err, &pe) && pe.Status != 0:
		msg := pe.Message
		if msg == "" {
			msg = pe.Error()
		}
		return store.TransferOutcome{Status: store.TransferRejected, ProviderMessage: msg}
	}
	return store.TransferOutcome{Status: store.TransferNotApplied, Error: "not sent: " + err.Error()}
}

// IsInsufficientFunds reports whether MGID rejected a journaled transfer
// because the agency's account holds less than the amount (the MGID client
// classifies the message it kept).
func IsInsufficientFunds(t store.Transfer) bool {
	return t.Status == store.TransferRejected && errors.Is(mgid.Refusal(t.ProviderMessage), mgid.ErrInsufficientFunds)
}

// now is truncated to what Postgres keeps, so a time we hold equals the one we stored.
func (s *Sender) now() time.Time { return journalTime(s.Now) }

func journalTime(now func() time.Time) time.Time {
	return nowFunc(now)().UTC().Truncate(time.Microsecond)
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
