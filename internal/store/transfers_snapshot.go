package store

import (
	"context"
	"fmt"

	"syncer/internal/money"
)

// The transfer commands and the top-up job read the latest balances snapshot:
// to validate a client id, to show and record the before figures when the
// provider cannot be read, and to plan top-ups.

// LatestAgencyBalance returns the agency's most recent snapshot row;
// ErrNotFound when the agency was never snapshotted.
func (db *DB) LatestAgencyBalance(ctx context.Context, agencyID int64) (AgencyBalance, error) {
	var b AgencyBalance
	err := db.queryRow(ctx, `
		SELECT agency_id, captured_at, run_id, personal_account, bonus_account, clients_balance
		FROM syncer.mgid_agency_balance WHERE agency_id = $1
		ORDER BY captured_at DESC LIMIT 1`, agencyID).
		Scan(&b.AgencyID, &b.CapturedAt, &b.RunID, &b.Personal, &b.Bonus, &b.ClientsBalance)
	if err != nil {
		return AgencyBalance{}, fmt.Errorf("latest balance of agency %d: %w", agencyID, err)
	}
	return b, nil
}

// LatestClientsBelow returns the clients of the agency's latest snapshot
// whose balance is below limit, lowest balance first. It is the top-up
// planner's pre-filter: an agency may have a million clients, and only those
// under the highest minimum of any rule can need money.
func (db *DB) LatestClientsBelow(ctx context.Context, agencyID int64, limit money.Amount) ([]ClientBalance, error) {
	rows, err := db.query(ctx, `
		SELECT client_id, email, balance, credit, income
		FROM bi.mgid_client_balance_latest
		WHERE agency_id = $1 AND balance < $2
		ORDER BY balance, client_id`, agencyID, limit)
	if err != nil {
		return nil, fmt.Errorf("clients of agency %d below %s: %w", agencyID, limit, err)
	}
	defer rows.Close()
	var out []ClientBalance
	for rows.Next() {
		var c ClientBalance
		if err := rows.Scan(&c.ClientID, &c.Email, &c.Balance, &c.Credit, &c.Income); err != nil {
			return nil, fmt.Errorf("clients of agency %d below %s: %w", agencyID, limit, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clients of agency %d below %s: %w", agencyID, limit, err)
	}
	return out, nil
}
