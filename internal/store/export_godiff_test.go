package store

import (
	"context"
	"time"
)

// TEMPORARY: the Go diff, for one side-by-side measurement.
func (db *DB) CopyClientBalancesGoDiff(ctx context.Context, agencyID int64, capturedAt time.Time, rows ClientBalanceRows) (int64, error) {
	return db.copyClientBalancesGoDiff(ctx, agencyID, capturedAt, rows)
}
