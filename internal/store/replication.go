package store

import (
	"context"
	"fmt"
	"time"
)

// NotReplicatedError starts the error of every transfer settled not_applied
// because no standby confirmed its journal row in time (see
// transfer.ReplicaGuard); the status page and the metrics count them by it.
const NotReplicatedError = "not sent: standbys did not confirm the journal row"

// WALPosition is the server's current WAL write position (pg_current_wal_lsn),
// as text such as "0/3000148". Read right after a commit it is at or past
// the commit's record, so a standby that has flushed that far holds the
// commit. On a standby it fails: a transfer must never be journaled there.
func (db *DB) WALPosition(ctx context.Context) (string, error) {
	var lsn string
	if err := db.queryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		return "", fmt.Errorf("read the WAL position: %w", err)
	}
	return lsn, nil
}

// StandbyFlush is what the server says about its standbys, compared with one
// WAL position.
type StandbyFlush struct {
	Standbys  int // physical standbys streaming from this server now
	Confirmed int // of them, those that have flushed at or past the position
	// Hidden: standbys whose positions this role may not read
	// (pg_stat_replication shows them only to pg_read_all_stats, e.g. via
	// GRANT pg_monitor).
	Hidden int
	// RowInFlight: the transfer's row is on this server and still
	// in_flight. False after a failover to a server that never got it.
	RowInFlight bool
}

// StandbysFlushedPast reads pg_stat_replication and transfer id's row in one
// statement, so both describe the same server even if the pool has meanwhile
// reconnected elsewhere (a multi-host DATABASE_URL after a failover).
// Logical replication walsenders (a slot of type logical) are not standbys:
// they could never be promoted, so they are left out.
func (db *DB) StandbysFlushedPast(ctx context.Context, lsn string, id int64) (StandbyFlush, error) {
	var f StandbyFlush
	err := db.queryRow(ctx, `
		SELECT count(*)::int,
		       (count(*) FILTER (WHERE r.flush_lsn >= $1::pg_lsn))::int,
		       (count(*) FILTER (WHERE r.flush_lsn IS NULL))::int,
		       EXISTS (SELECT 1 FROM syncer.mgid_transfers WHERE id = $2 AND status = 'in_flight')
		FROM pg_stat_replication r
		WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical')`,
		lsn, id).Scan(&f.Standbys, &f.Confirmed, &f.Hidden, &f.RowInFlight)
	if err != nil {
		return f, fmt.Errorf("read standby positions: %w", err)
	}
	return f, nil
}

// NotReplicatedSummary is what the journal says about transfers not sent for
// want of a standby.
type NotReplicatedSummary struct {
	Total    int64      // ever
	Since    int64      // created at or after the summary's since
	Latest   *time.Time // the newest one; nil if none
	LastSent *time.Time // the newest live transfer the guard let through
}

// Failing reports whether the newest transfer was refused for want of a
// standby: nothing has been sent since, so replication is still the problem.
func (s NotReplicatedSummary) Failing() bool {
	return s.Latest != nil && (s.LastSent == nil || s.Latest.After(*s.LastSent))
}

// NotReplicatedTransfers summarises the transfers settled not_applied
// because no standby confirmed their journal row.
func (db *DB) NotReplicatedTransfers(ctx context.Context, since time.Time) (NotReplicatedSummary, error) {
	var s NotReplicatedSummary
	err := db.queryRow(ctx, `
		SELECT count(*) FILTER (WHERE refused),
		       count(*) FILTER (WHERE refused AND created_at >= $2),
		       max(created_at) FILTER (WHERE refused),
		       max(created_at) FILTER (WHERE NOT refused)
		FROM (SELECT created_at, status = 'not_applied' AND starts_with(coalesce(error, ''), $1) AS refused
		      FROM syncer.mgid_transfers WHERE NOT dry_run) t`,
		NotReplicatedError, since).Scan(&s.Total, &s.Since, &s.Latest, &s.LastSent)
	if err != nil {
		return s, fmt.Errorf("count transfers not sent for want of a standby: %w", err)
	}
	return s, nil
}
