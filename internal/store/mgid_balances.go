package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"syncer/internal/money"
)

// AgencyBalance is one agency wallet snapshot row.
type AgencyBalance struct {
	AgencyID       int64
	CapturedAt     time.Time
	RunID          int64
	Personal       money.Amount
	Bonus          money.Amount
	ClientsBalance money.Amount
}

// Account is the wallet named by a transfer's account type: "bonus" or
// (anything else) "personal".
func (b AgencyBalance) Account(accountType string) money.Amount {
	if accountType == "bonus" {
		return b.Bonus
	}
	return b.Personal
}

// InsertAgencyBalance appends an agency snapshot row.
func InsertAgencyBalance(ctx context.Context, q DBTX, b AgencyBalance) error {
	_, err := q.Exec(ctx, `
		INSERT INTO syncer.mgid_agency_balance
		    (agency_id, captured_at, run_id, personal_account, bonus_account, clients_balance)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		b.AgencyID, b.CapturedAt, b.RunID, b.Personal, b.Bonus, b.ClientsBalance)
	if err != nil {
		return fmt.Errorf("insert agency %d balance: %w", b.AgencyID, err)
	}
	return nil
}

// ClientBalance is one client wallet in a snapshot.
type ClientBalance struct {
	ClientID int64
	Email    string
	Balance  money.Amount
	Credit   money.Amount
	Income   money.Amount
}

// ClientBalanceRows yields the rows of one snapshot, one at a time, so a
// snapshot of a million clients never sits in memory whole.
type ClientBalanceRows interface {
	Next() bool
	Row() ClientBalance
	Err() error
}

// CopyClientBalances appends a snapshot of one agency's client wallets with
// COPY. Every row gets the same captured_at: a new snapshot never conflicts
// with an old one, so no staging table or upsert is needed.
func CopyClientBalances(ctx context.Context, q DBTX, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	src := &clientBalanceSource{rows: rows, vals: make([]any, 7)}
	src.vals[0], src.vals[1] = agencyID, capturedAt
	n, err := q.CopyFrom(ctx, pgx.Identifier{"syncer", "mgid_client_balance"},
		[]string{"agency_id", "captured_at", "client_id", "email", "balance", "credit", "income"}, src)
	if err != nil {
		return n, fmt.Errorf("copy client balances of agency %d: %w", agencyID, err)
	}
	return n, nil
}

type clientBalanceSource struct {
	rows ClientBalanceRows
	vals []any
}

func (s *clientBalanceSource) Next() bool { return s.rows.Next() }
func (s *clientBalanceSource) Err() error { return s.rows.Err() }

// Values reuses one slice: pgx encodes each row before asking for the next.
func (s *clientBalanceSource) Values() ([]any, error) {
	r := s.rows.Row()
	s.vals[2], s.vals[3], s.vals[4], s.vals[5], s.vals[6] = r.ClientID, r.Email, r.Balance, r.Credit, r.Income
	return s.vals, nil
}

// LatestClientBalance returns a client's wallet in its agency's latest
// snapshot; ok is false when the client is not in it.
func LatestClientBalance(ctx context.Context, q DBTX, agencyID, clientID int64) (ClientBalance, time.Time, bool, error) {
	var c ClientBalance
	var at time.Time
	err := q.QueryRow(ctx, `
		SELECT client_id, email, balance, credit, income, captured_at
		FROM bi.mgid_client_balance_latest WHERE agency_id = $1 AND client_id = $2`,
		agencyID, clientID).Scan(&c.ClientID, &c.Email, &c.Balance, &c.Credit, &c.Income, &at)
	if err == pgx.ErrNoRows {
		return ClientBalance{}, time.Time{}, false, nil
	}
	if err != nil {
		return ClientBalance{}, time.Time{}, false, fmt.Errorf("latest balance of client %d: %w", clientID, err)
	}
	return c, at, true, nil
}
