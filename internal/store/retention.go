package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DropWalletDetail drops every monthly partition of closed wallet periods
// (syncer.mgid_client_wallet_YYYYMM) whose month ended on or before before,
// and only once every agency's daily rows cover that month: what is dropped
// is the per-snapshot detail, the daily rows stay. A partition holds the
// periods that ended in its month, so none of its rows reaches past the
// month's end and nothing newer than before is lost. It returns the names of
// the partitions dropped.
func (db *DB) DropWalletDetail(ctx context.Context, before time.Time) ([]string, error) {
	// Dropping a partition takes a lock on the parent table that waits for
	// running readers; give up rather than queue every dashboard behind it.
	if _, err := db.exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
		return nil, fmt.Errorf("retention lock timeout: %w", err)
	}
	rows, err := db.query(ctx, `
		SELECT c.relname`+walletPartitionsFrom+`
		WHERE `+walletPartitionsWhere+`
		  AND m.month_end <= $1
		  AND m.month_end <= coalesce((SELECT min(through_at) FROM syncer.mgid_balance_rollup), '-infinity')
		  AND NOT EXISTS (SELECT 1 FROM syncer.mgid_agency_balance a
		                  LEFT JOIN syncer.mgid_balance_rollup r USING (agency_id)
		                  WHERE r.agency_id IS NULL)
		ORDER BY c.relname`, before)
	if err != nil {
		return nil, fmt.Errorf("wallet partitions to drop: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wallet partitions to drop: %w", err)
	}
	for _, name := range names {
		// The name comes from the catalog and is quoted as an identifier.
		if _, err := db.exec(ctx, `DROP TABLE `+pgx.Identifier{"syncer", name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop %s: %w", name, err)
		}
	}
	return names, nil
}
