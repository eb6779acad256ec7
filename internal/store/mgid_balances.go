package store

import (
	"context"
	"fmt"
	"time"

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

// InsertAgencyBalance appends an agency snapshot row.
func (db *DB) InsertAgencyBalance(ctx context.Context, b AgencyBalance) error {
	_, err := db.exec(ctx, `
		INSERT INTO syncer.mgid_agency_balance
		    (agency_id, captured_at, run_id, personal_account, bonus_account, clients_balance)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		b.AgencyID, b.CapturedAt, b.RunID, b.Personal, b.Bonus, b.ClientsBalance)
	if err != nil {
		return fmt.Errorf("insert agency %d balance: %w", b.AgencyID, err)
	}
	return nil
}

// ClientBalance is one client wallet in a snapshot. Credit is nil when MGID
// did not send it: an unknown overdraft is not an overdraft of 0.
type ClientBalance struct {
	ClientID int64
	Email    string
	Balance  money.Amount
	Credit   *money.Amount
	Income   money.Amount
}

// ClientBalanceRows yields the rows of one snapshot, one at a time, so a
// snapshot of a million clients never sits in memory whole.
type ClientBalanceRows interface {
	Next() bool
	Row() ClientBalance
	Err() error
}

// CloseBalanceDays writes the daily rows (bi.mgid_client_balance_daily) of
// every day of the agency that ended before the day of at in MGID_TIMEZONE
// and is not written yet. A day's rows are computed once, when it closes;
// the view computes the open day on the fly. Returns the days written.
func (db *DB) CloseBalanceDays(ctx context.Context, agencyID int64, at time.Time) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT syncer.mgid_close_balance_days($1, $2)`, agencyID, at).Scan(&n); err != nil {
		return 0, fmt.Errorf("close balance days of agency %d: %w", agencyID, err)
	}
	return n, nil
}

// LatestClientBalance returns a client's wallet in its agency's latest
// snapshot; ErrNotFound when the client is not in it.
func (db *DB) LatestClientBalance(ctx context.Context, agencyID, clientID int64) (ClientBalance, time.Time, error) {
	var c ClientBalance
	var at time.Time
	err := db.queryRow(ctx, `
		SELECT client_id, email, balance, credit, income, captured_at
		FROM bi.mgid_client_balance_latest WHERE agency_id = $1 AND client_id = $2`,
		agencyID, clientID).Scan(&c.ClientID, &c.Email, &c.Balance, &c.Credit, &c.Income, &at)
	if err != nil {
		return ClientBalance{}, time.Time{}, fmt.Errorf("latest balance of client %d: %w", clientID, err)
	}
	return c, at, nil
}
