package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrFenced: the run lost its job lock and another run of the job has
// started (and marked this one abandoned), so this run must not commit.
var ErrFenced = errors.New("the run lost its job lock and another run of the job has started; nothing of this transaction was committed")

type fenceKey struct{}

// WithFence marks ctx as the context of run runID, which holds its job's
// exclusive lock. Every WithTx under ctx then commits only while the run is
// still the job's live run: see checkFence.
func WithFence(ctx context.Context, runID int64) context.Context {
	return context.WithValue(ctx, fenceKey{}, runID)
}

// checkFence, inside tx, verifies that ctx's run (WithFence) is still
// running and keeps that true until tx ends. A run's lock can be lost while
// the run goes on (its session was terminated or cut); the next run of the
// job then takes the lock and, before it starts, marks every running run of
// the job abandoned (AbandonRunning). The row lock taken here makes that
// marking wait for tx to end, and a run already marked fails here: so a run
// that lost its lock never commits after another run of its job started.
// Without a fence in ctx it does nothing.
func checkFence(ctx context.Context, tx pgx.Tx) error {
	id, ok := ctx.Value(fenceKey{}).(int64)
	if !ok {
		return nil
	}
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM syncer.runs WHERE id = $1 FOR SHARE`, id).Scan(&status)
	if err != nil {
		return &DatabaseError{Op: "commit fence", Err: fmt.Errorf("check run %d still holds its job: %w", id, err)}
	}
	if status != "running" {
		return &DatabaseError{Op: "commit fence", Err: fmt.Errorf("run %d is %s: %w", id, status, ErrFenced)}
	}
	return nil
}
