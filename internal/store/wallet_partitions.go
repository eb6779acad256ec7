package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

// walletPartitionsFrom and walletPartitionsWhere list the monthly partitions
// of closed wallet periods (c.relname, syncer.mgid_client_wallet_YYYYMM) with
// the end of each one's month (m.month_end): a partition holds the periods
// that ended in its month, so nothing in it reaches past month_end.
const (
	walletPartitionsFrom = `
		FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL (SELECT (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month')::timestamp
		                           AT TIME ZONE 'UTC' AS month_end) m`
	walletPartitionsWhere = `i.inhparent = 'syncer.mgid_client_wallet'::regclass
		  AND n.nspname = 'syncer' AND c.relname ~ '^mgid_client_wallet_[0-9]{6}$'`
)

// PackWalletIndexes rebuilds, once, the indexes of every partition of
// closed wallet periods whose month ended before now's month (see migration
// 00032: built as periods arrive, the (client_key, valid_to) index is about
// 40% larger than built in one pass) and returns the partitions it rebuilt.
// It runs outside any transaction (REINDEX CONCURRENTLY cannot run in one),
// blocks neither readers nor writers, and waits for transactions already
// running to end. A partition is claimed in syncer.mgid_wallet_packed first,
// so replicas never rebuild the same one; a failed rebuild releases its claim,
// and a claim left by a replica that died is taken again after an hour. The
// half-built copy a stopped REINDEX leaves is dropped before a new try.
func (db *DB) PackWalletIndexes(ctx context.Context, now time.Time) ([]string, error) {
	monthStart := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := db.query(ctx, `
		SELECT c.relname`+walletPartitionsFrom+`
		LEFT JOIN syncer.mgid_wallet_packed p ON p.partition = c.relname
		WHERE `+walletPartitionsWhere+`
		  AND m.month_end <= $1
		  AND (p.partition IS NULL OR p.packed_at IS NULL AND p.claimed_at < now() - interval '1 hour')
		ORDER BY c.relname`, monthStart)
	if err != nil {
		return nil, fmt.Errorf("wallet partitions to pack: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("wallet partitions to pack: %w", err)
	}
	var packed []string
	for _, name := range names {
		tag, err := db.exec(ctx, `
			INSERT INTO syncer.mgid_wallet_packed AS p (partition) VALUES ($1)
			ON CONFLICT (partition) DO UPDATE SET claimed_at = now()
			WHERE p.packed_at IS NULL AND p.claimed_at < now() - interval '1 hour'`, name)
		if err != nil {
			return packed, fmt.Errorf("claim %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			continue // another replica has it
		}
		if err := db.dropInvalidIndexes(ctx, name); err != nil {
			db.unclaimPack(name)
			return packed, err
		}
		table := pgx.Identifier{"syncer", name}.Sanitize()
		if _, err := db.exec(ctx, `REINDEX TABLE CONCURRENTLY `+table); err != nil {
			db.unclaimPack(name)
			return packed, fmt.Errorf("rebuild the indexes of %s: %w", name, err)
		}
		if _, err := db.exec(ctx, `UPDATE syncer.mgid_wallet_packed SET packed_at = now() WHERE partition = $1`, name); err != nil {
			return packed, fmt.Errorf("record %s packed: %w", name, err)
		}
		packed = append(packed, name)
	}
	return packed, nil
}

// dropInvalidIndexes drops the invalid indexes of partition name: the copies
// a REINDEX CONCURRENTLY that did not finish leaves (named ..._ccnew).
func (db *DB) dropInvalidIndexes(ctx context.Context, name string) error {
	rows, err := db.query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE i.indrelid = $1::regclass AND NOT i.indisvalid`, pgx.Identifier{"syncer", name}.Sanitize())
	if err != nil {
		return fmt.Errorf("invalid indexes of %s: %w", name, err)
	}
	invalid, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("invalid indexes of %s: %w", name, err)
	}
	for _, idx := range invalid {
		// From the catalog, quoted by format's %I.
		if _, err := db.exec(ctx, `DROP INDEX CONCURRENTLY `+idx); err != nil {
			return fmt.Errorf("drop %s: %w", idx, err)
		}
	}
	return nil
}

// unclaimPack undoes a failed rebuild: the half-built copy and the claim, on
// a context of its own (the run's may be what ended).
func (db *DB) unclaimPack(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = db.dropInvalidIndexes(ctx, name)
	_, _ = db.exec(ctx, `DELETE FROM syncer.mgid_wallet_packed WHERE partition = $1 AND packed_at IS NULL`, name)
}
