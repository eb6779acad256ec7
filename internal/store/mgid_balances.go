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
func (db *DB) InsertAgencyBalance(ctx context.Context, b AgencyBalance) error {
	_, err := db.Exec(ctx, `
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

// CopyClientBalances records a snapshot of one agency's client wallets. The
// agency's row for capturedAt (InsertAgencyBalance) must be written first in
// the same transaction: it is the snapshot index the history is read through.
//
// The rows go by COPY into a temporary staging table; one statement then
// compares them with each client's open period (syncer.mgid_client) and
// writes only what changed: a client whose wallet differs, or who is missing
// from the snapshot, has its period closed (appended to
// syncer.mgid_client_wallet) and, if listed, a new one opened. An unchanged
// client costs nothing but its COPY row. It returns the clients listed.
func (db *DB) CopyClientBalances(ctx context.Context, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	// ON COMMIT DELETE ROWS: the table outlives the transaction on this
	// connection, so later runs skip the catalog work of creating it again.
	// TRUNCATE empties it between agencies of one transaction.
	if _, err := db.Exec(ctx, `
		CREATE TEMP TABLE IF NOT EXISTS mgid_wallet_stage (
		    client_id bigint NOT NULL, email text NOT NULL,
		    balance numeric(18,4), credit numeric(18,4), income numeric(18,4)
		) ON COMMIT DELETE ROWS`); err != nil {
		return 0, fmt.Errorf("client balances staging of agency %d: %w", agencyID, err)
	}
	if _, err := db.Exec(ctx, `TRUNCATE mgid_wallet_stage`); err != nil {
		return 0, fmt.Errorf("client balances staging of agency %d: %w", agencyID, err)
	}
	// The month's partition of closed periods, created on its first snapshot.
	if _, err := db.Exec(ctx, `SELECT syncer.mgid_wallet_partition($1)`, capturedAt); err != nil {
		return 0, fmt.Errorf("wallet partition for %s: %w", capturedAt.Format(time.RFC3339), err)
	}
	src := &clientBalanceSource{rows: rows, vals: make([]any, 5)}
	n, err := db.CopyFrom(ctx, pgx.Identifier{"mgid_wallet_stage"},
		[]string{"client_id", "email", "balance", "credit", "income"}, src)
	if err != nil {
		return n, fmt.Errorf("copy client balances of agency %d: %w", agencyID, err)
	}
	if _, err := db.Exec(ctx, diffClientBalances, agencyID, capturedAt); err != nil {
		return n, fmt.Errorf("record client balances of agency %d: %w", agencyID, err)
	}
	return n, nil
}

// diffClientBalances: one full join of the agency's clients with the staged
// snapshot finds the new, changed, vanished and returning clients; the
// data-modifying CTEs then write each kind once.
const diffClientBalances = `
WITH d AS MATERIALIZED (
    SELECT c.client_key, c.present, c.since, c.email AS old_email,
           c.balance AS old_balance, c.credit AS old_credit, c.income AS old_income,
           s.client_id, s.email, s.balance, s.credit, s.income,
           (s.client_id IS NULL OR NOT c.present
            OR (s.balance, s.credit, s.income) IS DISTINCT FROM (c.balance, c.credit, c.income)) AS wallet_changed
    FROM (SELECT * FROM syncer.mgid_client WHERE agency_id = $1) c
    FULL JOIN mgid_wallet_stage s ON s.client_id = c.client_id
    WHERE c.client_key IS NULL
       OR (s.client_id IS NULL AND c.present)
       OR (s.client_id IS NOT NULL AND (NOT c.present OR s.email <> c.email
           OR (s.balance, s.credit, s.income) IS DISTINCT FROM (c.balance, c.credit, c.income)))
), closed AS (
    INSERT INTO syncer.mgid_client_wallet (client_key, valid_from, valid_to, balance, credit, income)
    SELECT client_key, since, $2, old_balance, old_credit, old_income
    FROM d WHERE client_key IS NOT NULL AND present AND wallet_changed
), changed AS (
    UPDATE syncer.mgid_client c
    SET email = coalesce(d.email, c.email),
        present = d.client_id IS NOT NULL,
        last_seen_at = CASE WHEN d.client_id IS NULL
                            THEN (SELECT max(a.captured_at) FROM syncer.mgid_agency_balance a
                                  WHERE a.agency_id = $1 AND a.captured_at < $2)
                            ELSE c.last_seen_at END,
        since = CASE WHEN d.client_id IS NOT NULL AND d.wallet_changed THEN $2 ELSE c.since END,
        balance = CASE WHEN d.client_id IS NULL THEN c.balance ELSE d.balance END,
        credit = CASE WHEN d.client_id IS NULL THEN c.credit ELSE d.credit END,
        income = CASE WHEN d.client_id IS NULL THEN c.income ELSE d.income END
    FROM d
    WHERE c.client_key = d.client_key
), added AS (
    INSERT INTO syncer.mgid_client (agency_id, client_id, email, first_seen_at, last_seen_at, present, since, balance, credit, income)
    SELECT $1, client_id, email, $2, $2, true, $2, balance, credit, income
    FROM d WHERE client_key IS NULL
    RETURNING client_key, email
)
INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
SELECT client_key, $2, email FROM added
UNION ALL
SELECT client_key, $2, email FROM d
WHERE client_key IS NOT NULL AND client_id IS NOT NULL AND email <> old_email`

// CloseBalanceDays writes the daily rows (bi.mgid_client_balance_daily) of
// every day of the agency that ended before the day of at in MGID_TIMEZONE
// and is not written yet. A day's rows are computed once, when it closes;
// the view computes the open day on the fly. Returns the days written.
func (db *DB) CloseBalanceDays(ctx context.Context, agencyID int64, at time.Time) (int, error) {
	var n int
	if err := db.QueryRow(ctx, `SELECT syncer.mgid_close_balance_days($1, $2)`, agencyID, at).Scan(&n); err != nil {
		return 0, fmt.Errorf("close balance days of agency %d: %w", agencyID, err)
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
	s.vals[0], s.vals[1], s.vals[2], s.vals[3], s.vals[4] = r.ClientID, r.Email, r.Balance, r.Credit, r.Income
	return s.vals, nil
}

// LatestClientBalance returns a client's wallet in its agency's latest
// snapshot; ok is false when the client is not in it.
func (db *DB) LatestClientBalance(ctx context.Context, agencyID, clientID int64) (ClientBalance, time.Time, bool, error) {
	var c ClientBalance
	var at time.Time
	err := db.QueryRow(ctx, `
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
