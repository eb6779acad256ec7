package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"syncer/internal/store"
)

// ErrNotReplicated: too few standbys confirmed a transfer's journal row
// before its deadline, so the transfer was not sent (and is settled
// not_applied). It comes wrapped in a *store.DatabaseError: the run fails
// with class database, since replication is what an operator must fix.
var ErrNotReplicated = errors.New("standbys did not confirm the journal row in time")

// ReplicaJournal is what the guard reads: the primary's WAL position after
// the journal row's commit, and how far its standbys have flushed.
type ReplicaJournal interface {
	WALPosition(ctx context.Context) (string, error)
	StandbysFlushedPast(ctx context.Context, lsn string, id int64) (store.StandbyFlush, error)
}

// ReplicaGuard holds a transfer back until Min standbys have flushed its
// in_flight journal row (SYNCER_TRANSFER_MIN_REPLICAS), so that a failover
// right after the request leaves cannot lose the only record that money
// moved: the promoted standby has the row, and reconcile settles it there.
//
// Why polling pg_stat_replication and not synchronous replication
// (synchronous_standby_names with synchronous_commit = remote_write or on):
// a synchronous commit waits with no deadline of ours, and a commit whose
// wait is cancelled is still committed locally, which is exactly the row we
// cannot tell was replicated. Polling keeps the decision and its deadline
// here: we compare each standby's flush_lsn (on its disk, so it survives the
// standby's crash and is replayed before a promotion) with the primary's
// WAL position read right after the commit. It needs no server
// configuration, only a role that may read the positions (pg_monitor).
type ReplicaGuard struct {
	Min     int           // standbys that must confirm; 0: no wait
	Timeout time.Duration // longest wait; the caller's deadline cuts it shorter
}

// replicaPollMax bounds the pause between two reads of pg_stat_replication;
// the first reads come quicker, since a streaming standby confirms in ms.
const replicaPollMax = 100 * time.Millisecond

// confirm waits until g.Min standbys have flushed transfer id's journal row.
// nil means the transfer may be sent. Otherwise the reason, for the journal
// and the log: ErrNotReplicated (wrapped with what was seen), or the
// caller's context error if it ended first.
func (g ReplicaGuard) confirm(ctx context.Context, db ReplicaJournal, id int64) error {
	if g.Min <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	start := time.Now()
	lsn, err := db.WALPosition(wctx)
	if err != nil {
		return g.failed(ctx, start, "", store.StandbyFlush{}, err)
	}
	var seen store.StandbyFlush
	var lastErr error
	for pause := time.Millisecond; ; pause = min(pause*3/2, replicaPollMax) {
		f, err := db.StandbysFlushedPast(wctx, lsn, id)
		switch {
		case err != nil:
			lastErr = err
		case !f.RowInFlight:
			// The server answering now does not hold the row in flight:
			// the pool followed a failover to a server that never got it.
			return fmt.Errorf("%w: the database now answering has no in-flight journal row %d (a failover lost it)", ErrNotReplicated, id)
		case f.Confirmed >= g.Min:
			return nil
		default:
			seen, lastErr = f, nil
		}
		select {
		case <-wctx.Done():
			return g.failed(ctx, start, lsn, seen, lastErr)
		case <-time.After(pause):
		}
	}
}

// failed says why the wait ended without enough standbys.
func (g ReplicaGuard) failed(ctx context.Context, start time.Time, lsn string, f store.StandbyFlush, lastErr error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled while waiting for standbys: %w", ctx.Err())
	}
	waited := time.Since(start).Round(time.Millisecond)
	detail := fmt.Sprintf("%d of %d standbys had flushed WAL %s after %s (%d streaming)",
		f.Confirmed, g.Min, lsn, waited, f.Standbys)
	if f.Hidden > 0 {
		detail += fmt.Sprintf("; %d standby positions are hidden from this role (GRANT pg_monitor to it)", f.Hidden)
	}
	if lastErr != nil {
		return fmt.Errorf("%w: %s; last read: %w", ErrNotReplicated, detail, lastErr)
	}
	return fmt.Errorf("%w: %s", ErrNotReplicated, detail)
}
