package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"syncer/internal/money"
)

// The transfer journal's vocabulary is typed here, in the store, rather
// than in internal/transfer: it is what the journal's columns hold (their
// CHECK constraints list the same words, and bi.mgid_transfers shows them),
// and the store may import neither the domain nor the provider packages
// (houselint: the store knows nothing of HTTP, jobs or what jobs do). So
// the store owns its persisted enums and the packages above use them.

// TransferStatus is a journal row's status (syncer.mgid_transfers.status).
type TransferStatus string

const (
	TransferPlanned    TransferStatus = "planned"     // dry run: journaled, never sent
	TransferInFlight   TransferStatus = "in_flight"   // committed before the request; the outcome is not recorded yet
	TransferSucceeded  TransferStatus = "succeeded"   // MGID confirmed it, or reconcile proved it applied
	TransferRejected   TransferStatus = "rejected"    // MGID refused it (ProviderMessage says why)
	TransferUnknown    TransferStatus = "unknown"     // the request may have reached MGID; reconcile decides
	TransferNotApplied TransferStatus = "not_applied" // never sent, or reconcile proved it was not applied
)

// Origin is who asked for a transfer (syncer.mgid_transfers.origin).
type Origin string

const (
	OriginManual Origin = "manual" // `syncer mgid transfer`
	OriginTopUp  Origin = "topup"  // the mgid-topup job
)

// AccountType is the agency wallet a journaled transfer drew from
// (syncer.mgid_transfers.account_type): mgid.AccountType's two words, kept
// as the journal's own type because the store may not import mgid;
// internal/transfer converts between them, the one place that sees both.
type AccountType string

const (
	AccountPersonal AccountType = "personal"
	AccountBonus    AccountType = "bonus"
)

// BeforeSource is where a transfer's before figures came from.
type BeforeSource string

const (
	BeforeFromProvider BeforeSource = "provider"
	BeforeFromSnapshot BeforeSource = "snapshot"
)

// ErrTransferOpen means the client already has an in_flight or unknown
// transfer: no new one until reconcile settles it.
var ErrTransferOpen = errors.New("the client has a transfer whose outcome is not settled")

// TransferBefore is what the client's and agency's wallets held before a
// transfer, the reference reconcile compares the provider's figures against.
type TransferBefore struct {
	Source        BeforeSource
	At            time.Time
	ClientBalance money.Amount
	ClientIncome  money.Amount
	AgencyAccount money.Amount // the account (personal or bonus) drawn from
}

// Transfer is one row of the transfer journal.
type Transfer struct {
	ID          int64
	AgencyID    int64
	ClientID    int64
	ClientEmail string
	Amount      money.Amount
	AccountType AccountType
	Origin      Origin
	RequestedBy string
	DryRun      bool
	Status      TransferStatus
	Before      *TransferBefore // nil when none was recorded

	ClientBalanceAfter *money.Amount
	AgencyAccountAfter *money.Amount
	ProviderMessage    string
	Error              string

	CreatedAt     time.Time
	SentAt        *time.Time
	SettledAt     *time.Time
	RunID         int64 // 0: not from a job run
	ReconciledAt  *time.Time
	ReconcileNote string
}

// Open reports whether the transfer's outcome is still to be settled.
func (t Transfer) Open() bool { return t.Status == TransferInFlight || t.Status == TransferUnknown }

const transferColumns = `id, agency_id, client_id, client_email, amount, account_type, origin, requested_by,
	dry_run, status, before_source, before_at, client_balance_before, client_income_before, agency_account_before,
	client_balance_after, agency_account_after, coalesce(provider_message, ''), coalesce(error, ''),
	created_at, sent_at, settled_at, coalesce(run_id, 0), reconciled_at, coalesce(reconcile_note, '')`

func scanTransfer(row pgx.Row) (Transfer, error) {
	var t Transfer
	var src *BeforeSource
	var at *time.Time
	var cb, ci, aa *money.Amount
	err := row.Scan(&t.ID, &t.AgencyID, &t.ClientID, &t.ClientEmail, &t.Amount, &t.AccountType, &t.Origin, &t.RequestedBy,
		&t.DryRun, &t.Status, &src, &at, &cb, &ci, &aa,
		&t.ClientBalanceAfter, &t.AgencyAccountAfter, &t.ProviderMessage, &t.Error,
		&t.CreatedAt, &t.SentAt, &t.SettledAt, &t.RunID, &t.ReconciledAt, &t.ReconcileNote)
	if err != nil {
		return Transfer{}, err
	}
	if src != nil && at != nil && cb != nil && ci != nil && aa != nil {
		t.Before = &TransferBefore{Source: *src, At: *at, ClientBalance: *cb, ClientIncome: *ci, AgencyAccount: *aa}
	}
	return t, nil
}

func collectTransfers(rows pgx.Rows, err error, what string) ([]Transfer, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Transfer
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// InsertTransfer journals t (status planned or in_flight) and returns its id.
// On the pool it commits at once, which is the point: an in_flight row must
// be durable before its request leaves. ErrTransferOpen when the client
// already has an open transfer.
func (db *DB) InsertTransfer(ctx context.Context, t Transfer) (int64, error) {
	var src *BeforeSource
	var at *time.Time
	var cb, ci, aa *money.Amount
	if b := t.Before; b != nil {
		src, at, cb, ci, aa = &b.Source, &b.At, &b.ClientBalance, &b.ClientIncome, &b.AgencyAccount
	}
	var runID *int64
	if t.RunID != 0 {
		runID = &t.RunID
	}
	var id int64
	err := db.queryRow(ctx, `
		INSERT INTO syncer.mgid_transfers
		    (agency_id, client_id, client_email, amount, account_type, origin, requested_by, dry_run, status,
		     before_source, before_at, client_balance_before, client_income_before, agency_account_before,
		     created_at, sent_at, run_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING id`,
		t.AgencyID, t.ClientID, t.ClientEmail, t.Amount, t.AccountType, t.Origin, t.RequestedBy, t.DryRun, t.Status,
		src, at, cb, ci, aa, t.CreatedAt, t.SentAt, runID).Scan(&id)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "mgid_transfers_one_open_per_client" {
		return 0, fmt.Errorf("client %d of agency %d: %w", t.ClientID, t.AgencyID, ErrTransferOpen)
	}
	if err != nil {
		return 0, fmt.Errorf("journal transfer to client %d: %w", t.ClientID, err)
	}
	return id, nil
}

// TransferOutcome is what became of an in_flight transfer's request.
type TransferOutcome struct {
	Status             TransferStatus // succeeded, rejected, unknown or not_applied
	ClientBalanceAfter *money.Amount
	AgencyAccountAfter *money.Amount
	ProviderMessage    string
	Error              string
	At                 time.Time
}

// SettleTransfer records the outcome of the request of in_flight transfer
// id. It changes nothing (and says so) if the row is no longer in flight:
// an outcome is written once. settled_at is when the outcome became known,
// so it stays NULL for unknown: reconcile relies on a settled_at being a
// moment by which the transfer's effect, if any, had happened.
func (db *DB) SettleTransfer(ctx context.Context, id int64, o TransferOutcome) error {
	tag, err := db.exec(ctx, `
		UPDATE syncer.mgid_transfers
		SET status = $2, client_balance_after = $3, agency_account_after = $4,
		    provider_message = NULLIF($5, ''), error = NULLIF($6, ''),
		    settled_at = CASE WHEN $2 = 'unknown' THEN NULL ELSE $7::timestamptz END
		WHERE id = $1 AND status = 'in_flight'`,
		id, o.Status, o.ClientBalanceAfter, o.AgencyAccountAfter, o.ProviderMessage, o.Error, o.At)
	if err != nil {
		return fmt.Errorf("record outcome of transfer %d: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("record outcome of transfer %d: it is no longer in flight", id)
	}
	return nil
}

// ReconcileTransfer records reconcile's verdict on an open transfer: status
// is succeeded, not_applied or unknown (undecided: the note says why). Only
// an open row changes; ok is false otherwise. A decided row is settled at
// `at`: the provider's figures read before then showed the outcome.
func (db *DB) ReconcileTransfer(ctx context.Context, id int64, status TransferStatus, note string, at time.Time) (ok bool, err error) {
	tag, err := db.exec(ctx, `
		UPDATE syncer.mgid_transfers
		SET status = $2, reconcile_note = $3, reconciled_at = $4,
		    settled_at = CASE WHEN $2 = 'unknown' THEN NULL ELSE $4::timestamptz END
		WHERE id = $1 AND status IN ('in_flight', 'unknown')`,
		id, status, note, at)
	if err != nil {
		return false, fmt.Errorf("record reconcile of transfer %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ErrNotUnknown: ResolveTransfer was asked to settle a transfer whose
// status is not unknown.
var ErrNotUnknown = errors.New("only an unknown transfer can be resolved by hand")

// ResolveTransfer records a person's verdict (succeeded or not_applied) on an
// unknown transfer that reconcile could not decide. In-flight transfers are
// left to reconcile, which alone can tell a crashed sender's from a live
// one's (it takes the agency's transfer lock). It returns the row as it is
// now; with ErrNotUnknown, as it stands unchanged.
func (db *DB) ResolveTransfer(ctx context.Context, id int64, status TransferStatus, note string, at time.Time) (Transfer, error) {
	t, err := scanTransfer(db.queryRow(ctx, `
		UPDATE syncer.mgid_transfers
		SET status = $2, reconcile_note = $3, reconciled_at = $4, settled_at = $4
		WHERE id = $1 AND status = 'unknown'
		RETURNING `+transferColumns, id, status, note, at))
	if errors.Is(err, ErrNotFound) {
		// Not unknown, or no such transfer (GetTransfer says which).
		if t, err = db.GetTransfer(ctx, id); err != nil {
			return t, err
		}
		return t, ErrNotUnknown
	}
	if err != nil {
		return t, fmt.Errorf("resolve transfer %d: %w", id, err)
	}
	return t, nil
}

// OpenTransfers lists an agency's in_flight and unknown transfers, oldest first.
func (db *DB) OpenTransfers(ctx context.Context, agencyID int64) ([]Transfer, error) {
	rows, err := db.query(ctx, `SELECT `+transferColumns+` FROM syncer.mgid_transfers
		WHERE agency_id = $1 AND status IN ('in_flight', 'unknown') ORDER BY id`, agencyID)
	return collectTransfers(rows, err, "open transfers of agency "+strconv.FormatInt(agencyID, 10))
}

// CountOpenTransfers counts in_flight and unknown transfers of every agency:
// a cheap check before logging in to reconcile.
func (db *DB) CountOpenTransfers(ctx context.Context) (int64, error) {
	var n int64
	if err := db.queryRow(ctx, `SELECT count(*) FROM syncer.mgid_transfers WHERE status IN ('in_flight', 'unknown')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open transfers: %w", err)
	}
	return n, nil
}

// OpenTransferOf returns the client's open transfer; ErrNotFound when it
// has none.
func (db *DB) OpenTransferOf(ctx context.Context, agencyID, clientID int64) (Transfer, error) {
	t, err := scanTransfer(db.queryRow(ctx, `SELECT `+transferColumns+` FROM syncer.mgid_transfers
		WHERE agency_id = $1 AND client_id = $2 AND status IN ('in_flight', 'unknown')`, agencyID, clientID))
	if err != nil {
		return Transfer{}, fmt.Errorf("open transfer of client %d: %w", clientID, err)
	}
	return t, nil
}

// TransfersNotSettledBefore lists the agency's sent transfers that were not
// settled by t (still open, or settled after it): the ones whose effect may
// fall after a reading taken at t. Planned rows were never sent and are left out.
func (db *DB) TransfersNotSettledBefore(ctx context.Context, agencyID int64, t time.Time) ([]Transfer, error) {
	rows, err := db.query(ctx, `SELECT `+transferColumns+` FROM syncer.mgid_transfers
		WHERE agency_id = $1 AND status <> 'planned' AND (settled_at IS NULL OR settled_at > $2)
		ORDER BY id`, agencyID, t)
	return collectTransfers(rows, err, "transfers of agency "+strconv.FormatInt(agencyID, 10))
}

// GetTransfer reads one journal row.
func (db *DB) GetTransfer(ctx context.Context, id int64) (Transfer, error) {
	t, err := scanTransfer(db.queryRow(ctx, `SELECT `+transferColumns+` FROM syncer.mgid_transfers WHERE id = $1`, id))
	if err != nil {
		return Transfer{}, fmt.Errorf("transfer %d: %w", id, err)
	}
	return t, nil
}

// TransferFilter narrows ListTransfers; zero fields match everything.
type TransferFilter struct {
	AgencyID, ClientID int64
	Limit              int // default 100
}

// ListTransfers returns journal rows, newest first.
func (db *DB) ListTransfers(ctx context.Context, f TransferFilter) ([]Transfer, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.query(ctx, `SELECT `+transferColumns+` FROM syncer.mgid_transfers
		WHERE ($1 = 0 OR agency_id = $1) AND ($2 = 0 OR client_id = $2)
		ORDER BY id DESC LIMIT $3`, f.AgencyID, f.ClientID, f.Limit)
	return collectTransfers(rows, err, "list transfers")
}

// DaySums is what an agency's transfers of one day add up to, per client and
// in all: the amounts the daily caps are measured against.
type DaySums struct {
	PerClient map[int64]money.Amount
	Total     money.Amount
}

// TransferDaySums sums the agency's transfers created in [from, to) that
// count against the daily caps: succeeded, in_flight and unknown (money that
// moved or may have), plus planned rows when includePlanned (a dry run
// measures its plan against its own earlier plans). Rejected and not_applied
// moved nothing.
func (db *DB) TransferDaySums(ctx context.Context, agencyID int64, from, to time.Time, includePlanned bool) (DaySums, error) {
	rows, err := db.query(ctx, `
		SELECT client_id, sum(amount) FROM syncer.mgid_transfers
		WHERE agency_id = $1 AND created_at >= $2 AND created_at < $3
		  AND (status IN ('succeeded', 'in_flight', 'unknown') OR ($4 AND status = 'planned'))
		GROUP BY client_id`, agencyID, from, to, includePlanned)
	if err != nil {
		return DaySums{}, fmt.Errorf("transfers of agency %d on the day: %w", agencyID, err)
	}
	defer rows.Close()
	s := DaySums{PerClient: map[int64]money.Amount{}}
	for rows.Next() {
		var id int64
		var sum money.Amount
		if err := rows.Scan(&id, &sum); err != nil {
			return DaySums{}, fmt.Errorf("transfers of agency %d on the day: %w", agencyID, err)
		}
		s.PerClient[id] = sum
		s.Total = s.Total.Add(sum)
	}
	return s, rows.Err()
}

// TryLockTransfers takes the agency's transfer lock: every process sending
// or reconciling transfers of the agency holds it, so while it is held
// nobody else has a request in flight. ok is false when another session
// holds it. Release it with Release.
func (db *DB) TryLockTransfers(ctx context.Context, agencyID int64) (*JobLock, bool, error) {
	return db.tryLock(ctx, "mgid-transfers:"+strconv.FormatInt(agencyID, 10))
}
