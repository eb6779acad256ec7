package store

import (
	"context"
	"fmt"
	"time"
)

// WalletMonthsAhead is how many months after the current one have their
// partition of closed wallet periods made ahead of time.
const WalletMonthsAhead = 2

// EnsureWalletPartitions creates the partitions of closed wallet periods
// (syncer.mgid_client_wallet_YYYYMM) for the month of at and the
// WalletMonthsAhead months after it, where missing, and returns the names of
// those it created. It must run in a transaction of its own, never a
// snapshot's: a partition is created apart and attached, which takes a
// ShareUpdateExclusiveLock on the parent (no SELECT conflicts with it) until
// commit. It waits at most 5 s for a lock (a retention DROP holding the
// parent) rather than queue behind one: the months ahead leave time for the
// next try.
func (db *DB) EnsureWalletPartitions(ctx context.Context, at time.Time) ([]string, error) {
	if _, err := db.exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return nil, fmt.Errorf("wallet partitions lock timeout: %w", err)
	}
	// Replicas starting a tick together would both find a month missing and
	// both create it; one at a time, the second finds it made.
	if _, err := db.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, LockKey("wallet-partitions")); err != nil {
		return nil, fmt.Errorf("wallet partitions lock: %w", err)
	}
	var created []string
	for i := 0; i <= WalletMonthsAhead; i++ {
		month := time.Date(at.UTC().Year(), at.UTC().Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		var exists bool
		if err := db.queryRow(ctx, `SELECT syncer.mgid_wallet_partition_exists($1)`, month).Scan(&exists); err != nil {
			return created, fmt.Errorf("wallet partition for %s: %w", month.Format("2006-01"), err)
		}
		if exists {
			continue
		}
		var name string
		if err := db.queryRow(ctx, `SELECT syncer.mgid_wallet_partition($1)`, month).Scan(&name); err != nil {
			return created, fmt.Errorf("create wallet partition for %s: %w", month.Format("2006-01"), err)
		}
		created = append(created, name)
	}
	return created, nil
}
