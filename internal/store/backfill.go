package store

import (
	"context"
	"fmt"
	"time"
)

// DoneDays returns the days of job between from and to (inclusive) that a
// backfill already finished.
func (db *DB) DoneDays(ctx context.Context, job string, from, to time.Time) (map[string]bool, error) {
	rows, err := db.query(ctx, `
		SELECT day::text FROM syncer.backfill_days WHERE job = $1 AND day BETWEEN $2 AND $3`,
		job, pgDate(from), pgDate(to))
	if err != nil {
		return nil, fmt.Errorf("backfill checkpoints: %w", err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		done[d] = true
	}
	return done, rows.Err()
}

// ClaimDay takes a transaction-scoped lock on (job, day) so two backfills
// never work the same day, and reports whether the day is still to do. It
// returns false when another backfill holds the day or it is already done.
func (db *Tx) ClaimDay(ctx context.Context, job string, day time.Time) (bool, error) {
	if locked, err := db.LockDay(ctx, job, day); err != nil || !locked {
		return false, err
	}
	// A separate statement, so its snapshot sees a checkpoint committed by
	// whoever held the lock before us.
	var done bool
	if err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM syncer.backfill_days WHERE job = $1 AND day = $2)`,
		job, pgDate(day)).Scan(&done); err != nil {
		return false, fmt.Errorf("claim backfill day %s: %w", pgDate(day), err)
	}
	return !done, nil
}

// LockDay is ClaimDay without the checkpoint check, for a day to be done
// again: false only when another backfill holds the day.
// A transaction lock outside a transaction would end at once: a Tx method.
func (db *Tx) LockDay(ctx context.Context, job string, day time.Time) (bool, error) {
	var locked bool
	if err := db.queryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`,
		LockKey("backfill:"+job+":"+pgDate(day))).Scan(&locked); err != nil {
		return false, fmt.Errorf("claim backfill day %s: %w", pgDate(day), err)
	}
	return locked, nil
}

// MarkDayDone checkpoints a finished day in the same transaction as its data,
// so a killed backfill either has both or neither. Its finished_at is the
// clock's time: now() would be when the day's transaction began.
func (db *DB) MarkDayDone(ctx context.Context, job string, day time.Time, runID, rows int64) error {
	_, err := db.exec(ctx, `
		INSERT INTO syncer.backfill_days (job, day, run_id, rows_written, finished_at)
		VALUES ($1, $2, $3, $4, clock_timestamp())
		ON CONFLICT (job, day) DO UPDATE
		SET run_id = excluded.run_id, rows_written = excluded.rows_written, finished_at = excluded.finished_at`,
		job, pgDate(day), runID, rows)
	if err != nil {
		return fmt.Errorf("checkpoint backfill day %s: %w", pgDate(day), err)
	}
	return nil
}
